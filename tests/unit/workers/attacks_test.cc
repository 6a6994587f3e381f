// The training attacks, the Uchida scheme and the attack spec, on tiny synthetic models (seconds each).
#include <gtest/gtest.h>

#include "common/config.h"
#include "common/errors.h"
#include "tests/support/files.h"
#include "workers/attacks/attack_runner.h"
#include "workers/attacks/attack_spec.h"
#include "workers/attacks/basic_attacks.h"
#include "workers/attacks/fine_tune.h"
#include "workers/data/loaders.h"
#include "workers/evaluation/checkpoint_io.h"
#include "workers/registry.h"
#include "workers/schemes/uchida.h"
#include "workers/schemes/verdict.h"
#include "workers/train_job.h"
#include "workers/verify_job.h"

namespace signsweep::workers {
namespace {

const char* kDataAndModel =
    "dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 4, train_size: 800, test_size: 200}\n"
    "model: {name: small-cnn, width: 4}\n"
    "trainer: {epochs: 4, batch_size: 40, lr: 0.01, seed: 1, threads: 1}\n";

std::string write_config(const testing::TempDir& dir, const std::string& name, const std::string& watermark) {
  const std::string path = dir.file(name + ".yaml");
  testing::write_text(path, std::string(kDataAndModel) + watermark);
  return path;
}

// One watermarked checkpoint per scheme, trained once for the whole suite.
class AttackSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    register_builtins();
    dir_ = std::make_unique<testing::TempDir>();
    gradsigns_ = dir_->file("gradsigns.h5");
    uchida_ = dir_->file("uchida.h5");
    train_trial(load_trial_config(write_config(*dir_, "gs", "watermark: {bits: 8, carriers: 16, lambda: 1.0, seed: 3, "
                                                            "target_per_batch: 8, verify: {images: 20, repeats: 2, h: [0.01]}}\n")),
                gradsigns_);
    train_trial(load_trial_config(write_config(*dir_, "uc", "watermark: {scheme: uchida, bits: 16, lambda: 0.1, seed: 3}\n")),
                uchida_);
  }
  static void TearDownTestSuite() { dir_.reset(); }

  static AttackSpec spec(const std::string& name, const std::vector<std::string>& settings) {
    return attack_spec_from_cli(name, "", settings);
  }

  static std::unique_ptr<testing::TempDir> dir_;
  static std::string gradsigns_;
  static std::string uchida_;
};
std::unique_ptr<testing::TempDir> AttackSuite::dir_;
std::string AttackSuite::gradsigns_;
std::string AttackSuite::uchida_;

std::map<std::string, torch::Tensor> state_of(ClassifierImpl& model) {
  std::map<std::string, torch::Tensor> s;
  for (const auto& p : model.named_parameters()) s[p.key()] = p.value().detach().clone();
  for (const auto& b : model.named_buffers()) s[b.key()] = b.value().detach().clone();
  return s;
}

bool is_head(const std::string& name) { return name.rfind("fc.", 0) == 0; }

// BERs come from projections a float rounding can flip near zero: one wrong bit is within every bound below
// (a scheme that failed to embed reads about half of them wrong).
constexpr double kOneOf8 = 1.0 / 8.0;
constexpr double kOneOf16 = 1.0 / 16.0;

TEST_F(AttackSuite, both_schemes_embed_their_signature) {
  EXPECT_LE(verify_checkpoint(gradsigns_, {}).ber_white_box, kOneOf8);
  const VerificationReport u = verify_checkpoint(uchida_, {});
  EXPECT_EQ(u.scheme, "uchida");
  EXPECT_LE(u.ber_white_box, kOneOf16);
}

TEST_F(AttackSuite, global_pruning_zeros_exactly_round_rate_n_kernel_weights_and_the_mask_holds_them_while_fine_tuning) {
  LoadedModel m = load_model_checkpoint(gradsigns_);
  const auto before = state_of(*m.model);
  const PruneResult r = prune_by_magnitude_(*m.model, 0.3, /*layerwise=*/false);
  int64_t n = 0;
  const auto zeros = [&] {
    int64_t z = 0;
    for (const auto& p : m.model->parameters())
      if (p.dim() >= 2) z += p.eq(0).sum().item<int64_t>();
    return z;
  };
  for (const auto& p : m.model->parameters())
    if (p.dim() >= 2) n += p.numel();
  EXPECT_EQ(r.kernel_weights, n);
  EXPECT_EQ(r.pruned, std::llround(0.3 * static_cast<double>(n)));
  EXPECT_EQ(zeros(), r.pruned);
  for (const auto& p : m.model->named_parameters())  // biases and BatchNorm untouched
    if (p.value().dim() < 2) {
      EXPECT_TRUE(torch::equal(p.value(), before.at(p.key()))) << p.key();
    }

  const Dataset ds = prepare_dataset(load_raw_dataset(m.config.dataset), m.config.dataset);
  FineTuneOptions o;
  o.spec.epochs = 2;
  o.spec.batch_size = 32;
  o.spec.patience = 0;
  o.masks = r.masks;
  fine_tune(*m.model, ds.train, ds.test, o);
  EXPECT_EQ(zeros(), r.pruned);
  bool kernels_moved = false;
  for (const auto& p : m.model->named_parameters())
    if (p.value().dim() >= 2 && !torch::equal(p.value(), before.at(p.key()))) kernels_moved = true;
  EXPECT_TRUE(kernels_moved);
}

TEST_F(AttackSuite, layerwise_pruning_zeros_round_rate_n_in_every_kernel) {
  LoadedModel m = load_model_checkpoint(gradsigns_);
  prune_by_magnitude_(*m.model, 0.5, /*layerwise=*/true);
  for (const auto& p : m.model->named_parameters())
    if (p.value().dim() >= 2) {
      EXPECT_EQ(p.value().eq(0).sum().item<int64_t>(), std::llround(0.5 * static_cast<double>(p.value().numel()))) << p.key();
    }
}

TEST_F(AttackSuite, ftll_changes_only_the_last_layer) {
  const std::string out = dir_->file("ftll.h5");
  run_attack(gradsigns_, spec("ftll", {"epochs=2", "images_per_class=40", "patience=0", "lr=0.01"}), {out, ""});
  const auto before = state_of(*load_model_checkpoint(gradsigns_).model);
  const auto after = state_of(*load_model_checkpoint(out).model);
  for (const auto& [name, t] : before) {
    if (is_head(name)) EXPECT_FALSE(torch::equal(t, after.at(name))) << name;
    else EXPECT_TRUE(torch::equal(t, after.at(name))) << name;
  }
}

TEST_F(AttackSuite, rtll_reinitialises_the_head_and_keeps_the_rest_rtal_trains_everything) {
  // lr 1e-9: the head after the attack is its re-initialisation, not a trained copy of the original.
  const std::string rtll = dir_->file("rtll.h5"), rtal = dir_->file("rtal.h5");
  const AttackReport r = run_attack(gradsigns_, spec("rtll", {"epochs=1", "images_per_class=40", "lr=1e-9"}), {rtll, ""});
  run_attack(gradsigns_, spec("rtal", {"epochs=1", "images_per_class=40"}), {rtal, ""});
  const auto before = state_of(*load_model_checkpoint(gradsigns_).model);
  const auto after_ll = state_of(*load_model_checkpoint(rtll).model);
  const auto after_al = state_of(*load_model_checkpoint(rtal).model);
  for (const auto& [name, t] : before) {
    if (is_head(name)) {
      EXPECT_GT((t - after_ll.at(name)).abs().max().item<double>(), 1e-3) << name;
    } else {
      EXPECT_TRUE(torch::equal(t, after_ll.at(name))) << name;
    }
    if (name.find("weight") != std::string::npos) {
      EXPECT_FALSE(torch::equal(t, after_al.at(name))) << name;
    }
  }
  EXPECT_TRUE(r.figures.count("accuracy_after_reset"));
}

TEST_F(AttackSuite, overwriting_embeds_the_attackers_signature_with_ber_0) {
  const AttackReport r = run_attack(
      gradsigns_,
      // The attacker's secrets pinned (unpinned they come from the OS): this tiny model's capacity decides the BER.
      spec("overwrite", {"epochs=12", "images_per_class=100", "patience=0", "lambda=1.0", "lr=0.01", "watermark_seed=1000003"}),
      {});
  EXPECT_EQ(r.figures.at("attacker_bits"), 8.0);
  EXPECT_LE(r.figures.at("attacker_ber_white_box"), kOneOf8);
  EXPECT_LE(r.figures.at("attacker_mean_repeat_ber"), 0.25);  // the reference's BER of the attacker's own bits
  EXPECT_GE(r.after.ber_white_box, 0.0);  // the owner's BER is reported next to it
  EXPECT_TRUE(r.after.watermarked);
}

TEST_F(AttackSuite, distillation_reports_the_surrogates_accuracy_and_ber) {
  const AttackReport r =
      run_attack(gradsigns_, spec("distill", {"epochs=3", "images_per_class=60", "surrogate={name: small-cnn, width: 2}"}), {});
  EXPECT_GT(r.accuracy_after, 0.25);  // better than chance on 4 classes: it learned from the soft labels
  EXPECT_GT(r.figures.at("surrogate_parameters"), 0.0);
  EXPECT_LT(r.figures.at("surrogate_parameters"), static_cast<double>(count_parameters(*load_model_checkpoint(gradsigns_).model)));
  EXPECT_GE(r.after.ber_white_box, 0.0);
}

TEST_F(AttackSuite, uchida_survives_8_bit_quantization_and_is_attacked_by_the_same_suite) {
  const AttackReport q = run_attack(uchida_, spec("quantize", {"bits=8"}), {});
  EXPECT_LE(q.after.ber_white_box, kOneOf16);
  EXPECT_EQ(q.after.scheme, "uchida");
  const AttackReport p = run_attack(uchida_, spec("prune", {"rate=0.2", "epochs=1", "images_per_class=40"}), {});
  EXPECT_EQ(p.figures.at("zero_kernel_weights_after"), p.figures.at("pruned_weights"));
}

TEST_F(AttackSuite, uchida_key_of_another_layer_size_is_refused) {
  LoadedModel m = load_model_checkpoint(uchida_);
  storage::WatermarkRecord r = m.scheme->record();
  r.key.pop_back();
  EXPECT_THROW(Uchida(UchidaSecrets{r.signature, r.key, r.layer, r.seed}, *m.model, 0.1), DataError);
}

TEST_F(AttackSuite, attacker_budget_beyond_the_data_is_a_config_error_naming_the_key) {
  const std::string msg = testing::message_of<ConfigError>(
      [&] { run_attack(gradsigns_, spec("ftal", {"images_per_class=100000"}), {}); });
  EXPECT_NE(msg.find("images_per_class = 100000"), std::string::npos) << msg;
}

TEST(EmpiricalThresholdTest, is_the_lowest_null_ber_with_mean_and_std) {
  const EmpiricalThreshold t = empirical_threshold({0.5, 0.375, 0.625});
  EXPECT_EQ(t.models, 3);
  EXPECT_DOUBLE_EQ(t.min_ber, 0.375);
  EXPECT_DOUBLE_EQ(t.mean_ber, 0.5);
  EXPECT_NEAR(t.std_ber, std::sqrt(2.0 * 0.125 * 0.125 / 3.0), 1e-12);
  EXPECT_THROW(empirical_threshold({}), std::invalid_argument);
}

TEST(AttackSpecTest, rejects_bad_values_unknown_attacks_and_keys_of_other_attacks) {
  EXPECT_NE(testing::message_of<ConfigError>([] { attack_spec_from_cli("prune", "", {"rate=1.0"}); }).find("rate"),
            std::string::npos);
  EXPECT_THROW(attack_spec_from_cli("prune", "", {"rate=-0.1"}), ConfigError);
  EXPECT_THROW(attack_spec_from_cli("prune", "", {}), ConfigError);  // rate is required
  EXPECT_NE(testing::message_of<ConfigError>([] { attack_spec_from_cli("quantize", "", {"bits=1"}); }).find("bits"),
            std::string::npos);
  EXPECT_NE(testing::message_of<ConfigError>([] { attack_spec_from_cli("melt", "", {}); }).find("melt"), std::string::npos);
  // `rate` belongs to prune, not to quantize: reported as unknown
  EXPECT_NE(testing::message_of<ConfigError>([] { attack_spec_from_cli("quantize", "", {"rate=0.5"}); }).find("rate"),
            std::string::npos);
  EXPECT_THROW(attack_spec_from_cli("quantize", "", {"bits"}), ConfigError);  // not key=value
  EXPECT_EQ(attack_spec_from_cli("quantize", "", {}).quantize_variant, QuantizeVariant::kReference);
  EXPECT_EQ(attack_spec_from_cli("quantize", "", {"variant=weights"}).quantize_variant, QuantizeVariant::kWeights);
  EXPECT_NE(testing::message_of<ConfigError>([] { attack_spec_from_cli("quantize", "", {"variant=bn"}); }).find("variant"),
            std::string::npos);
  const AttackSpec s = attack_spec_from_cli("noise", "", {"sigma=0.02", "h=[0.1, 0.01]", "trials=3"});
  EXPECT_EQ(s.kind, AttackKind::kNoise);
  EXPECT_DOUBLE_EQ(s.sigma, 0.02);
  EXPECT_EQ(s.h, (std::vector<double>{0.1, 0.01}));
  EXPECT_EQ(s.trials, 3);
  EXPECT_TRUE(s.uses_api());
}

TEST(AttackSpecTest, yaml_file_and_set_overrides_combine) {
  testing::TempDir dir;
  testing::write_text(dir.file("a.yaml"), "attack: prune\nrate: 0.3\nepochs: 4\n");
  const AttackSpec file_only = attack_spec_from_cli("", dir.file("a.yaml"), {});
  EXPECT_DOUBLE_EQ(file_only.rate, 0.3);
  EXPECT_EQ(file_only.fine_tune.epochs, 4);
  const AttackSpec overridden = attack_spec_from_cli("", dir.file("a.yaml"), {"rate=0.6"});
  EXPECT_DOUBLE_EQ(overridden.rate, 0.6);
  EXPECT_EQ(overridden.fine_tune.epochs, 4);
  testing::write_text(dir.file("b.yaml"), "attack: prune\nrate: 2\n");
  EXPECT_NE(testing::message_of<ConfigError>([&] { attack_spec_from_cli("", dir.file("b.yaml"), {}); }).find("b.yaml:2"),
            std::string::npos);
}

}  // namespace
}  // namespace signsweep::workers

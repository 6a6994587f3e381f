// The resolved trial config: defaults filled in, keys sorted, numbers in one form, so that one grid point
// is one trial id; and independent watermark secrets per trial unless a seed pins them.
#include "workers/train/trial_config.h"

#include <gtest/gtest.h>

#include "common/config.h"
#include "common/errors.h"
#include "common/hash.h"
#include "tests/support/files.h"
#include "workers/data/loaders.h"
#include "workers/gradsigns/secrets.h"
#include "workers/trial_checks.h"

namespace signsweep::workers {
namespace {

TrialConfig parse(const std::string& yaml) {
  return parse_trial_config(common::ConfigNode::load_string(yaml, "t.yaml"));
}

std::string trial(const std::string& trainer, const std::string& watermark) {
  return "dataset: {name: synthetic}\nmodel: {name: small-cnn}\ntrainer: " + trainer + "\nwatermark: " + watermark + "\n";
}

TEST(TrialConfigTest, equal_numbers_spelt_differently_resolve_to_one_config) {
  const std::string a = parse(trial("{lr: 0.001}", "{lambda: 0.3}")).yaml;
  EXPECT_EQ(a, parse(trial("{lr: 1e-3}", "{lambda: 0.30}")).yaml);
  EXPECT_EQ(a, parse(trial("{lr: 0.0010, epochs: 1}", "{lambda: 3e-1, bits: 16}")).yaml);  // defaults written out
  EXPECT_NE(a, parse(trial("{lr: 0.001}", "{lambda: 0.31}")).yaml);
  EXPECT_NE(a.find("lambda: 0.3\n"), std::string::npos) << a;
}

TEST(TrialConfigTest, the_resolved_config_fills_every_default_and_parses_back_to_itself) {
  const TrialConfig c = parse("dataset: {name: synthetic}\nmodel: {name: small-cnn}\n");
  for (const char* key : {"batch_size: 100", "lr: 0.001", "normalization: per-pixel-mean", "width: 32", "enabled: false"})
    EXPECT_NE(c.yaml.find(key), std::string::npos) << key << " in\n" << c.yaml;
  EXPECT_EQ(c.yaml.find("watermark"), std::string::npos);  // a plain model has none
  EXPECT_EQ(c.yaml.find("device"), std::string::npos);     // where it trains is not what it is
  const std::string marked = parse(trial("{lr_schedule: reference, select_best: true}", "{bits: 32}")).yaml;
  EXPECT_EQ(parse(marked).yaml, marked);
  EXPECT_NE(marked.find("[80, 0.1]"), std::string::npos) << marked;  // `reference` resolves to its steps
}

// Two YAML trees with the same structure and the same scalars (maps compared key by key, in any order).
bool same_tree(const YAML::Node& a, const YAML::Node& b) {
  if (a.Type() != b.Type()) return false;
  if (a.IsScalar()) return a.Scalar() == b.Scalar();
  if (a.size() != b.size()) return false;
  if (a.IsSequence()) {
    for (size_t i = 0; i < a.size(); ++i)
      if (!same_tree(a[i], b[i])) return false;
    return true;
  }
  for (const auto& kv : a)
    if (!b[kv.first.Scalar()] || !same_tree(kv.second, b[kv.first.Scalar()])) return false;
  return true;
}

// A sweep reads a grid point's axes from the resolved tree instead of loading the resolved YAML again
// (orchestrator/sweep.cc): both must say the same, defaults, canonical numbers and dropped keys included.
TEST(TrialConfigTest, the_resolved_tree_is_the_resolved_yaml_loaded) {
  for (const std::string& yaml :
       {trial("{lr: 1e-3, momentum: 0.5}", "{lambda: 0.30, bits: 16}"), trial("{lr_schedule: reference, select_best: true}", "{}"),
        trial("{optimizer: sgd, reduce_on_plateau: {factor: 0.5}}", "{scheme: none}"),
        std::string("dataset: {name: synthetic}\nmodel: {name: small-cnn}\n")}) {
    SCOPED_TRACE(yaml);
    const common::ConfigNode root = common::ConfigNode::load_string(yaml, "t.yaml");
    const TrialConfig c = parse_trial_config(root);
    const YAML::Node tree = root.resolved_tree();
    ASSERT_TRUE(tree.IsMap());
    EXPECT_TRUE(same_tree(tree, YAML::Load(c.yaml))) << c.yaml;
    EXPECT_FALSE(same_tree(tree, YAML::Load(parse(trial("{lr: 0.002}", "{}")).yaml)));  // the comparison can fail
  }
}

TEST(TrialConfigTest, one_setting_spelt_two_ways_resolves_once) {
  EXPECT_EQ(parse(trial("{select_best: true}", "{}")).yaml, parse(trial("{select_best: {enabled: true}}", "{}")).yaml);
  EXPECT_EQ(parse(trial("{lr_schedule: reference}", "{}")).yaml,
            parse(trial("{lr_schedule: [[80, 0.1], [120, 0.01], [160, 0.001], [180, 0.0005]]}", "{}")).yaml);
  // sgd's momentum does not make two adam trials different; an unused plateau factor neither
  EXPECT_EQ(parse(trial("{momentum: 0.5}", "{}")).yaml, parse(trial("{}", "{}")).yaml);
  EXPECT_EQ(parse(trial("{reduce_on_plateau: {factor: 0.5}}", "{}")).yaml, parse(trial("{}", "{}")).yaml);
  EXPECT_NE(parse(trial("{optimizer: sgd, momentum: 0.5}", "{}")).yaml, parse(trial("{optimizer: sgd}", "{}")).yaml);
}

TEST(TrialConfigTest, watermark_secrets_derive_from_the_stores_secret_the_trials_seed_and_length_unless_pinned) {
  const TrialConfig seed0 = parse(trial("{seed: 0}", "{bits: 32}"));
  const TrialConfig seed1 = parse(trial("{seed: 1}", "{bits: 32}"));
  const TrialConfig short16 = parse(trial("{seed: 0}", "{bits: 16}"));
  // Unpinned: the resolved config (and so the trial id and everything a user publishes) holds no seed.
  EXPECT_FALSE(seed0.watermark.seed_given);
  const std::string watermark_section = seed0.yaml.substr(seed0.yaml.find("\nwatermark:"));
  EXPECT_EQ(watermark_section.find("seed"), std::string::npos) << seed0.yaml;
  const std::string store_a(64, 'a'), store_b(64, 'b');
  const auto derived = [](const std::string& secret, const TrialConfig& c) {
    return derived_watermark_seed(secret, c.trainer.seed, c.watermark);
  };
  EXPECT_NE(derived(store_a, seed0), derived(store_a, seed1));    // seeds: independent watermarks
  EXPECT_NE(derived(store_a, seed0), derived(store_a, short16));  // lengths too
  EXPECT_NE(derived(store_a, seed0), derived(store_b, seed0));    // two stores never share one
  EXPECT_EQ(derived(store_a, seed0), derived(store_a, seed0));    // a resume reproduces it
  EXPECT_EQ(derived(store_a, seed0), derived(store_a, parse(trial("{seed: 0}", "{bits: 32, lambda: 1.0}"))));  // paired
  EXPECT_LT(derived(store_a, seed0), uint64_t{1} << 53);
  const TrialConfig pinned = parse(trial("{seed: 1}", "{bits: 32, seed: 7}"));
  EXPECT_TRUE(pinned.watermark.seed_given);
  EXPECT_EQ(pinned.watermark.seed, 7U);

  const ImageShape shape{1, 16, 16};  // 64 carriers of 256 inputs
  const auto secrets = [&](uint64_t seed, int64_t bits) {
    return generate_secrets(bits, 64, 0, shape, 4, FlattenOrder::kNhwc, seed);
  };
  EXPECT_NE(secrets(derived(store_a, seed0), 32).signature, secrets(derived(store_a, seed1), 32).signature);
  EXPECT_NE(secrets(derived(store_a, seed0), 32).carriers, secrets(derived(store_b, seed0), 32).carriers);
  const std::vector<int64_t> long_sig = secrets(derived(store_a, seed0), 32).signature;
  EXPECT_NE(secrets(derived(store_a, short16), 16).signature,
            std::vector<int64_t>(long_sig.begin(), long_sig.begin() + 16));  // not a prefix
}

// The message of the data-dependent checks of a config (on the synthetic data set it names), "" when it passes.
std::string data_check_message(const std::string& yaml, const std::string& file) {
  const auto root = common::ConfigNode::load_string(yaml, file);
  const TrialConfig c = parse_trial_config(root);
  return testing::message_of<ConfigError>([&] { check_trial_against_data(root, c, probe_synthetic(c.dataset.synthetic)); });
}

TEST(TrialConfigTest, data_dependent_ranges_name_the_key_and_line) {
  const std::string carriers = data_check_message(
      "dataset: {name: synthetic, classes: 4}\nmodel: {name: small-cnn}\ntrainer: {batch_size: 20}\n"
      "watermark: {bits: 8, carriers: 65, target_class: 2}\n",
      "c.yaml");
  EXPECT_NE(carriers.find("c.yaml:4:32: watermark.carriers = '65'"), std::string::npos) << carriers;
  EXPECT_NE(carriers.find("input size 64"), std::string::npos) << carriers;
  const std::string target = data_check_message(
      "dataset: {name: synthetic, classes: 4}\nmodel: {name: small-cnn}\nwatermark: {bits: 8, carriers: 6, target_class: 4}\n",
      "k.yaml");
  EXPECT_NE(target.find("k.yaml:3:49: watermark.target_class = '4'"), std::string::npos) << target;
  EXPECT_NE(target.find("below the class count 4"), std::string::npos) << target;
  const std::string batch = data_check_message(
      "dataset: {name: synthetic, classes: 4}\nmodel: {name: small-cnn}\ntrainer: {batch_size: 10}\n"
      "watermark: {bits: 8, carriers: 6}\n",
      "b.yaml");
  EXPECT_NE(batch.find("watermark.target_per_batch: 10 target images per batch: must be below trainer.batch_size = 10"),
            std::string::npos) << batch;
  const std::string selection = data_check_message(
      "dataset: {name: synthetic, classes: 4, train_size: 400}\nmodel: {name: small-cnn}\ntrainer: {select_best: true}\n",
      "s.yaml");  // the default split (50 + 400 images) needs more than 100 per class
  EXPECT_NE(selection.find("s.yaml:3:24: trainer.select_best = 'true': a validation split of 50 + 400"), std::string::npos)
      << selection;
  EXPECT_EQ(data_check_message("dataset: {name: synthetic, classes: 4}\nmodel: {name: small-cnn}\n"
                               "watermark: {bits: 8, carriers: 64, target_class: 3}\n",
                               "ok.yaml"),
            "");
}

TEST(TrialConfigTest, a_signature_too_short_for_its_significance_is_warned_about) {
  EXPECT_TRUE(unreachable_verdict_warning(parse(trial("{}", "{bits: 16}")).watermark));
  EXPECT_FALSE(unreachable_verdict_warning(parse(trial("{}", "{bits: 20}")).watermark));  // 2^-20 < 1e-6
  EXPECT_FALSE(unreachable_verdict_warning(parse(trial("{}", "{bits: 16, verify: {significance: 1.0e-4}}")).watermark));
}

}  // namespace
}  // namespace signsweep::workers

// The words every layer shares (core/vocabulary.h): one spelling per kind, read back to the same kind, and the
// typed trial results with their one conversion to and from the stored scalars (core/trial_results.h).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "core/trial_results.h"
#include "core/vocabulary.h"

namespace signsweep::core {
namespace {

TEST(VocabularyTest, every_kind_has_one_spelling_that_reads_back_as_itself) {
  std::set<std::string> names;
  std::vector<TrialKind> kinds{TrialKind{Stage::kEmbed}, TrialKind{Stage::kNullModel}, TrialKind{Stage::kCheckpoint},
                               TrialKind{Stage::kNullCheck}};
  for (const std::string& attack : attack_names()) kinds.push_back(TrialKind::attack_of(*attack_kind_from_string(attack)));
  for (const TrialKind& k : kinds) {
    EXPECT_TRUE(names.insert(k.name()).second) << "two kinds spelt " << k.name();
    const std::optional<TrialKind> back = TrialKind::from_string(k.name());
    ASSERT_TRUE(back.has_value()) << k.name();
    EXPECT_EQ(*back, k) << k.name();
  }
  EXPECT_EQ(names.size(), 4 + attack_names().size());
  EXPECT_EQ(TrialKind::from_string("prune")->attack, AttackKind::kPrune);
  EXPECT_FALSE(TrialKind::from_string("sleep").has_value());  // the benchmarks' stand-in is no trial kind
  EXPECT_FALSE(TrialKind::from_string("Embed").has_value());  // spellings are exact
  for (const std::string& scheme : scheme_names()) EXPECT_EQ(to_string(*scheme_kind_from_string(scheme)), scheme);
  EXPECT_FALSE(scheme_kind_from_string(kPlainSchemeName).has_value());  // a plain model carries no scheme
}

TEST(VocabularyTest, stages_say_which_trials_train_and_which_leave_a_model) {
  EXPECT_TRUE(TrialKind{Stage::kEmbed}.trains_model());
  EXPECT_TRUE(TrialKind{Stage::kNullModel}.trains_model());
  EXPECT_FALSE(TrialKind{Stage::kCheckpoint}.trains_model());
  EXPECT_TRUE(TrialKind{Stage::kCheckpoint}.writes_model());
  EXPECT_FALSE(TrialKind::attack_of(AttackKind::kOverwrite).writes_model());
  EXPECT_FALSE(TrialKind{Stage::kNullCheck}.writes_model());
  EXPECT_NE(TrialKind::attack_of(AttackKind::kFtll), TrialKind::attack_of(AttackKind::kFtal));
}

TEST(TrialResultsTest, round_trip_through_the_stored_scalars) {
  TrialResults r;
  r.test_accuracy = 0.9;
  r.accuracy_before = 0.91;
  r.seconds = 3.0;
  WatermarkReading before;
  before.bits = 32;
  before.ber_white_box = 0.0;
  before.mean_repeat_ber = 0.03125;
  before.p_value = 2.3e-10;
  before.owned = true;
  before.ber_remote = {{0.01, 0.0}};
  r.watermark_before = before;
  WatermarkReading after;  // an API attack: remote readings only
  after.bits = 32;
  after.ber_remote = {{0.01, 0.25}, {1e-4, 0.5}};
  r.watermark = after;
  r.figures = {{"trials", 20.0}};
  const std::map<std::string, double> scalars = r.to_scalars();
  EXPECT_EQ(scalars.count("ber_white_box"), 0U);
  EXPECT_EQ(scalars.at("ber_remote_h0.0001"), 0.5);
  EXPECT_EQ(scalars.at("ber_remote_h0.01_before"), 0.0);
  const TrialResults back = TrialResults::from_scalars(scalars);
  EXPECT_EQ(back.to_scalars(), scalars);
  EXPECT_FALSE(back.watermark->ber_white_box);
  EXPECT_EQ(back.watermark->ber_remote.at(1e-4), 0.5);
  EXPECT_EQ(*back.watermark_before->owned, true);
  EXPECT_EQ(scalars.at("mean_repeat_ber_before"), 0.03125);  // the reference's BER is kept beside the projection's
  EXPECT_FALSE(back.watermark->mean_repeat_ber);
  EXPECT_EQ(back.figures, r.figures);
}

TEST(TrialResultsTest, a_count_no_writer_stores_reads_as_zero_not_as_an_undefined_conversion) {
  const TrialResults r = TrialResults::from_scalars(
      {{"bits", std::nan("")}, {"null_models", 1e300}, {"bits_before", -4.0}, {"ber_white_box_before", 0.5}});
  EXPECT_EQ(r.watermark->bits, 0);
  EXPECT_EQ(r.watermark_before->bits, 0);
  EXPECT_EQ(r.null_check->models, 0);
  EXPECT_FALSE(r.seconds.has_value());  // absent stays absent: a pending trial has no wall time
  EXPECT_EQ(TrialResults{}.to_scalars().size(), 0U);
}

}  // namespace
}  // namespace signsweep::core

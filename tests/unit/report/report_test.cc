// The report's statistics and tables on a store written through the real store: intervals that stay in
// [0, 1] (Clopper-Pearson on pooled bits and verdicts, percentile bootstrap otherwise, none for one run),
// p-values by their median, explicit pooling, remote BER rows for attacks on the API and the paired accuracy cost.
#include "report/report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <sstream>

#include "common/errors.h"
#include "storage/h5.h"
#include "report/statistics.h"
#include "core/trial_results.h"
#include "tests/support/files.h"

namespace signsweep::report {
namespace {

using storage::PlannedTrial;
using storage::ResultsStore;
using storage::TrialRecord;
using storage::TrialState;
using storage::File;
using storage::OpenMode;

using core::TrialResults;
using core::WatermarkReading;

TEST(StatisticsTest, clopper_pearson_matches_the_exact_binomial_bounds) {
  const Interval none = clopper_pearson(0, 3);  // 0 of 3: the upper bound 1 - 0.025^(1/3)
  EXPECT_EQ(none.lo, 0.0);
  EXPECT_NEAR(none.hi, 1.0 - std::pow(0.025, 1.0 / 3.0), 1e-9);
  const Interval all = clopper_pearson(3, 3);
  EXPECT_NEAR(all.lo, std::pow(0.025, 1.0 / 3.0), 1e-9);
  EXPECT_EQ(all.hi, 1.0);
  const Interval half = clopper_pearson(5, 10);  // tables: [0.1871, 0.8129]
  EXPECT_NEAR(half.lo, 0.18709, 1e-4);
  EXPECT_NEAR(half.hi, 0.81291, 1e-4);
  EXPECT_THROW(clopper_pearson(4, 3), Error);
  // A mean of counts (0.1 wrong bits of 64, averaged over repeats): bounds between those of 0 and 1 of 64.
  const Interval tenth = clopper_pearson(0.1, 64), zero = clopper_pearson(0, 64), one = clopper_pearson(1, 64);
  EXPECT_GT(tenth.lo, zero.lo);
  EXPECT_LT(tenth.lo, one.lo);
  EXPECT_GT(tenth.hi, zero.hi);
  EXPECT_LT(tenth.hi, one.hi);
}

TEST(StatisticsTest, the_bootstrap_interval_stays_within_the_runs_and_holds_the_mean) {
  const Summary s = summarize({0.80, 0.82, 0.84});
  EXPECT_EQ(s.n, 3);
  EXPECT_NEAR(s.mean, 0.82, 1e-12);
  EXPECT_NEAR(s.std, 0.02, 1e-12);  // n-1: sqrt((0.0004 + 0 + 0.0004) / 2)
  ASSERT_TRUE(s.interval);
  // Exact bootstrap of 3 runs: all three resampled from one run has probability 1/27 > 2.5%, so the 95%
  // interval reaches the extreme runs, and never past them (a t interval here would be 0.82 +- 0.05).
  EXPECT_NEAR(s.interval->lo, 0.80, 1e-12);
  EXPECT_NEAR(s.interval->hi, 0.84, 1e-12);
  const Interval wide = bootstrap_mean({0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0});  // drawn, not enumerated (8^8)
  EXPECT_GE(wide.lo, 0.0);
  EXPECT_LE(wide.hi, 1.0);
  EXPECT_LT(wide.lo, 0.125);
  EXPECT_GT(wide.hi, 0.125);
  EXPECT_EQ(bootstrap_mean({0.3, 0.5, 0.7, 0.2, 0.1, 0.9, 0.4, 0.8}).lo,
            bootstrap_mean({0.3, 0.5, 0.7, 0.2, 0.1, 0.9, 0.4, 0.8}).lo);  // drawn with a fixed seed: reproducible
  EXPECT_FALSE(summarize({0.5}).interval);  // one run: no interval
  EXPECT_TRUE(std::isnan(summarize({0.5}).std));
  EXPECT_NEAR(median({1e-20, 1e-3, 0.5}), 1e-3, 1e-15);
  EXPECT_NEAR(median({1e-20, 1e-10, 1e-3, 0.5}), (1e-10 + 1e-3) / 2, 1e-15);
}

// A store at `dir` whose planned trials are all done, each with the results `results_of` gives it.
ResultsStore store_of_done(const testing::TempDir& dir, const std::vector<PlannedTrial>& plan,
                           const std::function<TrialResults(const PlannedTrial&)>& results_of,
                           const std::string& sweep_yaml = "") {
  ResultsStore store = ResultsStore::open_for_sweep(dir.path().string(), {"h", "s.yaml", sweep_yaml}, plan, false);
  for (const PlannedTrial& t : plan) {
    TrialRecord r;
    r.trial = t;
    r.state = TrialState::kDone;
    r.results = results_of(t);
    store.write_trial(r);
  }
  return store;
}

// A white-box reading of `bits` bits with this BER.
WatermarkReading white_box(int64_t bits, double ber) {
  WatermarkReading w;
  w.bits = bits;
  w.ber_white_box = ber;
  w.mean_repeat_ber = ber;
  return w;
}

// A store of 3 seeds x 2 signature lengths, each model attacked by score rounding (remote readings only).
class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<PlannedTrial> plan;
    for (const std::string bits : {"32", "64"})
      for (const std::string seed : {"0", "1", "2"}) {
        const std::string id = "e" + bits + seed;
        plan.push_back({id, core::TrialKind{core::Stage::kEmbed}, "", "", {{"watermark.bits", bits}, {"trainer.seed", seed}}, "", {}});
        plan.push_back({"a" + bits + seed, core::TrialKind::attack_of(core::AttackKind::kScoreRounding), "", id,
                        {{"watermark.bits", bits}, {"trainer.seed", seed}, {"attack", "score-rounding"}, {"attack.decimals", "2"}},
                        "", {id}});
      }
    store_ = std::make_unique<ResultsStore>(ResultsStore::open_for_sweep(dir_.path().string(), {"h", "s.yaml", ""}, plan, false));
    for (const PlannedTrial& t : plan) {
      TrialRecord r;
      r.trial = t;
      r.state = TrialState::kDone;
      const double seed = std::stod(t.axes.at("trainer.seed"));
      TrialResults results;
      WatermarkReading w;
      w.bits = std::stoi(t.axes.at("watermark.bits"));
      if (t.kind == core::TrialKind{core::Stage::kEmbed}) {
        results.test_accuracy = 0.80 + 0.02 * seed;         // 0.80, 0.82, 0.84
        w.ber_white_box = seed == 2 ? 0.25 : 0.0;
        w.p_value = std::pow(10.0, -(10.0 + 5 * seed));      // 1e-10, 1e-15, 1e-20: median 1e-15
        w.owned = seed != 2;
      } else {
        results.accuracy_before = 0.8;
        results.test_accuracy = 0.79;
        w.ber_remote = {{0.01, seed / 8.0}};  // 0, 0.125, 0.25: whole bits of 32 and of 64
      }
      results.watermark = w;
      r.results = results;
      store_->write_trial(r);
    }
  }
  std::string report(const std::string& table, const std::vector<std::string>& over = {"trainer.seed"},
                     const std::string& format = "csv") {
    return report_text(*store_, {table, format, over});
  }
  // The CSV cell of `column` in the row whose first cells are `key` (comma-joined).
  static std::string cell(const std::string& csv, const std::string& key, const std::string& column) {
    std::istringstream in(csv);
    std::string header, line;
    std::getline(in, header);
    std::vector<std::string> names = split(header);
    while (std::getline(in, line))
      if (line.rfind(key + ",", 0) == 0) {
        const std::vector<std::string> cells = split(line);
        for (size_t i = 0; i < names.size(); ++i)
          if (names[i] == column) return cells.at(i);
      }
    return "<none>";
  }
  static std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    for (std::string c; std::getline(in, c, ',');) out.push_back(c);
    if (!line.empty() && line.back() == ',') out.emplace_back();
    return out;
  }
  testing::TempDir dir_;
  std::unique_ptr<ResultsStore> store_;
};

TEST_F(ReportTest, rows_pool_the_seeds_with_bounded_intervals_median_p_and_verification_rate) {
  const std::string csv = report("embed");
  EXPECT_EQ(cell(csv, "32", "n"), "3");
  EXPECT_NEAR(std::stod(cell(csv, "32", "test_accuracy_mean")), 0.82, 1e-9);
  EXPECT_NEAR(std::stod(cell(csv, "32", "test_accuracy_std")), 0.02, 1e-9);
  EXPECT_NEAR(std::stod(cell(csv, "32", "test_accuracy_lo")), 0.80, 1e-9);  // bootstrap over the 3 seeds
  EXPECT_NEAR(std::stod(cell(csv, "32", "test_accuracy_hi")), 0.84, 1e-9);
  // BER: seed 2 read 8 of 32 bits wrong, the others none: 8 wrong of 96 pooled, Clopper-Pearson around it.
  EXPECT_NEAR(std::stod(cell(csv, "32", "ber_white_box_mean")), 8.0 / 96.0, 1e-6);
  const Interval ber = clopper_pearson(8, 96);
  EXPECT_NEAR(std::stod(cell(csv, "32", "ber_white_box_lo")), ber.lo, 1e-6);
  EXPECT_NEAR(std::stod(cell(csv, "32", "ber_white_box_hi")), ber.hi, 1e-6);
  EXPECT_NEAR(std::stod(cell(csv, "32", "p_value_median")), 1e-15, 1e-20);
  EXPECT_NEAR(std::stod(cell(csv, "32", "owned_rate")), 2.0 / 3.0, 1e-5);
  EXPECT_NEAR(std::stod(cell(csv, "32", "owned_lo")), clopper_pearson(2, 3).lo, 1e-6);
  const std::string md = report("embed", {"trainer.seed"}, "md");
  EXPECT_NE(md.find("Rows pool trainer.seed"), std::string::npos) << md;
  EXPECT_NE(md.find("Clopper-Pearson"), std::string::npos) << md;
  EXPECT_NE(md.find("percentile bootstrap"), std::string::npos) << md;
  EXPECT_NE(md.find("| 2/3 ["), std::string::npos) << md;
  EXPECT_EQ(md.find("±"), std::string::npos) << md;
}

TEST_F(ReportTest, a_ber_of_zero_over_three_seeds_has_an_interval_inside_zero_one_not_zero_plus_minus_zero) {
  std::vector<PlannedTrial> plan;
  for (const std::string seed : {"0", "1", "2"})
    plan.push_back({"z" + seed, core::TrialKind{core::Stage::kEmbed}, "", "", {{"trainer.seed", seed}}, "", {}});
  testing::TempDir dir;
  const ResultsStore zero = store_of_done(dir, plan, [](const PlannedTrial&) {
    TrialResults results;
    results.test_accuracy = 0.9;
    results.watermark = white_box(32, 0.0);
    return results;
  });
  // 0 wrong of 3 x 32 bits: Clopper-Pearson's upper bound 1 - 0.025^(1/96), not "0 +- 0".
  const std::string csv = report_text(zero, {"embed", "csv", {"trainer.seed"}});
  EXPECT_EQ(csv.substr(0, csv.find('\n')).substr(0, 2), "n,") << csv;
  EXPECT_EQ(std::stod(cell(csv, "3", "ber_white_box_mean")), 0.0) << csv;
  EXPECT_EQ(std::stod(cell(csv, "3", "ber_white_box_lo")), 0.0);
  const double hi = std::stod(cell(csv, "3", "ber_white_box_hi"));
  EXPECT_NEAR(hi, 1.0 - std::pow(0.025, 1.0 / 96.0), 1e-6);
  EXPECT_GT(hi, 0.0);
  EXPECT_LE(hi, 1.0);
  // The headline (the reference's mean over repeats) likewise: pooled over the 96 bits, not a bootstrap of zeros.
  EXPECT_EQ(std::stod(cell(csv, "3", "mean_repeat_ber_mean")), 0.0) << csv;
  EXPECT_NEAR(std::stod(cell(csv, "3", "mean_repeat_ber_hi")), 1.0 - std::pow(0.025, 1.0 / 96.0), 1e-6) << csv;
  const std::string md = report_text(zero, {"embed", "md", {"trainer.seed"}});
  EXPECT_NE(md.find("| 0 [0, 0.0377]"), std::string::npos) << md;
  EXPECT_EQ(md.find("[0, 0]"), std::string::npos) << md;
}

TEST_F(ReportTest, only_the_axes_named_are_pooled_and_one_run_has_no_interval) {
  const std::string csv = report("embed", {});
  EXPECT_EQ(cell(csv, "0,32", "n"), "1");  // trainer.seed is a column now
  EXPECT_EQ(cell(csv, "0,32", "test_accuracy_std"), "");  // one run has no spread
  EXPECT_EQ(cell(csv, "0,32", "test_accuracy_lo"), "");   // and no interval
  EXPECT_EQ(cell(csv, "0,32", "ber_white_box_lo"), "");
  EXPECT_EQ(cell(csv, "0,32", "owned_lo"), "");
  const std::string md = report("embed", {}, "md");
  EXPECT_NE(md.find("| 0 | 32 | 1 | 0.8 | - | 0 | 1e-10 | 1/1 |"), std::string::npos) << md;  // no reference BER stored
  const std::string both = report("embed", {"trainer.seed", "watermark.bits"});
  EXPECT_EQ(both.substr(0, both.find(',')), "n");
  EXPECT_NE(both.find("\n6,"), std::string::npos) << both;
}

TEST_F(ReportTest, the_accuracy_cost_pairs_each_watermarked_model_with_the_plain_model_of_its_seed) {
  std::vector<PlannedTrial> plan;
  for (const std::string seed : {"0", "1"})
    for (const std::string scheme : {"none", "gradsigns"})
      plan.push_back({scheme + seed, core::TrialKind{core::Stage::kEmbed}, "", "", {{"trainer.seed", seed}, {"watermark", scheme}}, "", {}});
  plan.push_back({"lonely", core::TrialKind{core::Stage::kEmbed}, "", "", {{"trainer.seed", "7"}, {"watermark", "gradsigns"}}, "", {}});
  testing::TempDir dir;
  const ResultsStore store = store_of_done(dir, plan, [](const PlannedTrial& t) {
    TrialResults results;
    const double seed = std::stod(t.axes.at("trainer.seed"));
    const bool marked = t.axes.at("watermark") == "gradsigns";
    // Seeds differ by 10 points; the watermark costs 1 point at seed 0 and 3 at seed 1.
    results.test_accuracy = 0.9 - 0.1 * seed - (marked ? (seed == 0 ? 0.01 : 0.03) : 0.0);
    if (marked) results.watermark = white_box(16, 0.0);
    return results;
  });
  const std::string csv = report_text(store, {"cost", "csv", {"trainer.seed"}});
  EXPECT_EQ(cell(csv, "gradsigns", "n"), "2") << csv;  // the model of seed 7 has no plain twin
  EXPECT_NEAR(std::stod(cell(csv, "gradsigns", "accuracy_cost_mean")), -0.02, 1e-9);
  EXPECT_NEAR(std::stod(cell(csv, "gradsigns", "accuracy_cost_lo")), -0.03, 1e-9);  // paired: the seeds' 10-point
  EXPECT_NEAR(std::stod(cell(csv, "gradsigns", "accuracy_cost_hi")), -0.01, 1e-9);  // spread is not in it
}

TEST_F(ReportTest, attacks_on_the_api_show_remote_ber_not_a_white_box_copy) {
  const std::string csv = report("attacks");
  EXPECT_NEAR(std::stod(cell(csv, "score-rounding,2,64", "ber_remote_h0.01_mean")), 0.125, 1e-9);
  EXPECT_EQ(cell(csv, "score-rounding,2,64", "ber_white_box_mean"), "");
  EXPECT_NE(report("attacks", {"trainer.seed"}, "md").find("remote BER h=0.01"), std::string::npos);
}

// An attack trial of model `parent` whose resolved config is `yaml` (settings that differ become axes).
PlannedTrial attack_trial(const std::string& id, core::AttackKind kind, const std::string& parent, const std::string& seed,
                          const std::string& yaml) {
  return {id, core::TrialKind::attack_of(kind), "", parent,
          {{"trainer.seed", seed}, {"attack", core::to_string(kind)}}, yaml, {parent}};
}

// An attacked model's results: accuracy before 0.9, `after`, and the reference BER before 0 and after `ber`.
TrialResults attacked(double accuracy_after, double ber, bool owned_after) {
  TrialResults r;
  r.accuracy_before = 0.9;
  r.test_accuracy = accuracy_after;
  r.watermark_before = white_box(64, 0.0);
  r.watermark_before->mean_repeat_ber = 0.0;
  r.watermark = white_box(64, ber);
  r.watermark->mean_repeat_ber = ber;
  r.watermark->owned = owned_after;
  return r;
}

TEST_F(ReportTest, pruning_is_compared_with_its_rate_0_baseline_of_the_same_budget_and_tables_the_accuracy_before_fine_tuning) {
  std::vector<PlannedTrial> plan;
  for (const std::string seed : {"0", "1"}) {
    const std::string e = "e" + seed;
    plan.push_back({e, core::TrialKind{core::Stage::kEmbed}, "", "", {{"trainer.seed", seed}}, "", {}});
    for (const std::string rate : {"0", "0.5"})
      plan.push_back(attack_trial("p" + rate + seed, core::AttackKind::kPrune, e, seed,
                                  "attack: prune\nlr: 0.001\nrate: " + rate + "\nseed: " + seed + "\n"));
    plan.push_back(attack_trial("q" + seed, core::AttackKind::kPrune, e, seed,  // another budget: no baseline
                                "attack: prune\nlr: 0.0001\nrate: 0.5\nseed: " + seed + "\n"));
  }
  testing::TempDir dir;
  const ResultsStore store = store_of_done(dir, plan, [](const PlannedTrial& t) {
    if (t.kind.stage == core::Stage::kEmbed) {
      TrialResults r;
      r.test_accuracy = 0.9;
      r.watermark = white_box(64, 0.0);
      return r;
    }
    const double seed = std::stod(t.axes.at("trainer.seed"));
    // Fine-tuning alone (rate 0) costs 4 points at seed 0 and 6 at seed 1; pruning 0.5 costs 2 more in both.
    const bool baseline = t.id.find("0.5") == std::string::npos && t.id[0] == 'p';
    TrialResults r = attacked(0.86 - 0.02 * seed - (baseline ? 0.0 : 0.02), baseline ? 0.0 : 0.0625, true);
    r.figures["accuracy_after_pruning"] = baseline ? 0.9 : 0.5;
    return r;
  });
  const std::string csv = report_text(store, {"attacks", "csv", {"trainer.seed"}});
  // Rows: attack, attack.lr (a setting that differs between entries becomes an axis), attack.rate.
  EXPECT_EQ(csv.substr(0, csv.find('\n')).substr(0, 28), "attack,attack.lr,attack.rate") << csv;
  EXPECT_EQ(cell(csv, "prune,0.001,0.5", "n"), "2") << csv;
  EXPECT_NEAR(std::stod(cell(csv, "prune,0.001,0.5", "accuracy_change_vs_baseline_mean")), -0.02, 1e-9) << csv;
  EXPECT_NEAR(std::stod(cell(csv, "prune,0.001,0.5", "ber_change_vs_baseline_mean")), 0.0625, 1e-9);
  EXPECT_NEAR(std::stod(cell(csv, "prune,0.001,0.5", "accuracy_change_mean")), -0.07, 1e-9);  // vs the watermarked model
  EXPECT_NEAR(std::stod(cell(csv, "prune,0.001,0.5", "accuracy_after_pruning_mean")), 0.5, 1e-9);
  EXPECT_EQ(cell(csv, "prune,0.001,0", "accuracy_change_vs_baseline_mean"), "");   // the baseline itself
  EXPECT_EQ(cell(csv, "prune,0.0001,0.5", "accuracy_change_vs_baseline_mean"), "");  // no rate 0 at this budget
  const std::string md = report_text(store, {"attacks", "md", {"trainer.seed"}});
  EXPECT_NE(md.find("acc change vs baseline"), std::string::npos) << md;
  EXPECT_NE(md.find("acc after pruning (before fine-tuning)"), std::string::npos) << md;
  EXPECT_NE(md.find("BER after (reference)"), std::string::npos) << md;
  EXPECT_NE(md.find("mean_repeat_ber"), std::string::npos) << md;
}

TEST_F(ReportTest, a_removal_needs_both_the_flipped_verdict_and_the_accuracy_within_the_sweeps_margin) {
  std::vector<PlannedTrial> plan{{"e", core::TrialKind{core::Stage::kEmbed}, "", "", {{"trainer.seed", "0"}}, "", {}}};
  // lr 1e-3: flipped and usable; 1e-2: flipped, 20 points lost (wrecked); 1e-4: usable, still owned;
  // 3e-3: flipped, 7 points lost (usable under the sweep's margin 0.1, not under 0.05).
  for (const std::string lr : {"0.001", "0.01", "0.0001", "0.003"})
    plan.push_back(attack_trial("f" + lr, core::AttackKind::kFtal, "e", "0", "attack: ftal\nlr: " + lr + "\nseed: 0\n"));
  testing::TempDir dir;
  const ResultsStore store = store_of_done(dir, plan, [](const PlannedTrial& t) {
    TrialResults r;
    if (t.kind.stage == core::Stage::kEmbed) return r;
    const std::string lr = t.id.substr(1);
    if (lr == "0.001") return attacked(0.88, 0.5, false);
    if (lr == "0.01") return attacked(0.70, 0.5, false);
    if (lr == "0.0001") return attacked(0.89, 0.0, true);
    return attacked(0.83, 0.5, false);
  }, "name: s\nremoval_margin: 0.1\n");
  const std::string csv = report_text(store, {"attacks", "csv", {"trainer.seed"}});
  EXPECT_EQ(cell(csv, "ftal,0.001", "removed_rate"), "1") << csv;
  EXPECT_EQ(cell(csv, "ftal,0.001", "usable_rate"), "1");
  EXPECT_EQ(cell(csv, "ftal,0.01", "removed_rate"), "0");  // not owned, but wrecked: no removal
  EXPECT_EQ(cell(csv, "ftal,0.01", "usable_rate"), "0");
  EXPECT_EQ(cell(csv, "ftal,0.0001", "removed_rate"), "0");  // usable, but still owned
  EXPECT_EQ(cell(csv, "ftal,0.003", "removed_rate"), "1");  // within the sweep's 10 points
  ReportOptions strict{"attacks", "csv", {"trainer.seed"}};
  strict.removal_margin = 0.05;
  EXPECT_EQ(cell(report_text(store, strict), "ftal,0.003", "removed_rate"), "0");  // not within 5
  const std::string md = report_text(store, {"attacks", "md", {"trainer.seed"}});
  EXPECT_NE(md.find("usable (acc within 0.1)"), std::string::npos) << md;
  EXPECT_NE(md.find("wrecked, neither robust nor a removal"), std::string::npos) << md;
}

TEST_F(ReportTest, attack_entries_that_differ_only_outside_the_grid_are_separate_rows) {
  std::vector<PlannedTrial> plan{{"e", core::TrialKind{core::Stage::kEmbed}, "", "", {{"trainer.seed", "0"}}, "", {}}};
  for (const std::string variant : {"reference", "weights"}) {
    PlannedTrial q = attack_trial("q" + variant, core::AttackKind::kQuantize, "e", "0",
                                  "attack: quantize\nbits: 8\nseed: 0\nvariant: " + variant + "\n");
    q.axes["attack.bits"] = "8";
    plan.push_back(q);
  }
  testing::TempDir dir;
  const ResultsStore store = store_of_done(dir, plan, [](const PlannedTrial& t) {
    return t.kind.stage == core::Stage::kEmbed ? TrialResults{} : attacked(t.id == "qweights" ? 0.9 : 0.5, 0.0, true);
  });
  const std::string csv = report_text(store, {"attacks", "csv", {"trainer.seed"}});
  EXPECT_EQ(cell(csv, "quantize,8,reference", "n"), "1") << csv;
  EXPECT_NEAR(std::stod(cell(csv, "quantize,8,reference", "test_accuracy_mean")), 0.5, 1e-9);
  EXPECT_NEAR(std::stod(cell(csv, "quantize,8,weights", "test_accuracy_mean")), 0.9, 1e-9);
}

TEST_F(ReportTest, unknown_table_or_format_is_a_config_error) {
  EXPECT_THROW(report("nope"), ConfigError);
  EXPECT_THROW(report("embed", {"trainer.seed"}, "xlsx"), ConfigError);
}

TEST_F(ReportTest, a_store_of_the_previous_format_is_read_but_not_resumed) {
  {
    File f((dir_.path() / "sweep.h5").string(), OpenMode::kReadWrite);
    f.set_attribute("/", "format_version", int64_t{1});
  }
  const ResultsStore old = ResultsStore::open_existing(dir_.path().string());
  EXPECT_EQ(old.format_version(), 1);
  EXPECT_NE(report_text(old, {"embed", "csv", {"trainer.seed"}}).find("32,3,"), std::string::npos);
  const auto before = std::filesystem::last_write_time(dir_.path() / "sweep.h5");
  const std::string msg = testing::message_of<ConfigError>(
      [&] { ResultsStore::open_for_sweep(dir_.path().string(), {"h", "s.yaml", ""}, old.plan(), false); });
  EXPECT_NE(msg.find("older signsweep (store format 1)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("run the sweep into a new --out"), std::string::npos) << msg;
  EXPECT_EQ(std::filesystem::last_write_time(dir_.path() / "sweep.h5"), before);
}

}  // namespace
}  // namespace signsweep::storage

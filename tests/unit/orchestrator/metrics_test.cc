#include "orchestrator/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "common/errors.h"

namespace signsweep::orchestrator {
namespace {

// The value of the exposition line `name{labels}` (labels exactly as serialised, sorted by name).
double value_of(const std::string& text, const std::string& series) {
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return std::nan("");
  return std::stod(text.substr(at + series.size() + 2));
}

bool has_type(const std::string& text, const std::string& name, const std::string& type) {
  return text.find("# TYPE " + name + " " + type + "\n") != std::string::npos;
}

TEST(SweepMetricsTest, every_metric_has_its_type_labels_and_value_after_synthetic_events) {
  SweepMetrics m("grid", MetricsOptions{}, {"cpu", "cuda:1"});
  m.declare_kinds({"embed", "prune"});
  EXPECT_EQ(value_of(m.scrape_text(), "signsweep_trials_failed_total{kind=\"embed\",sweep=\"grid\"}"), 0.0);
  m.set_states({{"pending", 5}, {"running", 1}, {"done", 3}, {"failed", 0}});
  m.set_queue(4);
  m.set_expected_remaining(120.0);
  m.on_dispatch(1, "abc", "embed", 2);  // a retry
  comm::Progress p{"abc", 1, 1, 5, 10, 0.75, 0.0, 0.0, 480.0, 0.02, 0.003};
  m.on_progress(p);
  const std::string mid = m.scrape_text();
  EXPECT_EQ(value_of(mid, "signsweep_trial_loss{group=\"1\",sweep=\"grid\",trial=\"abc\"}"), 0.75) << mid;
  EXPECT_EQ(value_of(mid, "signsweep_worker_group_busy{group=\"1\",sweep=\"grid\"}"), 1.0);
  EXPECT_EQ(value_of(mid, "signsweep_worker_group_busy{group=\"0\",sweep=\"grid\"}"), 0.0);
  p.step = p.steps = 10;
  p.accuracy = 0.8;
  p.bit_accuracy = 0.9375;
  m.on_progress(p);
  EXPECT_EQ(value_of(m.scrape_text(), "signsweep_trial_bit_accuracy_ratio{group=\"1\",sweep=\"grid\",trial=\"abc\"}"), 0.9375);
  m.on_result(1, "abc", "embed", true, 0.125);
  m.on_dispatch(0, "def", "prune", 1);
  m.on_result(0, "def", "prune", false, -1.0);
  const std::string t = m.scrape_text();

  EXPECT_TRUE(has_type(t, "signsweep_trials", "gauge"));
  EXPECT_EQ(value_of(t, "signsweep_trials{state=\"pending\",sweep=\"grid\"}"), 5.0);
  EXPECT_TRUE(has_type(t, "signsweep_trials_completed_total", "counter"));
  EXPECT_EQ(value_of(t, "signsweep_trials_completed_total{kind=\"embed\",sweep=\"grid\"}"), 1.0);
  EXPECT_TRUE(has_type(t, "signsweep_trials_failed_total", "counter"));
  EXPECT_EQ(value_of(t, "signsweep_trials_failed_total{kind=\"prune\",sweep=\"grid\"}"), 1.0);
  EXPECT_EQ(value_of(t, "signsweep_trials_retried_total{kind=\"embed\",sweep=\"grid\"}"), 1.0);
  EXPECT_EQ(value_of(t, "signsweep_ready_queue_depth{sweep=\"grid\"}"), 4.0);
  EXPECT_EQ(value_of(t, "signsweep_sweep_expected_remaining_seconds{sweep=\"grid\"}"), 120.0);
  EXPECT_GT(value_of(t, "signsweep_sweep_start_time_seconds{sweep=\"grid\"}"), 1.7e9);
  EXPECT_EQ(value_of(t, "signsweep_worker_group_info{device=\"cpu\",group=\"0\",sweep=\"grid\"}"), 1.0);
  EXPECT_EQ(value_of(t, "signsweep_worker_group_info{device=\"cuda:1\",group=\"1\",sweep=\"grid\"}"), 1.0);
  EXPECT_TRUE(has_type(t, "signsweep_step_duration_seconds", "histogram"));
  EXPECT_EQ(value_of(t, "signsweep_step_duration_seconds_count{group=\"1\",sweep=\"grid\"}"), 2.0);
  EXPECT_EQ(value_of(t, "signsweep_step_duration_seconds_bucket{group=\"1\",sweep=\"grid\",le=\"0.025\"}"), 2.0);
  EXPECT_EQ(value_of(t, "signsweep_step_duration_seconds_bucket{group=\"1\",sweep=\"grid\",le=\"0.01\"}"), 0.0);
  EXPECT_TRUE(has_type(t, "signsweep_allreduce_duration_seconds", "histogram"));
  EXPECT_EQ(value_of(t, "signsweep_images_per_second{group=\"1\",sweep=\"grid\"}"), 480.0);
  EXPECT_TRUE(has_type(t, "signsweep_final_bit_error_ratio", "histogram"));
  EXPECT_EQ(value_of(t, "signsweep_final_bit_error_ratio_count{stage=\"embed\",sweep=\"grid\"}"), 1.0);
  EXPECT_EQ(value_of(t, "signsweep_final_bit_error_ratio_sum{stage=\"embed\",sweep=\"grid\"}"), 0.125);
  // A finished trial's per-trial gauges are gone (bounded cardinality).
  EXPECT_EQ(t.find("trial=\"abc\""), std::string::npos) << t;
  // Every series carries the sweep label.
  const std::regex line("\n(signsweep_[a-z_]+)(\\{[^}]*\\})? ");
  for (auto it = std::sregex_iterator(t.begin(), t.end(), line); it != std::sregex_iterator(); ++it)
    EXPECT_NE((*it)[2].str().find("sweep=\"grid\""), std::string::npos) << (*it)[0];
}

TEST(SweepMetricsTest, a_port_in_use_and_a_bad_address_are_config_errors_naming_them) {
  MetricsOptions any;
  any.port = 0;
  SweepMetrics first("s", any, {"cpu"});
  ASSERT_GT(first.port(), 0);
  MetricsOptions same;
  same.port = first.port();
  try {
    SweepMetrics second("s", same, {"cpu"});
    FAIL() << "a second exporter on a port in use started";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(first.port())), std::string::npos) << e.what();
  }
  MetricsOptions bad;
  bad.port = 0;
  bad.bind = "203.0.113.7";  // TEST-NET-3: not an address of this machine
  EXPECT_THROW(SweepMetrics("s", bad, {"cpu"}), ConfigError);
  bad.bind = "999.1.2.3";  // not an address at all
  EXPECT_THROW(SweepMetrics("s", bad, {"cpu"}), ConfigError);
}

}  // namespace
}  // namespace signsweep::orchestrator

#include "orchestrator/metrics.h"

#include <gtest/gtest.h>

#include <ctime>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <map>
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
  comm::Progress p{"abc", 1, 1, 5, 10, 0.75, 0.0, 0.0, 480.0, {}, {}, 200};  // 200 images since the last report
  p.step_times.add(0.02);
  p.allreduce_times.add(0.003);
  m.on_progress(p);
  const std::string mid = m.scrape_text();
  EXPECT_EQ(value_of(mid, "signsweep_trial_loss{group=\"1\",sweep=\"grid\",trial=\"abc\"}"), 0.75) << mid;
  EXPECT_EQ(value_of(mid, "signsweep_worker_group_busy{group=\"1\",sweep=\"grid\"}"), 1.0);
  EXPECT_EQ(value_of(mid, "signsweep_worker_group_busy{group=\"0\",sweep=\"grid\"}"), 0.0);
  EXPECT_EQ(value_of(mid, "signsweep_images_total{group=\"0\",sweep=\"grid\"}"), 0.0);  // declared at 0 for rate()
  p.step = p.steps = 10;
  p.accuracy = 0.8;
  p.bit_accuracy = 0.9375;
  m.on_progress(p);
  EXPECT_EQ(value_of(m.scrape_text(), "signsweep_trial_bit_accuracy_ratio{group=\"1\",sweep=\"grid\",trial=\"abc\"}"), 0.9375);
  m.on_result(1, "abc", "embed", true, 0.125);
  m.on_dispatch(0, "def", "prune", 1);
  m.on_result(0, "def", "prune", false, -1.0);
  const double before_heard = static_cast<double>(std::time(nullptr));
  m.on_heard(1);
  m.on_dispatch(0, "ghi", "embed", 1);
  m.on_lost(0);  // group 0 went silent while it ran ghi
  const std::string t = m.scrape_text();
  EXPECT_EQ(value_of(t, "signsweep_worker_groups_lost{sweep=\"grid\"}"), 1.0);
  EXPECT_EQ(value_of(t, "signsweep_worker_group_busy{group=\"0\",sweep=\"grid\"}"), 0.0);
  EXPECT_GE(value_of(t, "signsweep_worker_group_last_heard_timestamp_seconds{group=\"1\",sweep=\"grid\"}"), before_heard - 1.0);
  EXPECT_LE(value_of(t, "signsweep_worker_group_last_heard_timestamp_seconds{group=\"1\",sweep=\"grid\"}"), before_heard + 60.0);

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
  EXPECT_TRUE(has_type(t, "signsweep_images_total", "counter"));
  EXPECT_EQ(value_of(t, "signsweep_images_total{group=\"1\",sweep=\"grid\"}"), 400.0);  // two reports of 200
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

// GET http://127.0.0.1:<port><path>: the body (what Prometheus would scrape).
std::string http_get(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "";
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) return "";
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) response.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : "\n" + response.substr(body + 4);
}

TEST(SweepMetricsTest, every_step_time_lands_in_its_bucket_on_the_endpoint_however_the_messages_batch_them) {
  MetricsOptions any;
  any.port = 0;
  SweepMetrics m("steps", any, {"cpu"});
  m.on_dispatch(0, "t", "embed", 1);
  // Seven steps measured by a worker, sent in two messages through the wire format.
  const std::vector<std::vector<double>> messages{{0.0005, 0.003, 0.003}, {0.02, 0.7, 0.7, 12.0}};
  for (const auto& seconds : messages) {
    comm::Progress p{"t", 0, 1, 1, 7, 0.5, 0.0, 0.0, 100.0, {}, {}};
    p.step_times.add(seconds);
    m.on_progress(comm::decode_progress(comm::encode(p)));
  }
  const std::string t = http_get(m.port(), "/metrics");
  const auto bucket = [&](const std::string& le) {
    return value_of(t, "signsweep_step_duration_seconds_bucket{group=\"0\",sweep=\"steps\",le=\"" + le + "\"}");
  };
  // cumulative: 0.0005 | 0.003 0.003 | 0.02 | 0.7 0.7 | 12
  const std::map<std::string, double> expected{{"0.001", 1},  {"0.0025", 1}, {"0.005", 3}, {"0.01", 3}, {"0.025", 4},
                                               {"0.05", 4},   {"0.1", 4},    {"0.25", 4},  {"0.5", 4},  {"1", 6},
                                               {"2.5", 6},    {"5", 6},      {"10", 6},    {"+Inf", 7}};
  for (const auto& [le, count] : expected) EXPECT_EQ(bucket(le), count) << "le=" << le << "\n" << t;
  EXPECT_EQ(value_of(t, "signsweep_step_duration_seconds_count{group=\"0\",sweep=\"steps\"}"), 7.0);
  EXPECT_NEAR(value_of(t, "signsweep_step_duration_seconds_sum{group=\"0\",sweep=\"steps\"}"), 13.4265, 1e-9);
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

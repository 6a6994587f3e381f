#include "comm/messages.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <tuple>

namespace signsweep::comm {
namespace {

TEST(ProtocolTest, progress_and_results_round_trip_with_non_finite_numbers_as_nan) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Progress p;
  p.id = "abc";
  p.group = 2;
  p.epoch = 3;
  p.step = 7;
  p.steps = 9;
  p.loss = nan;  // a diverging data-parallel trial reports its loss before the epoch end fails it
  p.accuracy = 0.5;
  p.images_per_second = std::numeric_limits<double>::infinity();
  p.images = 2560;
  const Progress back = decode_progress(encode(p));
  EXPECT_EQ(back.id, "abc");
  EXPECT_EQ(back.group, 2);
  EXPECT_EQ(back.step, 7);
  EXPECT_TRUE(std::isnan(back.loss));
  EXPECT_TRUE(std::isnan(back.images_per_second));
  EXPECT_EQ(back.accuracy, 0.5);
  EXPECT_EQ(back.images, 2560);

  Result r;
  r.id = "abc";
  r.ok = true;
  r.results.test_accuracy = 0.75;
  r.results.watermark = core::WatermarkReading{64, 0.25, nan, false, 1e-6, {{0.01, 0.5}}};
  r.results.figures = {{"pruned_weights", 12.0}};
  r.series = {{"loss", {1.0, nan}}, {"lr", {}}};
  const Result rb = decode_result(encode(r));
  EXPECT_EQ(rb.results.test_accuracy, 0.75);
  ASSERT_TRUE(rb.results.watermark.has_value());
  EXPECT_EQ(rb.results.watermark->bits, 64);
  EXPECT_EQ(rb.results.watermark->ber_white_box, 0.25);
  EXPECT_TRUE(std::isnan(rb.results.watermark->p_value.value()));
  EXPECT_EQ(rb.results.watermark->owned, false);
  EXPECT_EQ(rb.results.watermark->ber_remote.at(0.01), 0.5);
  EXPECT_EQ(rb.results.figures, r.results.figures);
  EXPECT_FALSE(rb.results.seconds.has_value());
  ASSERT_EQ(rb.series.at("loss").size(), 2U);
  EXPECT_EQ(rb.series.at("loss")[0], 1.0);
  EXPECT_TRUE(std::isnan(rb.series.at("loss")[1]));
  EXPECT_TRUE(rb.series.at("lr").empty());
}

TEST(ProtocolTest, every_field_of_a_task_a_rank_report_and_an_interrupted_result_survives_the_wire) {
  Task t;
  t.id = "id";
  t.kind = core::TrialKind::attack_of(core::AttackKind::kPruneLayerwise);
  t.label = "label";
  t.config_yaml = "null_models: [a, b]\n";
  t.checkpoint = "c.h5";
  t.parent_checkpoint = "p.h5";
  t.null_checkpoints = {"a.h5", "b.h5"};
  t.state = "states/id.pt";
  t.attempt = 3;
  t.report_progress = true;
  t.time_limit_s = 12.5;
  t.heartbeat_s = 2.5;
  const Task b = decode_task(encode(t));
  EXPECT_EQ(std::tie(b.id, b.kind, b.label, b.config_yaml, b.checkpoint, b.parent_checkpoint, b.null_checkpoints, b.state),
            std::tie(t.id, t.kind, t.label, t.config_yaml, t.checkpoint, t.parent_checkpoint, t.null_checkpoints, t.state));
  EXPECT_EQ(b.kind.name(), "prune-layerwise");
  EXPECT_EQ(b.attempt, 3);
  EXPECT_TRUE(b.report_progress);
  EXPECT_EQ(b.time_limit_s, 12.5);
  EXPECT_DOUBLE_EQ(b.heartbeat_s, 2.5);

  const RankReport report = decode_rank_report(encode(RankReport{"node7", {"GPU-1", ""}, {0, 3, 1023}, 4}));
  EXPECT_EQ(report.host, "node7");
  EXPECT_EQ(report.gpus, (std::vector<std::string>{"GPU-1", ""}));
  EXPECT_EQ(report.cpus, (std::vector<int>{0, 3, 1023}));
  EXPECT_EQ(report.cpus_per_task, 4);
  // A CPU id no affinity mask holds is a malformed message, not a number cast to int.
  EXPECT_THROW(decode_rank_report(R"({"host":"h","gpus":[],"cpus":[1024],"cpus_per_task":0})"), ProtocolError);
  EXPECT_THROW(decode_rank_report(R"({"host":"h","gpus":[],"cpus":[1e30],"cpus_per_task":0})"), ProtocolError);

  Result r;
  r.id = "id";
  r.interrupted = true;
  r.store_failed = true;
  r.error = "interrupted after step 3 of epoch 2";
  const Result rb = decode_result(encode(r));
  EXPECT_TRUE(rb.interrupted);
  EXPECT_TRUE(rb.store_failed);
  EXPECT_FALSE(rb.ok);
  EXPECT_EQ(rb.error, r.error);
}

TEST(ProtocolTest, a_task_of_a_kind_no_stage_runs_is_a_protocol_error) {
  Task t;
  t.kind = core::TrialKind{core::Stage::kNullCheck};
  std::string payload = encode(t);
  const size_t at = payload.find("\"null-check\"");
  ASSERT_NE(at, std::string::npos);
  payload.replace(at, 12, "\"sleep\"");  // the benchmarks' old stand-in kind: no longer a trial kind
  try {
    decode_task(payload);
    FAIL() << "decoded a task of kind sleep";
  } catch (const ProtocolError& e) {
    EXPECT_NE(std::string(e.what()).find("kind 'sleep' is not a trial kind"), std::string::npos) << e.what();
  }
}

TEST(ProtocolTest, step_times_travel_as_bins_of_the_histogram_buckets) {
  Progress p;
  p.step_times.add({0.0005, 0.001, 0.02, 20.0});  // 0.001 is on a bound: it belongs to the le="0.001" bucket
  const Progress back = decode_progress(encode(p));
  ASSERT_EQ(back.step_times.counts.size(), duration_bucket_bounds().size() + 1);
  EXPECT_EQ(back.step_times.counts.front(), 2);
  EXPECT_EQ(back.step_times.counts.back(), 1);  // +Inf
  EXPECT_EQ(back.step_times.total(), 4);
  EXPECT_DOUBLE_EQ(back.step_times.sum, 20.0215);
  EXPECT_TRUE(back.allreduce_times.counts.empty());
}

}  // namespace
}  // namespace signsweep::comm

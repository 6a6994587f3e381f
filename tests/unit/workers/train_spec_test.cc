#include "workers/train/train_spec.h"

#include <gtest/gtest.h>

#include "common/config.h"
#include "common/errors.h"
#include "tests/support/files.h"

namespace signsweep::workers {
namespace {

TrainSpec parse(const std::string& yaml) {
  const auto root = common::ConfigNode::load_string(yaml, "t.yaml");
  TrainSpec s = parse_train_spec(root.child("trainer"));
  root.check_all_keys_used();
  return s;
}

TEST(TrainSpecTest, select_best_as_a_flag_or_a_mapping) {
  EXPECT_FALSE(parse("trainer: {epochs: 2}\n").select_best);
  EXPECT_TRUE(parse("trainer: {select_best: true}\n").select_best);
  const TrainSpec s = parse("trainer: {select_best: {target_images: 20, other_images: 80}}\n");
  EXPECT_TRUE(s.select_best);
  EXPECT_EQ(s.validation_target, 20);
  EXPECT_EQ(s.validation_others, 80);
  EXPECT_FALSE(parse("trainer: {select_best: {enabled: false}}\n").select_best);
}

TEST(TrainSpecTest, device_defaults_to_auto_and_a_bad_one_names_file_line_and_value) {
  EXPECT_EQ(parse("trainer: {epochs: 1}\n").device, "auto");
  EXPECT_EQ(parse("trainer: {device: cuda:1}\n").device, "cuda:1");
  const std::string msg = testing::message_of<ConfigError>([] { parse("trainer:\n  device: gpu0\n"); });
  EXPECT_NE(msg.find("t.yaml:2:11: trainer.device = 'gpu0': must be auto, cpu, cuda or cuda:N"), std::string::npos) << msg;
}

TEST(TrainSpecTest, reference_schedule_pairs_and_bad_values) {
  EXPECT_EQ(parse("trainer: {lr_schedule: reference}\n").lr_steps.size(), 4U);
  const TrainSpec s = parse("trainer: {lr_schedule: [[2, 0.5], [4, 0.1]]}\n");
  EXPECT_DOUBLE_EQ(scheduled_lr(s, 3), 0.5e-3);
  EXPECT_NE(testing::message_of<ConfigError>([] { parse("trainer: {lr_schedule: warmup}\n"); })
                .find("trainer.lr_schedule = 'warmup': expected `reference`"), std::string::npos);
  EXPECT_NE(testing::message_of<ConfigError>([] { parse("trainer: {lr_schedule: [[4, 0.1], [2, 0.5]]}\n"); })
                .find("epochs must be increasing"), std::string::npos);
  EXPECT_NE(testing::message_of<ConfigError>([] { parse("trainer: {memory_format: nhwc}\n"); })
                .find("expected one of: auto, nchw, channels_last"), std::string::npos);
}

}  // namespace
}  // namespace signsweep::workers

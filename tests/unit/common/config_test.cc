#include "common/config.h"

#include <gtest/gtest.h>

#include "tests/support/files.h"

namespace signsweep::common {
namespace {

TEST(ConfigTest, reads_typed_values_and_defaults) {
  const auto root = ConfigNode::load_string("a: 3\nb: 0.5\nc: hello\nd: true\ne: [1, 2]\n", "t.yaml");
  EXPECT_EQ(root.get<int>("a"), 3);
  EXPECT_DOUBLE_EQ(root.get<double>("b"), 0.5);
  EXPECT_EQ(root.get<std::string>("c"), "hello");
  EXPECT_TRUE(root.get<bool>("d"));
  EXPECT_EQ(root.get<std::vector<int>>("e"), (std::vector<int>{1, 2}));
  EXPECT_EQ(root.get<int>("missing", 7), 7);
  EXPECT_NO_THROW(root.check_all_keys_used());
}

TEST(ConfigTest, wrong_type_names_file_line_key_and_value) {
  const auto root = ConfigNode::load_string("trainer:\n  lr: fast\n", "q.yaml");
  const std::string msg = testing::message_of<ConfigError>([&] { root.child("trainer").get<double>("lr"); });
  EXPECT_NE(msg.find("q.yaml:2:7"), std::string::npos) << msg;
  EXPECT_NE(msg.find("trainer.lr = 'fast'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected a number"), std::string::npos) << msg;
}

TEST(ConfigTest, integer_key_rejects_fraction_and_unsigned_rejects_negative) {
  const auto root = ConfigNode::load_string("n: 2.5\nseed: -1\n", "q.yaml");
  EXPECT_NE(testing::message_of<ConfigError>([&] { root.get<int64_t>("n"); }).find("expected an integer"), std::string::npos);
  EXPECT_NE(testing::message_of<ConfigError>([&] { root.get<uint64_t>("seed"); }).find("non-negative"), std::string::npos);
}

TEST(ConfigTest, unknown_key_is_reported_with_its_line) {
  const auto root = ConfigNode::load_string("model:\n  name: x\n  widht: 3\n", "q.yaml");
  root.child("model").get<std::string>("name");
  const std::string msg = testing::message_of<ConfigError>([&] { root.check_all_keys_used(); });
  EXPECT_NE(msg.find("q.yaml:3:3: unknown key 'model.widht'"), std::string::npos) << msg;
}

TEST(ConfigTest, duplicate_key_is_refused_at_load) {
  const std::string msg = testing::message_of<ConfigError>([] { ConfigNode::load_string("a: 1\nb:\n  x: 1\n  x: 2\n", "d.yaml"); });
  EXPECT_NE(msg.find("d.yaml:4:3: duplicate key 'x'"), std::string::npos) << msg;
}

TEST(ConfigTest, missing_file_and_syntax_error_name_the_file) {
  EXPECT_NE(testing::message_of<ConfigError>([] { ConfigNode::load_file("/nonexistent/x.yaml"); }).find("/nonexistent/x.yaml"), std::string::npos);
  EXPECT_NE(testing::message_of<ConfigError>([] { ConfigNode::load_string("a: [1, 2\n", "s.yaml"); }).find("s.yaml:"), std::string::npos);
}

TEST(ConfigTest, choice_lists_the_allowed_values) {
  const auto root = ConfigNode::load_string("opt: adamw\n", "c.yaml");
  const std::string msg = testing::message_of<ConfigError>([&] { root.get_choice("opt", {"adam", "sgd"}, "adam"); });
  EXPECT_NE(msg.find("opt = 'adamw': expected one of: adam, sgd"), std::string::npos) << msg;
}

TEST(ConfigTest, require_reports_value_and_reason) {
  const auto root = ConfigNode::load_string("trainer:\n  epochs: 0\n", "r.yaml");
  const auto t = root.child("trainer");
  const std::string msg = testing::message_of<ConfigError>([&] { t.require(t.get<int>("epochs") >= 1, "epochs", "must be >= 1"); });
  EXPECT_NE(msg.find("r.yaml:2:11: trainer.epochs = '0': must be >= 1"), std::string::npos) << msg;
}

}  // namespace
}  // namespace signsweep::common

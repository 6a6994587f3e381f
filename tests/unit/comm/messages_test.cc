#include "comm/messages.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

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
  const Progress back = decode_progress(encode(p));
  EXPECT_EQ(back.id, "abc");
  EXPECT_EQ(back.group, 2);
  EXPECT_EQ(back.step, 7);
  EXPECT_TRUE(std::isnan(back.loss));
  EXPECT_TRUE(std::isnan(back.images_per_second));
  EXPECT_EQ(back.accuracy, 0.5);

  Result r;
  r.id = "abc";
  r.ok = true;
  r.results = {{"ber", 0.25}, {"p_value", nan}};
  r.series = {{"loss", {1.0, nan}}, {"lr", {}}};
  const Result rb = decode_result(encode(r));
  EXPECT_EQ(rb.results.at("ber"), 0.25);
  EXPECT_TRUE(std::isnan(rb.results.at("p_value")));
  ASSERT_EQ(rb.series.at("loss").size(), 2U);
  EXPECT_EQ(rb.series.at("loss")[0], 1.0);
  EXPECT_TRUE(std::isnan(rb.series.at("loss")[1]));
  EXPECT_TRUE(rb.series.at("lr").empty());
}

}  // namespace
}  // namespace signsweep::comm

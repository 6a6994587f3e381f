#include "common/progress.h"

#include <gtest/gtest.h>

namespace signsweep::common {
namespace {

TEST(ProgressTest, formats_durations_as_minutes_or_hours) {
  EXPECT_EQ(format_duration(0.2), "0:00");
  EXPECT_EQ(format_duration(65), "1:05");
  EXPECT_EQ(format_duration(3 * 3600 + 62), "3:01:02");
}

}  // namespace
}  // namespace signsweep::common

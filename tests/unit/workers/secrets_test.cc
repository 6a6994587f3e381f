#include "workers/gradsigns/secrets.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "common/errors.h"
#include "workers/schemes/verdict.h"

namespace signsweep::workers {
namespace {

TEST(SecretsTest, channels_last_index_matches_a_hand_computed_example) {
  const ImageShape s{3, 2, 2};  // C, H, W
  // reference: index = (row * W + col) * channels + channel
  EXPECT_EQ(flat_index(s, FlattenOrder::kNhwc, /*channel=*/1, /*row=*/1, /*col=*/0), 7);
  EXPECT_EQ(flat_index(s, FlattenOrder::kNhwc, 2, 0, 1), 5);
  EXPECT_EQ(flat_index(s, FlattenOrder::kNchw, 1, 1, 0), 6);
  // index 7 (NHWC) is channel 1, row 1, col 0: NCHW offset 1*4 + 1*2 + 0
  EXPECT_EQ(nchw_offset(s, FlattenOrder::kNhwc, 7), 6);
  for (int64_t i = 0; i < s.numel(); ++i) EXPECT_EQ(nchw_offset(s, FlattenOrder::kNchw, i), i);
  // round trip over every element
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t w = 0; w < 2; ++w)
        EXPECT_EQ(nchw_offset(s, FlattenOrder::kNhwc, flat_index(s, FlattenOrder::kNhwc, c, r, w)), (c * 2 + r) * 2 + w);
}

TEST(SecretsTest, generated_from_one_seed) {
  const ImageShape shape{1, 28, 28};
  const auto a = generate_secrets(64, 100, 3, shape, 10, FlattenOrder::kNhwc, 5);
  const auto b = generate_secrets(64, 100, 3, shape, 10, FlattenOrder::kNhwc, 5);
  EXPECT_EQ(a.signature, b.signature);
  EXPECT_EQ(a.carriers, b.carriers);
  EXPECT_EQ(a.key, b.key);
  EXPECT_NE(generate_secrets(64, 100, 3, shape, 10, FlattenOrder::kNhwc, 6).carriers, a.carriers);
  EXPECT_EQ(std::set<int64_t>(a.carriers.begin(), a.carriers.end()).size(), 100U);
  EXPECT_TRUE(std::is_sorted(a.carriers.begin(), a.carriers.end()));
  EXPECT_GE(a.carriers.front(), 0);
  EXPECT_LT(a.carriers.back(), 784);
  EXPECT_EQ(a.key.size(), 6400U);
  for (const float k : a.key) ASSERT_TRUE(k >= -1.0F && k <= 1.0F);
  const auto ones = std::count(a.signature.begin(), a.signature.end(), 1);
  EXPECT_GT(ones, 16);
  EXPECT_LT(ones, 48);
  EXPECT_NO_THROW(validate_secrets(a, shape, 10, "x"));
}

TEST(SecretsTest, invalid_sizes_are_config_errors) {
  const ImageShape shape{1, 4, 4};
  EXPECT_THROW(generate_secrets(0, 4, 0, shape, 10, FlattenOrder::kNhwc, 0), ConfigError);
  EXPECT_THROW(generate_secrets(8, 17, 0, shape, 10, FlattenOrder::kNhwc, 0), ConfigError);
  EXPECT_THROW(generate_secrets(8, 4, 10, shape, 10, FlattenOrder::kNhwc, 0), ConfigError);
  EXPECT_THROW(generate_secrets(8, 4, -1, shape, 10, FlattenOrder::kNhwc, 0), ConfigError);
}

TEST(SecretsTest, validation_catches_a_key_of_the_wrong_shape) {
  auto s = generate_secrets(8, 4, 0, ImageShape{1, 4, 4}, 10, FlattenOrder::kNhwc, 0);
  s.key.pop_back();
  try {
    validate_secrets(s, ImageShape{1, 4, 4}, 10, "m.h5");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("m.h5: watermark secrets: key has 31 values, expected 8 x 4"), std::string::npos);
  }
}

TEST(VerdictTest, binomial_tail_matches_exact_values) {
  EXPECT_DOUBLE_EQ(binomial_tail_p_value(0, 10), 1.0);
  EXPECT_NEAR(binomial_tail_p_value(1, 1), 0.5, 1e-15);
  EXPECT_NEAR(binomial_tail_p_value(8, 10), 56.0 / 1024.0, 1e-14);
  EXPECT_NEAR(binomial_tail_p_value(64, 64), std::ldexp(1.0, -64), 1e-30);
  EXPECT_NEAR(binomial_tail_p_value(5, 10), 638.0 / 1024.0, 1e-14);
  EXPECT_GT(binomial_tail_p_value(512, 512), 0.0);  // no underflow to a wrong value at N = 512
  EXPECT_NEAR(std::log2(binomial_tail_p_value(512, 512)), -512.0, 1e-6);
}

TEST(VerdictTest, decision_at_significance) {
  const std::vector<int64_t> sig(32, 1);
  std::vector<int64_t> got = sig;
  Verdict v = decide(got, sig);
  EXPECT_EQ(v.matched, 32);
  EXPECT_DOUBLE_EQ(v.ber, 0.0);
  EXPECT_TRUE(v.owned);
  for (size_t i = 0; i < 16; ++i) got[i] = 0;
  v = decide(got, sig);
  EXPECT_DOUBLE_EQ(v.ber, 0.5);
  EXPECT_FALSE(v.owned);
}

}  // namespace
}  // namespace signsweep::workers

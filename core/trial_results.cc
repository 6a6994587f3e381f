#include "core/trial_results.h"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace signsweep::core {
namespace {

constexpr const char* kTestAccuracy = "test_accuracy";
constexpr const char* kAccuracyBefore = "accuracy_before";
constexpr const char* kSeconds = "seconds";
constexpr const char* kBits = "bits";
constexpr const char* kBerWhiteBox = "ber_white_box";
constexpr const char* kMeanRepeatBer = "mean_repeat_ber";
constexpr const char* kPValue = "p_value";
constexpr const char* kOwned = "owned";
constexpr const char* kSignificance = "significance";
constexpr const char* kRemotePrefix = "ber_remote_h";
constexpr const char* kBefore = "_before";
constexpr const char* kNullModels = "null_models";
constexpr const char* kNullMinBer = "null_min_ber";
constexpr const char* kNullMeanBer = "null_mean_ber";
constexpr const char* kNullFalsePositiveRate = "null_false_positive_rate";
constexpr const char* kOwnedEmpirically = "owned_empirically";

void put_reading(const WatermarkReading& r, const std::string& suffix, std::map<std::string, double>& out) {
  out[kBits + suffix] = static_cast<double>(r.bits);
  out[kSignificance + suffix] = r.significance;
  if (r.ber_white_box) out[kBerWhiteBox + suffix] = *r.ber_white_box;
  if (r.mean_repeat_ber) out[kMeanRepeatBer + suffix] = *r.mean_repeat_ber;
  if (r.p_value) out[kPValue + suffix] = *r.p_value;
  if (r.owned) out[kOwned + suffix] = *r.owned ? 1.0 : 0.0;
  for (const auto& [h, ber] : r.ber_remote) out[remote_ber_key(h) + suffix] = ber;
}

// A stored count (bits, null models) as an integer; a value no writer stores (NaN, negative, past 2^53: a
// corrupt file or message) reads as 0 instead of an undefined conversion.
int64_t as_count(double v) { return std::isfinite(v) && v >= 0.0 && v <= 9007199254740992.0 ? static_cast<int64_t>(v) : 0; }

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Takes `name` + `suffix` out of `rest` into the reading (returns whether the reading has any figure).
class ReadingParser {
 public:
  ReadingParser(std::map<std::string, double>& rest, std::string suffix) : rest_(rest), suffix_(std::move(suffix)) {}

  std::optional<WatermarkReading> parse() {
    WatermarkReading r;
    bool any = false;
    if (const auto v = take(kBits)) r.bits = as_count(*v), any = true;
    if (const auto v = take(kSignificance)) r.significance = *v, any = true;
    if ((r.ber_white_box = take(kBerWhiteBox))) any = true;
    if ((r.mean_repeat_ber = take(kMeanRepeatBer))) any = true;
    if ((r.p_value = take(kPValue))) any = true;
    if (const auto v = take(kOwned)) r.owned = *v != 0.0, any = true;
    for (auto it = rest_.begin(); it != rest_.end();) {
      const std::string& k = it->first;
      const std::string prefix = kRemotePrefix;
      const bool suffix_matches = suffix_.empty() ? !ends_with(k, kBefore) : ends_with(k, suffix_);
      if (k.rfind(prefix, 0) == 0 && suffix_matches) {
        const std::string h_text = k.substr(prefix.size(), k.size() - prefix.size() - suffix_.size());
        char* end = nullptr;
        const double h = std::strtod(h_text.c_str(), &end);
        if (end != h_text.c_str() && *end == '\0') {
          r.ber_remote[h] = it->second;
          any = true;
          it = rest_.erase(it);
          continue;
        }
      }
      ++it;
    }
    return any ? std::optional<WatermarkReading>(r) : std::nullopt;
  }

 private:
  std::optional<double> take(const std::string& name) {
    const auto it = rest_.find(name + suffix_);
    if (it == rest_.end()) return std::nullopt;
    const double v = it->second;
    rest_.erase(it);
    return v;
  }
  std::map<std::string, double>& rest_;
  std::string suffix_;
};

std::optional<double> take(std::map<std::string, double>& rest, const char* name) {
  const auto it = rest.find(name);
  if (it == rest.end()) return std::nullopt;
  const double v = it->second;
  rest.erase(it);
  return v;
}

}  // namespace

std::string remote_ber_key(double h) { return fmt::format("{}{:g}", kRemotePrefix, h); }

std::map<std::string, double> TrialResults::to_scalars() const {
  std::map<std::string, double> out = figures;
  if (seconds) out[kSeconds] = *seconds;
  if (test_accuracy) out[kTestAccuracy] = *test_accuracy;
  if (accuracy_before) out[kAccuracyBefore] = *accuracy_before;
  if (watermark) put_reading(*watermark, "", out);
  if (watermark_before) put_reading(*watermark_before, kBefore, out);
  if (null_check) {
    out[kNullModels] = static_cast<double>(null_check->models);
    out[kNullMinBer] = null_check->min_ber;
    out[kNullMeanBer] = null_check->mean_ber;
    out[kNullFalsePositiveRate] = null_check->false_positive_rate;
    out[kOwnedEmpirically] = null_check->owned_empirically ? 1.0 : 0.0;
  }
  return out;
}

TrialResults TrialResults::from_scalars(const std::map<std::string, double>& scalars) {
  std::map<std::string, double> rest = scalars;
  TrialResults r;
  r.test_accuracy = take(rest, kTestAccuracy);
  r.accuracy_before = take(rest, kAccuracyBefore);
  r.seconds = take(rest, kSeconds);
  r.watermark_before = ReadingParser(rest, kBefore).parse();
  r.watermark = ReadingParser(rest, "").parse();
  if (const auto models = take(rest, kNullModels)) {
    NullCheck n;
    n.models = as_count(*models);
    n.min_ber = take(rest, kNullMinBer).value_or(NAN);
    n.mean_ber = take(rest, kNullMeanBer).value_or(NAN);
    n.false_positive_rate = take(rest, kNullFalsePositiveRate).value_or(NAN);
    n.owned_empirically = take(rest, kOwnedEmpirically).value_or(0.0) != 0.0;
    r.null_check = n;
  }
  r.figures = std::move(rest);
  return r;
}

}  // namespace signsweep::core

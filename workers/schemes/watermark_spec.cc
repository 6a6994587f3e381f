#include "workers/schemes/watermark_spec.h"

#include <cmath>

#include <fmt/format.h>

#include "common/config.h"
#include "common/secret.h"

namespace signsweep::workers {

const char* to_string(FlattenOrder o) { return o == FlattenOrder::kNhwc ? "nhwc" : "nchw"; }

std::optional<FlattenOrder> flatten_order_from_string(const std::string& name) {
  for (const FlattenOrder o : {FlattenOrder::kNhwc, FlattenOrder::kNchw})
    if (name == to_string(o)) return o;
  return std::nullopt;
}

WatermarkSpec parse_watermark_spec(const common::ConfigNode& node) {
  WatermarkSpec s;
  s.enabled = true;
  s.scheme = *core::scheme_kind_from_string(
      node.get_choice("scheme", core::scheme_names(), core::to_string(SchemeKind::kGradSigns)));
  s.bits = node.get<int64_t>("bits", s.bits);
  node.require(s.bits >= 1 && s.bits <= 4096, "bits", "must be in [1, 4096]");
  s.seed_given = node.has("seed");  // absent: not resolved into the config (a sweep derives it, unpublished)
  if (s.seed_given) s.seed = node.get<uint64_t>("seed");
  const common::ConfigNode verify = node.child_or_empty("verify");
  s.significance = verify.get<double>("significance", s.significance);
  verify.require(s.significance > 0.0 && s.significance < 1.0, "significance", "must be in (0, 1)");
  if (s.scheme == SchemeKind::kUchida) {  // GradSigns-only keys stay unread: check_all_keys_used reports them
    s.layer = node.get<std::string>("layer", "");
    s.lambda = node.get<double>("lambda", 0.01);
    node.require(s.lambda >= 0.0, "lambda", "must be >= 0");
    s.remote_images = 0;
    return s;
  }
  s.carriers = node.get<int64_t>("carriers", s.carriers);
  node.require(s.carriers >= 1, "carriers", "must be >= 1");
  s.lambda = node.get<double>("lambda", s.lambda);
  node.require(s.lambda >= 0.0, "lambda", "must be >= 0");
  s.target_class = node.get<int64_t>("target_class", s.target_class);
  node.require(s.target_class >= 0, "target_class", "must be >= 0");
  s.order = *flatten_order_from_string(node.get_choice("flatten", {"nhwc", "nchw"}, "nhwc"));
  s.target_per_batch = node.get<int64_t>("target_per_batch", s.target_per_batch);
  node.require(s.target_per_batch >= 1, "target_per_batch", "must be >= 1");
  s.verify_images = verify.get<int64_t>("images", s.verify_images);
  verify.require(s.verify_images >= 1, "images", "must be >= 1");
  s.verify_repeats = verify.get<int64_t>("repeats", s.verify_repeats);
  verify.require(s.verify_repeats >= 1, "repeats", "must be >= 1");
  s.remote_images = verify.get<int64_t>("remote_images", s.remote_images);
  verify.require(s.remote_images >= 0, "remote_images", "must be >= 0 (0 = no remote verification)");
  s.remote_h = verify.get<std::vector<double>>("h", s.remote_h);
  for (const double h : s.remote_h) verify.require(h > 0.0 && h < 10.0, "h", "every step must be in (0, 10)");
  s.remote_float64 = verify.get<bool>("remote_float64", s.remote_float64);
  return s;
}

uint64_t derived_watermark_seed(const std::string& store_secret, uint64_t trainer_seed, const WatermarkSpec& spec) {
  const std::string shaping =
      fmt::format("watermark secrets v2|trainer.seed={}|scheme={}|bits={}|carriers={}|target_class={}|flatten={}|layer={}",
                  trainer_seed, core::to_string(spec.scheme), spec.bits, spec.carriers,
                  spec.target_class, to_string(spec.order), spec.layer);
  return common::keyed_seed(store_secret, shaping);
}

std::optional<std::string> unreachable_verdict_warning(const WatermarkSpec& spec) {
  const double best_p = std::ldexp(1.0, -static_cast<int>(spec.bits));  // every bit matched
  if (best_p <= spec.significance) return std::nullopt;
  return fmt::format(
      "watermark.bits = {} can never be judged owned at verify.significance = {:g}: even a perfect reading has "
      "p = 2^-{} = {:.2g}; use at least {} bits or a larger significance",
      spec.bits, spec.significance, spec.bits, best_p, static_cast<int64_t>(std::ceil(-std::log2(spec.significance))));
}

}  // namespace signsweep::workers

#include "workers/watermarks/scheme_factory.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/errors.h"
#include "workers/gradsigns/gradsigns.h"
#include "workers/schemes/uchida.h"

namespace signsweep::workers {

std::unique_ptr<WatermarkScheme> make_scheme(const WatermarkSpec& spec, ClassifierImpl& model, const ImageShape& shape,
                                             int64_t num_classes) {
  if (spec.scheme == SchemeKind::kUchida) {
    const std::string layer = spec.layer.empty() ? default_uchida_layer(model) : spec.layer;
    return std::make_unique<Uchida>(generate_uchida_secrets(spec.bits, uchida_layer_size(model, layer), layer, spec.seed),
                                    model, spec.lambda);
  }
  return std::make_unique<GradSigns>(
      generate_secrets(spec.bits, spec.carriers, spec.target_class, shape, num_classes, spec.order, spec.seed), shape,
      spec.lambda, model.device());
}

std::unique_ptr<WatermarkScheme> scheme_from_record(const storage::WatermarkRecord& r, ClassifierImpl& model,
                                                    const ImageShape& shape, int64_t num_classes, const std::string& origin) {
  const std::optional<SchemeKind> kind = core::scheme_kind_from_string(r.scheme);
  if (!kind)
    throw DataError(fmt::format("{}: /watermark scheme = '{}' is not a known scheme ({})", origin, r.scheme,
                                fmt::join(core::scheme_names(), ", ")));
  if (*kind == SchemeKind::kUchida) {
    try {
      return std::make_unique<Uchida>(UchidaSecrets{r.signature, r.key, r.layer, r.seed}, model, r.lambda);
    } catch (const std::exception& e) {
      throw DataError(fmt::format("{}: /watermark: {}", origin, e.what()));
    }
  }
  WatermarkSecrets s;
  s.signature = r.signature;
  s.carriers = r.carriers;
  s.key = r.key;
  s.target_class = r.target_class;
  const std::optional<FlattenOrder> order = flatten_order_from_string(r.flatten);
  if (!order) throw DataError(fmt::format("{}: /watermark flatten = '{}' is neither nhwc nor nchw", origin, r.flatten));
  s.order = *order;
  s.seed = r.seed;
  validate_secrets(s, shape, num_classes, origin);
  return std::make_unique<GradSigns>(std::move(s), shape, r.lambda, model.device());
}

}  // namespace signsweep::workers

// The one place that maps a scheme name to its implementation: new secrets from a `watermark:` section,
// or the recorded secrets of a checkpoint. Adding a scheme = one file + one branch in each function here.
#pragma once

#include <memory>
#include <string>

#include "workers/schemes/watermark_spec.h"
#include "workers/schemes/scheme.h"

namespace signsweep::workers {

// New secrets from the spec's seed, sized for `model` and the data (throws ConfigError on sizes that do
// not fit, e.g. more carriers than input values or a target class beyond the classes).
std::unique_ptr<WatermarkScheme> make_scheme(const WatermarkSpec& spec, ClassifierImpl& model, const ImageShape& shape,
                                             int64_t num_classes);

// The scheme recorded in a checkpoint, validated against the model and data shape (DataError naming `origin`).
std::unique_ptr<WatermarkScheme> scheme_from_record(const storage::WatermarkRecord& record, ClassifierImpl& model,
                                                    const ImageShape& shape, int64_t num_classes, const std::string& origin);

}  // namespace signsweep::workers

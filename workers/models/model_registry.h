// The models YAML can name (`model: {name: ...}`), each with its own keys and builder. Torch-free.
// Thread-safety: filled once by register_models (workers/registry.h: register_builtins); read-only after.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/registry.h"
#include "workers/data/image_set.h"

namespace signsweep::workers {

class ClassifierImpl;
struct ModelSpec;

struct ModelEntry {
  std::string description;
  // Reads the model's own keys into the spec.
  std::function<void(const common::ConfigNode&, ModelSpec&)> parse;
  std::function<std::shared_ptr<ClassifierImpl>(const ModelSpec&, const ImageShape&, int64_t num_classes)> build;
};

common::Registry<ModelEntry>& model_registry();
// Adds every built-in model. Idempotent.
void register_models();

}  // namespace signsweep::workers

// Fills the tables of what YAML names: data set formats (data/dataset_registry.h) and models
// (models/model_registry.h). Called once from main and from test mains: no static-initialiser registration
// (a static library silently drops those). Torch-free.
// Thread-safety: call before starting threads.
#pragma once

namespace signsweep::workers {

// Registers every built-in data set and model. Idempotent.
void register_builtins();

}  // namespace signsweep::workers

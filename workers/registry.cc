#include "workers/registry.h"

#include "workers/data/dataset_registry.h"
#include "workers/models/model_registry.h"

namespace signsweep::workers {

void register_builtins() {
  register_datasets();
  register_models();
}

}  // namespace signsweep::workers

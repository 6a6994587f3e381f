#include "workers/registry.h"

namespace signsweep::workers {

void register_datasets();  // data/dataset_registry.cc
void register_models();    // models/models.cc

Registry<DatasetEntry>& dataset_registry() {
  static Registry<DatasetEntry> r("dataset");
  return r;
}

Registry<ModelEntry>& model_registry() {
  static Registry<ModelEntry> r("model");
  return r;
}

void register_builtins() {
  register_datasets();
  register_models();
}

}  // namespace signsweep::workers

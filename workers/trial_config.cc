#include "workers/trial_config.h"

#include "common/config.h"

namespace signsweep::workers {

TrialConfig load_trial_config(const std::string& path) {
  const auto root = common::ConfigNode::load_file(path);
  TrialConfig c;
  c.file = path;
  c.dataset = parse_dataset_spec(root.child("dataset"));
  c.model = parse_model_spec(root.child("model"));
  c.trainer = parse_train_spec(root.child_or_empty("trainer"));
  root.check_all_keys_used();
  return c;
}

}  // namespace signsweep::workers

#include "workers/trial_config.h"

#include "common/config.h"

namespace signsweep::workers {

TrialConfig parse_trial_config(const common::ConfigNode& root) {
  TrialConfig c;
  c.file = root.file();
  c.yaml = root.dump();
  c.dataset = parse_dataset_spec(root.child("dataset"));
  c.model = parse_model_spec(root.child("model"));
  c.trainer = parse_train_spec(root.child_or_empty("trainer"));
  if (root.has("watermark")) c.watermark = parse_watermark_spec(root.child("watermark"));
  root.check_all_keys_used();
  return c;
}

TrialConfig load_trial_config(const std::string& path) { return parse_trial_config(common::ConfigNode::load_file(path)); }

}  // namespace signsweep::workers

#include "workers/trial_config.h"

#include "common/config.h"

namespace signsweep::workers {

TrialConfig parse_trial_config(const common::ConfigNode& root) {
  TrialConfig c;
  c.file = root.file();
  c.dataset = parse_dataset_spec(root.child("dataset"));
  c.model = parse_model_spec(root.child("model"));
  c.trainer = parse_train_spec(root.child_or_empty("trainer"));
  if (root.has("watermark")) {
    const common::ConfigNode wm = root.child("watermark");
    c.watermark = parse_watermark_spec(wm);
    if (!wm.has("seed")) {  // independent secrets per trial unless pinned
      c.watermark.seed = derived_watermark_seed(c.trainer.seed, c.watermark);
      wm.resolve("seed", common::ConfigNode::canonical(c.watermark.seed));
    }
  }
  root.check_all_keys_used();
  c.yaml = root.resolved_yaml();
  return c;
}

TrialConfig load_trial_config(const std::string& path) { return parse_trial_config(common::ConfigNode::load_file(path)); }

}  // namespace signsweep::workers

#include "workers/train/trial_config.h"

#include "common/config.h"
#include "core/vocabulary.h"

namespace signsweep::workers {
namespace {

// `watermark: {scheme: none}`: a plain model, so that one grid axis over whole watermark sections can put
// plain models beside watermarked ones. It takes no other key.
bool is_plain_section(const common::ConfigNode& wm) {
  std::vector<std::string> choices = core::scheme_names();
  choices.emplace_back(core::kPlainSchemeName);
  if (wm.get_choice("scheme", choices, core::to_string(core::SchemeKind::kGradSigns)) != core::kPlainSchemeName) return false;
  for (const std::string& key : wm.keys())
    if (key != "scheme") wm.fail(key, "a plain model (scheme: none) takes no other watermark key");
  return true;
}

}  // namespace

TrialConfig parse_trial_config(const common::ConfigNode& root) {
  TrialConfig c;
  c.file = root.file();
  c.dataset = parse_dataset_spec(root.child("dataset"));
  c.model = parse_model_spec(root.child("model"));
  c.trainer = parse_train_spec(root.child_or_empty("trainer"));
  if (root.has("watermark") && is_plain_section(root.child("watermark"))) {
    root.drop_resolved("watermark");  // a plain model is one trial however it is spelt
  } else if (root.has("watermark")) {
    const common::ConfigNode wm = root.child("watermark");
    // Without watermark.seed the resolved config holds no seed: a sweep derives it from its store's secret
    // when the trial runs (with_watermark_seed), `train` draws one from the OS.
    c.watermark = parse_watermark_spec(wm);
  }
  root.check_all_keys_used();
  c.yaml = root.resolved_yaml();
  return c;
}

TrialConfig load_trial_config(const std::string& path) { return parse_trial_config(common::ConfigNode::load_file(path)); }

}  // namespace signsweep::workers

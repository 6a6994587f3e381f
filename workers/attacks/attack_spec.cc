#include "workers/attacks/attack_spec.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "common/config.h"
#include "common/errors.h"

namespace signsweep::workers {
namespace {

void parse_training(const common::ConfigNode& node, AttackSpec& s) {
  s.data.images_per_class = node.get<int64_t>("images_per_class", s.data.images_per_class);
  node.require(s.data.images_per_class >= 2, "images_per_class", "must be >= 2 (split into fine-tune and validation)");
  s.data.fine_tune_fraction = node.get<double>("fine_tune_fraction", s.data.fine_tune_fraction);
  node.require(s.data.fine_tune_fraction > 0.0 && s.data.fine_tune_fraction < 1.0, "fine_tune_fraction", "must be in (0, 1)");
  FineTuneSpec& f = s.fine_tune;
  f.optimizer = node.get_choice("optimizer", {"adam", "sgd"}, "adam") == "sgd" ? OptimizerKind::kSgd : OptimizerKind::kAdam;
  f.lr = node.get<double>("lr", f.lr);
  node.require(f.lr > 0.0 && f.lr < 10.0, "lr", "must be in (0, 10)");
  f.epochs = node.get<int64_t>("epochs", f.epochs);
  node.require(f.epochs >= 1, "epochs", "must be >= 1");
  f.batch_size = node.get<int64_t>("batch_size", f.batch_size);
  node.require(f.batch_size >= 1, "batch_size", "must be >= 1");
  f.patience = node.get<int64_t>("patience", f.patience);
  node.require(f.patience >= 0, "patience", "must be >= 0 (0 = no early stopping)");
}

void parse_api_steps(const common::ConfigNode& node, AttackSpec& s) {
  s.h = node.get<std::vector<double>>("h", s.h);
  for (const double h : s.h) node.require(h > 0.0 && h < 10.0, "h", "every step must be in (0, 10)");
}

void parse_trials(const common::ConfigNode& node, AttackSpec& s, int64_t fallback) {
  s.trials = node.get<int64_t>("trials", fallback);
  node.require(s.trials >= 1, "trials", "must be >= 1");
}

void parse_kind_specific(const common::ConfigNode& node, AttackSpec& s) {
  switch (s.kind) {
    case AttackKind::kFtll: case AttackKind::kFtal: case AttackKind::kRtll: case AttackKind::kRtal:
      break;
    case AttackKind::kPrune: case AttackKind::kPruneLayerwise:
      s.rate = node.get<double>("rate");
      node.require(s.rate >= 0.0 && s.rate < 1.0, "rate", "must be in [0, 1)");
      break;
    case AttackKind::kQuantize:
      s.bits = node.get<int64_t>("bits", s.bits);
      node.require(s.bits >= 2 && s.bits <= 32, "bits", "must be in [2, 32]");
      s.quantize_variant = node.get_choice("variant", {"reference", "weights"}, "reference") == "weights"
                               ? QuantizeVariant::kWeights
                               : QuantizeVariant::kReference;
      break;
    case AttackKind::kNoise:
      s.sigma = node.get<double>("sigma");
      node.require(s.sigma >= 0.0 && s.sigma <= 1.0, "sigma", "must be in [0, 1] (pixel space)");
      parse_trials(node, s, 20);
      parse_api_steps(node, s);
      break;
    case AttackKind::kScoreRounding:
      s.decimals = node.get<int64_t>("decimals");
      node.require(s.decimals >= 0 && s.decimals <= 15, "decimals", "must be in [0, 15]");
      parse_api_steps(node, s);
      break;
    case AttackKind::kScorePerturbation:
      parse_trials(node, s, 50);
      parse_api_steps(node, s);
      break;
    case AttackKind::kOverwrite:
      s.bits = node.get<int64_t>("bits", 0);
      node.require(s.bits >= 0 && s.bits <= 4096, "bits", "must be in [1, 4096] (0 = the owner's length)");
      s.carriers = node.get<int64_t>("carriers", 0);
      node.require(s.carriers >= 0, "carriers", "must be >= 1 (0 = the owner's count)");
      s.lambda = node.get<double>("lambda", -1.0);
      if (node.has("target_class")) {
        s.target_class = node.get<int64_t>("target_class");
        node.require(*s.target_class >= 0, "target_class", "must be >= 0");
      }
      s.watermark_seed_given = node.has("watermark_seed");  // absent: not resolved (a sweep derives one, unpublished)
      if (s.watermark_seed_given) s.watermark_seed = node.get<uint64_t>("watermark_seed");
      break;
    case AttackKind::kDistill:
      s.temperature = node.get<double>("temperature", s.temperature);
      node.require(s.temperature > 0.0 && s.temperature <= 100.0, "temperature", "must be in (0, 100]");
      if (node.has("surrogate")) s.surrogate = parse_model_spec(node.child("surrogate"));
      break;
  }
}

}  // namespace

const char* to_string(QuantizeVariant v) { return v == QuantizeVariant::kWeights ? "weights" : "reference"; }

bool AttackSpec::trains() const {
  return kind != AttackKind::kQuantize && !uses_api();
}

bool AttackSpec::uses_api() const {
  return kind == AttackKind::kNoise || kind == AttackKind::kScoreRounding || kind == AttackKind::kScorePerturbation;
}

AttackSpec parse_attack_spec(const common::ConfigNode& node) {
  AttackSpec s;
  const std::string name = node.get_choice("attack", attack_names(), "");
  s.kind = *core::attack_kind_from_string(name);
  s.seed = node.get<uint64_t>("seed", s.seed);
  if (s.trains()) parse_training(node, s);
  parse_kind_specific(node, s);
  node.check_all_keys_used();
  s.yaml = node.resolved_yaml();
  return s;
}

AttackSpec attack_spec_from_cli(const std::string& name, const std::string& config_file,
                                const std::vector<std::string>& settings) {
  YAML::Node root(YAML::NodeType::Map);
  std::string origin = "--set";
  if (!config_file.empty()) {
    if (settings.empty() && name.empty()) return parse_attack_spec(common::ConfigNode::load_file(config_file));
    common::ConfigNode::load_file(config_file);  // syntax and duplicate keys, with the file's positions
    root = YAML::LoadFile(config_file);
    origin = config_file + " with --set";
  }
  if (!name.empty()) root["attack"] = name;
  for (const std::string& setting : settings) {
    const size_t eq = setting.find('=');
    if (eq == std::string::npos || eq == 0)
      throw ConfigError(fmt::format("--set '{}': expected key=value (e.g. --set rate=0.5)", setting));
    try {
      root[setting.substr(0, eq)] = YAML::Load(setting.substr(eq + 1));
    } catch (const YAML::Exception& e) {
      throw ConfigError(fmt::format("--set '{}': the value is not valid YAML: {}", setting, e.msg));
    }
  }
  if (!root["attack"]) throw ConfigError("no attack given: use --attack NAME (one of " + fmt::format("{}", fmt::join(attack_names(), ", ")) + ")");
  YAML::Emitter out;
  out << root;
  return parse_attack_spec(common::ConfigNode::load_string(out.c_str(), origin));
}

}  // namespace signsweep::workers

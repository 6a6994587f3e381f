#include "workers/train/train_spec.h"

#include <algorithm>

#include "common/config.h"
#include "workers/device/device.h"

namespace signsweep::workers {

const char* to_string(OptimizerKind k) { return k == OptimizerKind::kAdam ? "adam" : "sgd"; }

double scheduled_lr(const TrainSpec& spec, int64_t epoch) {
  double factor = 1.0;
  for (const auto& [after, f] : spec.lr_steps)
    if (epoch > after) factor = f;
  return spec.lr * factor;
}

namespace {

std::vector<std::pair<int64_t, double>> parse_lr_schedule(const common::ConfigNode& node) {
  if (!node.has("lr_schedule")) return {};
  // Either the word `reference` or a list of [epoch, factor] pairs.
  if (!node.is_sequence("lr_schedule")) {
    node.require(node.get<std::string>("lr_schedule") == "reference", "lr_schedule",
                 "expected `reference` or a list of [epoch, factor] pairs");
    const std::vector<std::pair<int64_t, double>> reference{{80, 0.1}, {120, 0.01}, {160, 1e-3}, {180, 5e-4}};
    YAML::Node pairs(YAML::NodeType::Sequence);
    for (const auto& [epoch, factor] : reference) {
      YAML::Node pair(YAML::NodeType::Sequence);
      pair.push_back(common::ConfigNode::canonical(epoch));
      pair.push_back(common::ConfigNode::canonical(factor));
      pairs.push_back(pair);
    }
    node.resolve("lr_schedule", pairs);  // one resolved form: `reference` is these pairs
    return reference;
  }
  std::vector<std::pair<int64_t, double>> steps;
  for (const auto& pair : node.get<std::vector<std::vector<double>>>("lr_schedule")) {
    node.require(pair.size() == 2 && pair[0] >= 0 && pair[1] > 0, "lr_schedule", "each entry must be [epoch >= 0, factor > 0]");
    steps.emplace_back(static_cast<int64_t>(pair[0]), pair[1]);
  }
  node.require(std::is_sorted(steps.begin(), steps.end()), "lr_schedule", "epochs must be increasing");
  return steps;
}

// `select_best: true`, or a mapping with the validation split's sizes (and optionally `enabled`).
void parse_selection(const common::ConfigNode& node, TrainSpec& s) {
  // One resolved form: {enabled, target_images, other_images}, the sizes only when enabled.
  YAML::Node resolved(YAML::NodeType::Map);
  if (node.has("select_best") && !node.is_mapping("select_best")) {
    s.select_best = node.get<bool>("select_best");
  } else {
    const common::ConfigNode select = node.child_or_empty("select_best");
    s.select_best = select.get<bool>("enabled", node.has("select_best"));
    s.validation_target = select.get<int64_t>("target_images", s.validation_target);
    select.require(s.validation_target >= 1, "target_images", "must be >= 1");
    s.validation_others = select.get<int64_t>("other_images", s.validation_others);
    select.require(s.validation_others >= 0, "other_images", "must be >= 0");
  }
  resolved["enabled"] = common::ConfigNode::canonical(s.select_best);
  if (s.select_best) {
    resolved["target_images"] = common::ConfigNode::canonical(s.validation_target);
    resolved["other_images"] = common::ConfigNode::canonical(s.validation_others);
  }
  node.resolve("select_best", resolved);
}

}  // namespace

TrainSpec parse_train_spec(const common::ConfigNode& node) {
  TrainSpec s;
  s.optimizer = node.get_choice("optimizer", {"adam", "sgd"}, "adam") == "sgd" ? OptimizerKind::kSgd : OptimizerKind::kAdam;
  s.lr = node.get<double>("lr", s.lr);
  node.require(s.lr > 0.0 && s.lr < 10.0, "lr", "must be in (0, 10)");
  s.momentum = node.get<double>("momentum", s.momentum);
  node.require(s.momentum >= 0.0 && s.momentum < 1.0, "momentum", "must be in [0, 1)");
  s.nesterov = node.get<bool>("nesterov", s.nesterov);
  if (s.optimizer != OptimizerKind::kSgd)
    for (const char* key : {"momentum", "nesterov"}) node.drop_resolved(key);
  s.weight_decay = node.get<double>("weight_decay", s.weight_decay);
  node.require(s.weight_decay >= 0.0, "weight_decay", "must be >= 0");
  s.lr_steps = parse_lr_schedule(node);
  const common::ConfigNode plateau = node.child_or_empty("reduce_on_plateau");
  s.plateau_patience = plateau.get<int64_t>("patience", s.plateau_patience);
  plateau.require(s.plateau_patience >= 0, "patience", "must be >= 0 (0 = off)");
  s.plateau_factor = plateau.get<double>("factor", s.plateau_factor);
  plateau.require(s.plateau_factor > 0.0 && s.plateau_factor < 1.0, "factor", "must be in (0, 1)");
  s.min_lr = plateau.get<double>("min_lr", s.min_lr);
  if (s.plateau_patience == 0) plateau.drop_resolved("factor");  // off: its factor does not matter (min_lr floors the schedule too)
  s.epochs = node.get<int64_t>("epochs", s.epochs);
  node.require(s.epochs >= 1, "epochs", "must be >= 1");
  s.steps_per_epoch = node.get<int64_t>("steps_per_epoch", s.steps_per_epoch);
  node.require(s.steps_per_epoch >= 0, "steps_per_epoch", "must be >= 0 (0 = one pass over the data)");
  s.batch_size = node.get<int64_t>("batch_size", s.batch_size);
  node.require(s.batch_size >= 1, "batch_size", "must be >= 1");
  s.eval_batch_size = node.get<int64_t>("eval_batch_size", s.eval_batch_size);
  node.require(s.eval_batch_size >= 1, "eval_batch_size", "must be >= 1");
  s.seed = node.get<uint64_t>("seed", s.seed);
  const std::string format = node.get_choice("memory_format", {"auto", "nchw", "channels_last"}, "auto");
  s.memory_format = format == "nchw"            ? MemoryFormat::kNchw
                    : format == "channels_last" ? MemoryFormat::kChannelsLast
                                                : MemoryFormat::kAuto;
  s.device = node.get<std::string>("device", s.device);
  node.require(is_device_name(s.device), "device", "must be auto, cpu, cuda or cuda:N");
  node.drop_resolved("device");  // where a model trains is not what it is: not part of the resolved config
  s.threads = node.get<int>("threads", s.threads);
  node.require(s.threads >= 0 && s.threads <= 1024, "threads", "must be in [0, 1024] (0 = every core)");
  parse_selection(node, s);
  const common::ConfigNode every = node.child_or_empty("checkpoint_every");
  s.state_every_epochs = every.get<int64_t>("epochs", s.state_every_epochs);
  every.require(s.state_every_epochs >= 0, "epochs", "must be >= 0 (0 = not by epochs)");
  s.state_every_minutes = every.get<double>("minutes", s.state_every_minutes);
  every.require(s.state_every_minutes >= 0.0, "minutes", "must be >= 0 (0 = not by time)");
  node.drop_resolved("checkpoint_every");  // when the state is saved changes no result
  return s;
}

}  // namespace signsweep::workers

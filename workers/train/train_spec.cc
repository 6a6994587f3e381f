#include "workers/train/train_spec.h"

#include "common/config.h"

namespace signsweep::workers {

const char* to_string(OptimizerKind k) { return k == OptimizerKind::kAdam ? "adam" : "sgd"; }

TrainSpec parse_train_spec(const common::ConfigNode& node) {
  TrainSpec s;
  s.optimizer = node.get_choice("optimizer", {"adam", "sgd"}, "adam") == "sgd" ? OptimizerKind::kSgd : OptimizerKind::kAdam;
  s.lr = node.get<double>("lr", s.lr);
  node.require(s.lr > 0.0 && s.lr < 10.0, "lr", "must be in (0, 10)");
  s.momentum = node.get<double>("momentum", s.momentum);
  node.require(s.momentum >= 0.0 && s.momentum < 1.0, "momentum", "must be in [0, 1)");
  s.nesterov = node.get<bool>("nesterov", s.nesterov);
  s.weight_decay = node.get<double>("weight_decay", s.weight_decay);
  node.require(s.weight_decay >= 0.0, "weight_decay", "must be >= 0");
  s.epochs = node.get<int64_t>("epochs", s.epochs);
  node.require(s.epochs >= 1, "epochs", "must be >= 1");
  s.steps_per_epoch = node.get<int64_t>("steps_per_epoch", s.steps_per_epoch);
  node.require(s.steps_per_epoch >= 0, "steps_per_epoch", "must be >= 0 (0 = one pass over the data)");
  s.batch_size = node.get<int64_t>("batch_size", s.batch_size);
  node.require(s.batch_size >= 1, "batch_size", "must be >= 1");
  s.eval_batch_size = node.get<int64_t>("eval_batch_size", s.eval_batch_size);
  node.require(s.eval_batch_size >= 1, "eval_batch_size", "must be >= 1");
  s.seed = node.get<uint64_t>("seed", s.seed);
  s.threads = node.get<int>("threads", s.threads);
  node.require(s.threads >= 0 && s.threads <= 1024, "threads", "must be in [0, 1024] (0 = every core)");
  return s;
}

}  // namespace signsweep::workers

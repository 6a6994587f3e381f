// One model at a time: `train`, `verify`, `import`, `data`, `list`.
#include "orchestrator/commands.h"

#include <filesystem>
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/config.h"
#include "common/errors.h"
#include "common/secret.h"
#include "workers/data/dataset_registry.h"
#include "workers/device/device.h"
#include "workers/models/model_registry.h"
#include "workers/schemes/watermark_spec.h"
#include "workers/train/trial_config.h"
#include "workers/train_job.h"
#include "workers/verify_job.h"

namespace signsweep::orchestrator {
namespace {

// runs/<config file stem>.h5
std::string default_checkpoint_path(const std::string& config_path) {
  return (std::filesystem::path("runs") / std::filesystem::path(config_path).stem()).string() + ".h5";
}

}  // namespace

int cmd_train(const std::string& config_path, std::string checkpoint_path) {
  workers::TrialConfig config = workers::load_trial_config(config_path);
  if (config.watermark.enabled && !config.watermark.seed_given) {  // one model, no store: secrets from the OS
    config.watermark.seed = common::random_seed();
    config.watermark.seed_given = true;
    spdlog::info("{}: watermark secrets drawn from the OS (the checkpoint keeps them; watermark.seed pins them)", config.file);
  }
  if (checkpoint_path.empty()) checkpoint_path = default_checkpoint_path(config_path);
  if (config.watermark.enabled)
    if (const auto warning = workers::unreachable_verdict_warning(config.watermark)) spdlog::warn("{}: {}", config.file, *warning);
  workers::TrialContext context;
  context.device = workers::assign_local_device(config.trainer.device, config.file + ": trainer.device");
  const workers::TrainOutcome out = workers::train_trial(config, checkpoint_path, context);
  std::cout << fmt::format("test_accuracy {:.4f}\nparameters {}\nseconds {:.1f}\nimages_per_second {:.0f}\nbest_epoch {}\n",
                           out.test_accuracy, out.parameters, out.seconds, out.images_per_second, out.best_epoch)
            << out.verification.text() << "checkpoint " << out.checkpoint << "\n";
  return 0;
}

int cmd_verify(const std::string& checkpoint_path, workers::KerasVerifyOptions keras) {
  if (keras.model_path.empty()) {
    if (checkpoint_path.empty()) throw ConfigError("verify: give a checkpoint, or --keras with --keys and --data");
    std::cout << workers::verify_checkpoint(checkpoint_path, keras.verify).text();
    return 0;
  }
  if (!checkpoint_path.empty()) throw ConfigError("verify: give either a checkpoint or --keras, not both");
  if (keras.keys_dir.empty() || keras.data_dir.empty()) throw ConfigError("verify --keras needs --keys <dir> and --data <dir>");
  const workers::KerasVerifyReport r = workers::verify_keras_model(keras);
  std::cout << fmt::format("test_accuracy {:.4f}\ntest_images {}\n", r.test_accuracy, r.test_images)
            << r.verification.text();
  return 0;
}

int cmd_import(const workers::KerasVerifyOptions& keras, const std::string& out) {
  const workers::KerasVerifyReport r = workers::import_keras_model(keras, out);
  std::cout << fmt::format("test_accuracy {:.4f}\ntest_images {}\n", r.test_accuracy, r.test_images) << r.verification.text()
            << "checkpoint " << out << "\n";
  return 0;
}

int cmd_data(const std::string& config_path) {
  const auto root = common::ConfigNode::load_file(config_path);
  const workers::DatasetSpec spec = workers::parse_dataset_spec(root.child("dataset"));
  std::cout << workers::describe_dataset(spec).text;
  return 0;
}

int cmd_list() {
  std::cout << "datasets:\n";
  for (const auto& [name, e] : workers::dataset_registry().entries()) std::cout << fmt::format("  {:<14} {}\n", name, e.description);
  std::cout << "models:\n";
  for (const auto& [name, e] : workers::model_registry().entries()) std::cout << fmt::format("  {:<14} {}\n", name, e.description);
  return 0;
}

}  // namespace signsweep::orchestrator

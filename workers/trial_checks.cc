#include "workers/trial_checks.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/config.h"
#include "common/errors.h"

namespace signsweep::workers {
namespace {

// Images per class after a per-class subset (0 = all).
std::vector<int64_t> subset_counts(std::vector<int64_t> counts, int64_t per_class) {
  if (per_class > 0)
    for (int64_t& c : counts) c = std::min(c, per_class);
  return counts;
}

int64_t smallest(const std::vector<int64_t>& counts) {
  return counts.empty() ? 0 : *std::min_element(counts.begin(), counts.end());
}

void check_subset(const common::ConfigNode& dataset, const char* key, int64_t per_class, const std::vector<int64_t>& counts,
                  const char* split) {
  dataset.require(per_class <= smallest(counts), key,
                  fmt::format("the smallest class of the {} split holds {} images", split, smallest(counts)));
}

void check_gradsigns(const common::ConfigNode& wm, const WatermarkSpec& spec, const TrainSpec& trainer, const DataShape& data,
                     const std::vector<int64_t>& train, const std::vector<int64_t>& test) {
  const int64_t dims = data.shape.numel();
  wm.require(spec.carriers <= dims, "carriers",
             fmt::format("{} carriers: must be at most the input size {} ({})", spec.carriers, dims, to_string(data.shape)));
  wm.require(spec.target_class < data.num_classes, "target_class",
             fmt::format("target class {}: must be below the class count {}", spec.target_class, data.num_classes));
  wm.require(spec.target_per_batch < trainer.batch_size, "target_per_batch",
             fmt::format("{} target images per batch: must be below trainer.batch_size = {}", spec.target_per_batch,
                         trainer.batch_size));
  // (Verification reads min(verify.images, what the test split holds) of the target class: not an error.)
  const auto target = static_cast<size_t>(spec.target_class);
  for (const auto& [split, counts] : {std::pair<const char*, const std::vector<int64_t>&>{"training", train}, {"test", test}})
    if (counts[target] == 0)
      wm.fail("target_class", fmt::format("the {} split holds no image of class {}", split, spec.target_class));
}

void check_selection(const common::ConfigNode& trainer_node, const TrainSpec& t, int64_t target_class,
                     const std::vector<int64_t>& train) {
  if (!t.select_best) return;
  const int64_t target = train[static_cast<size_t>(target_class)];
  int64_t others = 0;
  for (size_t c = 0; c < train.size(); ++c)
    if (static_cast<int64_t>(c) != target_class) others += train[c];
  if (!trainer_node.is_mapping("select_best")) {  // `select_best: true`: the default sizes
    trainer_node.require(t.validation_target < target && t.validation_others < others, "select_best",
                         fmt::format("a validation split of {} + {} images needs more than the training split holds ({} of "
                                     "class {}, {} others)", t.validation_target, t.validation_others, target, target_class, others));
    return;
  }
  const common::ConfigNode select = trainer_node.child("select_best");
  select.require(t.validation_target < target, "target_images",
                 fmt::format("the training split holds {} images of class {}", target, target_class));
  select.require(t.validation_others < others, "other_images",
                 fmt::format("the training split holds {} images of the other classes", others));
}

}  // namespace

void check_trial_against_data(const common::ConfigNode& root, const TrialConfig& config, const DataShape& data) {
  const common::ConfigNode dataset = root.child("dataset");
  check_subset(dataset, "train_per_class", config.dataset.train_per_class, data.train_per_class, "training");
  check_subset(dataset, "test_per_class", config.dataset.test_per_class, data.test_per_class, "test");
  const std::vector<int64_t> train = subset_counts(data.train_per_class, config.dataset.train_per_class);
  const std::vector<int64_t> test = subset_counts(data.test_per_class, config.dataset.test_per_class);
  const WatermarkSpec& wm = config.watermark;
  const bool gradsigns = wm.enabled && wm.scheme == SchemeKind::kGradSigns;
  if (gradsigns) check_gradsigns(root.child("watermark"), wm, config.trainer, data, train, test);
  check_selection(root.child_or_empty("trainer"), config.trainer, gradsigns ? wm.target_class : 0, train);
}

void check_attack_against_data(const common::ConfigNode& node, const AttackSpec& spec, const TrialConfig& owner,
                               const DataShape& data) {
  const std::vector<int64_t> train = subset_counts(data.train_per_class, owner.dataset.train_per_class);
  if (spec.trains())
    node.require(spec.data.images_per_class <= smallest(train), "images_per_class",
                 fmt::format("{} images per class: the smallest class of the training split holds {}",
                             spec.data.images_per_class, smallest(train)));
  if (spec.kind != AttackKind::kOverwrite) return;
  if (spec.target_class)
    node.require(*spec.target_class < data.num_classes, "target_class",
                 fmt::format("target class {}: must be below the class count {}", *spec.target_class, data.num_classes));
  node.require(spec.carriers <= data.shape.numel(), "carriers",
               fmt::format("{} carriers: must be at most the input size {}", spec.carriers, data.shape.numel()));
}

}  // namespace signsweep::workers

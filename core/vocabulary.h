// The words every layer shares, spelt once: what a trial does (TrialKind), which watermark scheme a model
// carries (SchemeKind) and which attack a trial runs (AttackKind). Their spellings here are the ones YAML,
// the store's files (/trial attrs kind; a checkpoint's /watermark attrs scheme), messages, logs and metrics
// labels use; nothing else in the code spells them. Torch-free, MPI-free, HDF5-free (as c10 is to ATen).
// Thread-safety: plain values and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace signsweep::core {

enum class SchemeKind { kGradSigns, kUchida };
const char* to_string(SchemeKind kind);  // "gradsigns", "uchida"
std::optional<SchemeKind> scheme_kind_from_string(std::string_view name);
const std::vector<std::string>& scheme_names();  // in the order above
// `watermark: {scheme: none}` in a config: a plain model (no SchemeKind: a plain model carries none).
inline constexpr const char* kPlainSchemeName = "none";

enum class AttackKind {
  kFtll, kFtal, kRtll, kRtal,        // fine-tuning: last layer / all layers, optionally re-initialised head
  kPrune, kPruneLayerwise,           // magnitude pruning (global / per layer) + masked fine-tuning
  kQuantize,                         // to b bits: the reference's layers (BN statistics included) or kernels only
  kNoise,                            // Gaussian pattern on every input (API)
  kScoreRounding, kScorePerturbation,  // the API's answers
  kOverwrite,                        // embed the attacker's own signature on pseudo-labelled data
  kDistill,                          // surrogate trained on soft labels
};
const char* to_string(AttackKind kind);  // "ftll", ..., "distill"
std::optional<AttackKind> attack_kind_from_string(std::string_view name);
const std::vector<std::string>& attack_names();  // in the order above

// When an attack counts as a removal (the SoK of Lukas et al., S&P 2022): the verdict flips to not-owned and
// the attacked model's accuracy stays within the margin of the watermarked model's; an attack that costs more
// leaves a wrecked model, neither robust nor removed. A sweep sets it with `removal_margin:` (the stored spec
// keeps it for `report`); 0.05 is 5 points of accuracy.
inline constexpr const char* kRemovalMarginKey = "removal_margin";
inline constexpr double kDefaultRemovalMargin = 0.05;

// What a trial does.
enum class Stage {
  kEmbed,       // trains a model (watermarked, or plain in a grid)
  kNullModel,   // trains a plain model a watermark is checked against
  kCheckpoint,  // a model given to the sweep (attack_checkpoints), copied into the store
  kAttack,      // attacks its parent's model
  kNullCheck,   // reads a watermark from its model and from the null models
};

// A trial's kind: its stage and, for an attack, which one. Spelt as the stage ("embed", "null-model",
// "checkpoint", "null-check") or, for an attack, as the attack's name ("prune", ...).
struct TrialKind {
  Stage stage = Stage::kEmbed;
  AttackKind attack = AttackKind::kFtal;  // meaningful for Stage::kAttack only

  static TrialKind attack_of(AttackKind a) { return {Stage::kAttack, a}; }
  std::string name() const;
  static std::optional<TrialKind> from_string(std::string_view name);
  bool trains_model() const { return stage == Stage::kEmbed || stage == Stage::kNullModel; }
  // Leaves a model in the store (trained or copied in) that later trials read.
  bool writes_model() const { return trains_model() || stage == Stage::kCheckpoint; }
};
bool operator==(const TrialKind& a, const TrialKind& b);
inline bool operator!=(const TrialKind& a, const TrialKind& b) { return !(a == b); }

}  // namespace signsweep::core

#include "core/vocabulary.h"

#include <array>
#include <utility>

namespace signsweep::core {
namespace {

constexpr std::array<SchemeKind, 2> kSchemes{SchemeKind::kGradSigns, SchemeKind::kUchida};
constexpr std::array<AttackKind, 12> kAttacks{
    AttackKind::kFtll,  AttackKind::kFtal,          AttackKind::kRtll,           AttackKind::kRtal,
    AttackKind::kPrune, AttackKind::kPruneLayerwise, AttackKind::kQuantize,       AttackKind::kNoise,
    AttackKind::kScoreRounding, AttackKind::kScorePerturbation, AttackKind::kOverwrite, AttackKind::kDistill};
constexpr std::array<std::pair<Stage, const char*>, 4> kStageNames{{{Stage::kEmbed, "embed"},
                                                                    {Stage::kNullModel, "null-model"},
                                                                    {Stage::kCheckpoint, "checkpoint"},
                                                                    {Stage::kNullCheck, "null-check"}}};

template <typename Kind, size_t N>
std::vector<std::string> names_of(const std::array<Kind, N>& kinds) {
  std::vector<std::string> v;
  for (const Kind k : kinds) v.emplace_back(to_string(k));
  return v;
}

template <typename Kind, size_t N>
std::optional<Kind> kind_named(const std::array<Kind, N>& kinds, std::string_view name) {
  for (const Kind k : kinds)
    if (name == to_string(k)) return k;
  return std::nullopt;
}

}  // namespace

const char* to_string(SchemeKind kind) {
  switch (kind) {
    case SchemeKind::kGradSigns: return "gradsigns";
    case SchemeKind::kUchida: return "uchida";
  }
  return "?";
}

std::optional<SchemeKind> scheme_kind_from_string(std::string_view name) { return kind_named(kSchemes, name); }

const std::vector<std::string>& scheme_names() {
  static const std::vector<std::string> names = names_of(kSchemes);
  return names;
}

const char* to_string(AttackKind kind) {
  switch (kind) {
    case AttackKind::kFtll: return "ftll";
    case AttackKind::kFtal: return "ftal";
    case AttackKind::kRtll: return "rtll";
    case AttackKind::kRtal: return "rtal";
    case AttackKind::kPrune: return "prune";
    case AttackKind::kPruneLayerwise: return "prune-layerwise";
    case AttackKind::kQuantize: return "quantize";
    case AttackKind::kNoise: return "noise";
    case AttackKind::kScoreRounding: return "score-rounding";
    case AttackKind::kScorePerturbation: return "score-perturbation";
    case AttackKind::kOverwrite: return "overwrite";
    case AttackKind::kDistill: return "distill";
  }
  return "?";
}

std::optional<AttackKind> attack_kind_from_string(std::string_view name) { return kind_named(kAttacks, name); }

const std::vector<std::string>& attack_names() {
  static const std::vector<std::string> names = names_of(kAttacks);
  return names;
}

std::string TrialKind::name() const {
  if (stage == Stage::kAttack) return to_string(attack);
  for (const auto& [s, n] : kStageNames)
    if (s == stage) return n;
  return "?";
}

std::optional<TrialKind> TrialKind::from_string(std::string_view name) {
  for (const auto& [s, n] : kStageNames)
    if (name == n) return TrialKind{s};
  if (const std::optional<AttackKind> a = attack_kind_from_string(name)) return attack_of(*a);
  return std::nullopt;
}

bool operator==(const TrialKind& a, const TrialKind& b) {
  return a.stage == b.stage && (a.stage != Stage::kAttack || a.attack == b.attack);
}

}  // namespace signsweep::core

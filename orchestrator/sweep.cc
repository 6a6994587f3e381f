#include "orchestrator/sweep.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "common/config.h"
#include "common/errors.h"
#include "common/hash.h"
#include "common/limits.h"
#include "orchestrator/grid.h"
#include "storage/foreign.h"
#include "workers/data/dataset_spec.h"
#include "workers/data/sampling.h"
#include "workers/device/device.h"
#include "workers/trial_checks.h"

namespace signsweep::orchestrator {
namespace {

// Parses a config the sweep built; errors get the grid point they belong to.
template <typename Parse>
auto parse_at(const Parse& parse, const std::string& context) {
  try {
    return parse();
  } catch (const UnknownKeyError& e) {
    throw UnknownKeyError(fmt::format("{} ({})", e.what(), context), e.key());
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("{} ({})", e.what(), context));
  }
}

// Two grid points giving one trial: name the axis and its two values when they differ in one axis only.
[[noreturn]] void refuse_duplicate(const std::string& file, const std::string& id, const std::vector<Axis>& axes,
                                   const std::vector<size_t>& a, const std::vector<size_t>& b, const std::string& label_a,
                                   const std::string& label_b) {
  std::vector<size_t> differing;
  for (size_t i = 0; i < axes.size(); ++i)
    if (a[i] != b[i]) differing.push_back(i);
  if (differing.size() == 1) {
    const Axis& axis = axes[differing.front()];
    throw ConfigError(fmt::format(
        "{}: grid axis {}: the values {} and {} give the same trial {} (their resolved configs are equal, e.g. 0.3 and "
        "0.30, or a value equal to the default): remove one",
        axis.where, axis.key, flow_text(axis.values[a[differing.front()]]), flow_text(axis.values[b[differing.front()]]), id));
  }
  throw ConfigError(fmt::format("{}: the grid points '{}' and '{}' give the same trial {} (their resolved configs are "
                                "equal): remove one of them",
                                file, label_a, label_b, id));
}

// ---- data-dependent checks ----------------------------------------------------------------------------

// Each data set probed once (by its resolved section); unreadable data becomes a warning, not an error: its
// trials fail when they run, with the loader's message (a sweep may name data only the workers see).
class DataProbes {
 public:
  const workers::DataShape* get(const workers::TrialConfig& c, std::vector<std::string>& warnings) {
    const std::string key = workers::source_key(c.dataset);
    const auto it = probes_.find(key);
    if (it != probes_.end()) return it->second ? &*it->second : nullptr;
    std::optional<workers::DataShape> probe;
    try {
      probe = workers::probe_dataset(c.dataset);
    } catch (const InputError& e) {
      warnings.push_back(fmt::format("{}: the data set cannot be read here, so the ranges that depend on it (carriers, "
                                     "target class, per-class budgets) are checked when its trials run: {}",
                                     c.file, e.what()));
    }
    return probes_.emplace(key, std::move(probe)).first->second ? &*probes_.at(key) : nullptr;
  }

 private:
  std::map<std::string, std::optional<workers::DataShape>> probes_;
};

// ---- given checkpoints --------------------------------------------------------------------------------

// The trial config a checkpoint recorded (its data set and model, for the attacks' checks).
workers::TrialConfig recorded_config(const std::string& path) {
  const storage::Checkpoint c = storage::load_foreign_checkpoint(path);
  if (!c.has_watermark) throw DataError(fmt::format("{}: carries no watermark: attack_checkpoints takes watermarked models", path));
  return workers::parse_trial_config(common::ConfigNode::load_string(c.config_yaml, path + ":/config"));
}

// ---- the expansion ------------------------------------------------------------------------------------

struct AttackEntry {
  YAML::Node base;
  std::vector<Axis> grid;
  std::string where;
};

struct NullModels {
  int64_t count = 0;
  uint64_t first_seed = 10000;
};

class Expansion {
 public:
  Expansion(Sweep& sweep, const std::string& file) : sweep_(sweep), file_(file) {}

  // One embed trial per grid point, each followed by its attacks.
  void add_grid(const YAML::Node& base, const std::vector<Axis>& grid, const std::vector<AttackEntry>& attacks) {
    std::map<std::string, std::pair<std::vector<size_t>, std::string>> seen;  // id -> its grid point
    for (const auto& choice : grid_points(grid)) {
      auto [p, embed] = with_positions_on_error([&](bool positions) {
        Point point = apply_point(base, grid, choice, positions);
        const std::string context = fmt::format("grid point {}", point.label);
        const YAML::Node trainer = point.tree["trainer"];  // an invalid node when absent: IsDefined() first
        if (trainer.IsDefined() && trainer.IsMap() && trainer["device"])
          throw ConfigError(fmt::format("{}: trainer.device is a setting of the run in a sweep, not of a trial: use the "
                                        "top-level key device: (auto, cpu, cuda or cuda:N) ({})",
                                        position(file_, trainer["device"]), context));
        SweepTrial trial = training_trial_of_point(point, grid, context);
        return std::make_pair(std::move(point), std::move(trial));
      });
      embed.planned.label = p.label;
      const auto [it, fresh] = seen.emplace(embed.planned.id, std::make_pair(choice, p.label));
      if (!fresh) refuse_duplicate(file_, embed.planned.id, grid, it->second.first, choice, it->second.second, p.label);
      if (const auto warning = workers::unreachable_verdict_warning(embed.config.watermark); warning && embed.config.watermark.enabled)
        warn(*warning);
      const size_t index = sweep_.trials.size();
      const bool watermarked = embed.config.watermark.enabled;
      sweep_.trials.push_back(std::move(embed));
      if (watermarked) add_attacks(index, attacks);  // a plain grid point ({scheme: none}) has nothing to remove
      if (embed_trees_.emplace(sweep_.trials[index].planned.id, p.tree).second) embed_order_.push_back(index);
    }
  }

  // One trial per given checkpoint (copied into the store when it runs), each followed by its attacks. A
  // checkpoint readable here has its recorded config checked against the attacks and its content hash
  // recorded; one that is not (made on another machine, or by an earlier step) is a warning.
  void add_checkpoints(const std::vector<std::string>& paths, const std::vector<AttackEntry>& attacks, const common::ConfigNode& root) {
    std::set<std::string> seen;
    for (const std::string& path : paths) {
      if (!seen.insert(path).second) root.fail("attack_checkpoints", fmt::format("lists {} twice", path));
      SweepTrial t;
      t.planned.kind = core::TrialKind{core::Stage::kCheckpoint};
      t.planned.id = common::content_hash(t.planned.kind.name() + "\n" + path);
      t.planned.label = "checkpoint " + path;
      t.planned.axes["checkpoint"] = std::filesystem::path(path).stem().string();
      t.planned.config_yaml = fmt::format("checkpoint: {}\n", path);
      if (std::filesystem::exists(path)) {
        t.planned.config_yaml += fmt::format("content_hash: {}\n", common::sha256_hex(common::read_file_bytes(path)));
        t.config = recorded_config(path);
      } else {
        warn(fmt::format("{}: attack_checkpoints: {} not found here: its attacks run once it exists where the run runs",
                         file_, path));
      }
      const size_t index = sweep_.trials.size();
      sweep_.trials.push_back(std::move(t));
      add_attacks(index, attacks);
    }
  }

  // K plain models (own seeds) per distinct plain recipe of the watermarked models, then one null check per
  // watermarked model.
  void add_null_models(const NullModels& nulls, const common::ConfigNode& node) {
    if (nulls.count == 0) return;
    std::set<uint64_t> grid_seeds;
    for (const size_t i : embed_order_) grid_seeds.insert(sweep_.trials[i].config.trainer.seed);
    const uint64_t last = nulls.first_seed + static_cast<uint64_t>(nulls.count) - 1;
    for (const uint64_t s : grid_seeds)
      if (s >= nulls.first_seed && s <= last)
        node.fail("first_seed", fmt::format("the null models' seeds {}..{} include trainer.seed {} of a grid point: a null "
                                            "model must not share a watermarked model's seed", nulls.first_seed, last, s));
    std::map<std::string, size_t> null_index;  // id -> trial index (recipes shared by several watermarks)
    std::vector<std::pair<size_t, std::vector<std::string>>> checks;
    for (const size_t i : embed_order_) {
      const SweepTrial owner = sweep_.trials[i];  // a copy: adding trials below moves the vector
      if (!owner.config.watermark.enabled) continue;
      std::vector<std::string> ids;
      for (int64_t k = 0; k < nulls.count; ++k) {
        const uint64_t seed = nulls.first_seed + static_cast<uint64_t>(k);
        YAML::Node tree = shallow_copy(embed_trees_.at(owner.planned.id));
        tree.remove("watermark");
        set_dotted(tree, "trainer.seed", common::ConfigNode::canonical(seed));
        SweepTrial null = training_trial(tree, core::Stage::kNullModel, fmt::format("null model {} of {}", k + 1, owner.planned.label));
        ids.push_back(null.planned.id);
        if (null_index.count(null.planned.id)) continue;
        null.planned.label = fmt::format("null model seed={}", seed);
        for (const auto& [axis, value] : owner.planned.axes)  // its recipe's axes, for reports to match it by
          if (axis.rfind("watermark", 0) != 0) null.planned.axes[axis] = value;
        null.planned.axes["trainer.seed"] = std::to_string(seed);
        null_index[null.planned.id] = sweep_.trials.size();
        sweep_.trials.push_back(std::move(null));
      }
      checks.emplace_back(i, std::move(ids));
    }
    for (auto& [owner_index, ids] : checks) add_null_check(sweep_.trials[owner_index], ids);
  }

  // A grid point's trial, built from a deep copy of its nodes (apply_point without positions: fast), and when
  // that fails, built again from the file's own nodes, so the error names the value's line and column.
  template <typename Build>
  static auto with_positions_on_error(Build build) -> decltype(build(false)) {
    try {
      return build(false);
    } catch (const ConfigError&) {
      return build(true);  // throws the same error, positioned
    }
  }

  void warn(const std::string& message) {
    if (std::find(sweep_.warnings.begin(), sweep_.warnings.end(), message) == sweep_.warnings.end())
      sweep_.warnings.push_back(message);
  }

 private:
  // An unknown key that a grid axis put there is reported at the axis (its key has no place in the file).
  SweepTrial training_trial_of_point(const Point& p, const std::vector<Axis>& grid, const std::string& context) {
    try {
      YAML::Node resolved;
      SweepTrial t = training_trial(p.tree, core::Stage::kEmbed, context, &resolved);
      t.planned.axes = resolved_axes(resolved, grid, p);
      return t;
    } catch (const UnknownKeyError& e) {
      for (const Axis& axis : grid)
        if (e.key() == axis.key || e.key().rfind(axis.key + ".", 0) == 0)
          throw ConfigError(fmt::format("{}: grid axis {}: unknown key '{}' ({})", axis.where, axis.key, e.key(), context));
      throw;
    }
  }

  // With `resolved`, it gets the resolved config's tree too (for the grid's axes: reading them from it is
  // cheaper than loading the resolved YAML again).
  SweepTrial training_trial(const YAML::Node& tree, core::Stage stage, const std::string& context,
                            YAML::Node* resolved = nullptr) {
    SweepTrial t;
    const common::ConfigNode root = common::ConfigNode::from_node(tree, file_);
    t.config = parse_at([&] { return workers::parse_trial_config(root); }, context);
    if (resolved != nullptr) *resolved = root.resolved_tree();
    t.config.file = fmt::format("{} ({})", file_, context);
    if (const workers::DataShape* data = probes_.get(t.config, sweep_.warnings))
      parse_at([&] { workers::check_trial_against_data(root, t.config, *data); return 0; }, context);
    t.planned.id = common::content_hash(t.config.yaml);
    t.planned.kind = core::TrialKind{stage};
    t.planned.config_yaml = t.config.yaml;
    return t;
  }

  void add_attacks(size_t parent_index, const std::vector<AttackEntry>& attacks) {
    std::map<std::string, std::string> seen;  // id -> where it came from
    for (const AttackEntry& e : attacks) {
      for (const auto& choice : grid_points(e.grid)) {
        const SweepTrial& parent = sweep_.trials[parent_index];
        auto [ap, t] = with_positions_on_error([&](bool positions) {
          Point point = apply_point(e.base, e.grid, choice, positions);
          // The attacker's randomness (its data draw, noise patterns, surrogate init) follows the model's seed
          // unless the attack pins one, so rows pooled over seeds include the attacker's draw in their spread.
          if (!point.tree["seed"] && parent.planned.kind.stage == core::Stage::kEmbed)
            point.tree["seed"] = common::ConfigNode::canonical(parent.config.trainer.seed);
          const std::string context = fmt::format("attack at {}{}, grid point {}", e.where,
                                                  point.label == "base" ? "" : " " + point.label, parent.planned.label);
          const common::ConfigNode node = common::ConfigNode::from_node(point.tree, file_);
          SweepTrial trial;
          trial.attack = parse_at([&] { return workers::parse_attack_spec(node); }, context);
          const bool parent_known = !parent.config.dataset.name.empty();  // a given checkpoint may be unreadable here
          if (const workers::DataShape* data = parent_known ? probes_.get(parent.config, sweep_.warnings) : nullptr)
            parse_at([&] { workers::check_attack_against_data(node, trial.attack, parent.config, *data); return 0; }, context);
          return std::make_pair(std::move(point), std::move(trial));
        });
        t.planned.kind = core::TrialKind::attack_of(t.attack.kind);
        const std::string kind = t.planned.kind.name();
        t.planned.id = common::content_hash(parent.planned.id + "\n" + t.attack.yaml);
        t.planned.label = fmt::format("{} | {}{}", parent.planned.label, kind, ap.label == "base" ? "" : " " + ap.label);
        t.planned.parent = parent.planned.id;
        t.planned.needs = {parent.planned.id};
        t.planned.axes = parent.planned.axes;
        // An attack axis resolves the same under every model (the model only adds a seed, never to an axis
        // given): resolved once per attack grid point, not once per trial (it parses the resolved YAML).
        auto axes = attack_axes_.find({&e, choice});
        if (axes == attack_axes_.end()) axes = attack_axes_.emplace(std::make_pair(&e, choice), resolved_axes(YAML::Load(t.attack.yaml), e.grid, ap)).first;
        for (const auto& [k, v] : axes->second) t.planned.axes["attack." + k] = v;
        t.planned.axes["attack"] = kind;
        t.planned.config_yaml = t.attack.yaml;
        const std::string where = fmt::format("{}{}", e.where, ap.label == "base" ? "" : " (" + ap.label + ")");
        const auto [it, fresh] = seen.emplace(t.planned.id, where);
        if (!fresh)
          throw ConfigError(fmt::format("{}: the attacks at {} and {} give the same trial {} (their resolved configs are "
                                        "equal, e.g. 0.3 and 0.30, or a value equal to the default): remove one",
                                        file_, it->second, where, t.planned.id));
        sweep_.trials.push_back(std::move(t));
      }
    }
  }

  void add_null_check(const SweepTrial& owner, const std::vector<std::string>& null_ids) {
    SweepTrial t;
    t.planned.kind = core::TrialKind{core::Stage::kNullCheck};
    t.planned.config_yaml = fmt::format("null_models: [{}]\n", fmt::join(null_ids, ", "));
    t.planned.id = common::content_hash(owner.planned.id + "\n" + t.planned.kind.name() + "\n" + t.planned.config_yaml);
    t.planned.label = fmt::format("{} | null-check ({} models)", owner.planned.label, null_ids.size());
    t.planned.parent = owner.planned.id;
    t.planned.needs = {owner.planned.id};
    t.planned.needs.insert(t.planned.needs.end(), null_ids.begin(), null_ids.end());
    t.planned.axes = owner.planned.axes;
    sweep_.trials.push_back(std::move(t));
  }

  Sweep& sweep_;
  std::string file_;
  DataProbes probes_;
  std::map<std::string, YAML::Node> embed_trees_;  // embed id -> its grid point's config tree
  std::map<std::pair<const AttackEntry*, std::vector<size_t>>, std::map<std::string, std::string>> attack_axes_;
  std::vector<size_t> embed_order_;                // indices of the embed trials, in grid order
};

std::vector<AttackEntry> read_attacks(const common::ConfigNode& root) {
  std::vector<AttackEntry> attacks;
  if (!root.has("attacks")) return attacks;
  for (const common::ConfigNode& item : root.mappings_in("attacks")) {
    AttackEntry e{YAML::Node(YAML::NodeType::Map), read_grid(item), item.where()};
    for (const std::string& key : item.keys())
      if (key != "grid") e.base[key] = item.raw(key);
    attacks.push_back(std::move(e));
  }
  return attacks;
}

NullModels read_null_models(const common::ConfigNode& root) {
  NullModels n;
  if (!root.has("null_models")) return n;
  const common::ConfigNode node = root.child("null_models");
  n.count = node.get<int64_t>("count");
  node.require(n.count >= 1 && n.count <= 1000, "count", "must be in [1, 1000] (the literature uses about 30)");
  n.first_seed = node.get<uint64_t>("first_seed", n.first_seed);
  return n;
}

}  // namespace

double heartbeat_interval(double lost_after_s) { return lost_after_s > 0.0 ? std::min(10.0, lost_after_s / 4.0) : 0.0; }

int64_t Sweep::count(core::Stage stage) const {
  return std::count_if(trials.begin(), trials.end(), [&](const SweepTrial& t) { return t.planned.kind.stage == stage; });
}

namespace {

// The trials the grid, the attacks (each with its own grid) and the null models would expand into, within
// limits::kMaxSweepTrials before any is made: a few short lists multiply (ten axes of ten values are ten
// billion points).
void check_trial_count(const std::string& path, const std::vector<Axis>& grid, const std::vector<AttackEntry>& attacks,
                       int64_t null_models) {
  int64_t per_point = 1;  // the model, then every attack's points
  for (const AttackEntry& a : attacks) per_point = limits::saturated_sum(per_point, point_count(a.grid));
  const int64_t trials = limits::saturated_sum(limits::saturated_product(point_count(grid), per_point), std::max<int64_t>(0, null_models));
  limits::check(path, "trial count (grid points x (1 + attack points))", trials, limits::kMaxSweepTrials);
}

// The sweep file's trial DAG (load_sweep, which names the file in any error of yaml-cpp's).
Sweep expand_sweep(const std::string& path) {
  const common::ConfigNode root = common::ConfigNode::load_file(path);
  Sweep sweep;
  sweep.file = path;
  sweep.name = root.get<std::string>("name", std::filesystem::path(path).stem().string());
  sweep.max_retries = root.get<int64_t>("max_retries", sweep.max_retries);
  root.require(sweep.max_retries >= 0, "max_retries", "must be >= 0");
  sweep.ranks_per_trial = root.get<int64_t>("ranks_per_trial", sweep.ranks_per_trial);
  root.require(sweep.ranks_per_trial >= 1, "ranks_per_trial", "must be >= 1");
  sweep.trial_time_limit_s = root.get<double>("trial_time_limit", sweep.trial_time_limit_s);
  root.require(sweep.trial_time_limit_s >= 0.0, "trial_time_limit", "must be >= 0 seconds (0 = none)");
  sweep.lost_after_s = root.get<double>("lost_after", sweep.lost_after_s);
  root.require(sweep.lost_after_s == 0.0 || sweep.lost_after_s >= kShortestLostAfter, "lost_after",
               fmt::format("must be 0 (never) or >= {:g} seconds (a trial loads its data and builds its model before its "
                           "first heartbeat)", kShortestLostAfter));
  sweep.removal_margin = root.get<double>(core::kRemovalMarginKey, sweep.removal_margin);
  root.require(sweep.removal_margin > 0.0 && sweep.removal_margin < 1.0, core::kRemovalMarginKey,
               "must be in (0, 1): the accuracy an attack may cost and still count as a removal (0.05 = 5 points)");
  sweep.device = root.get<std::string>("device", sweep.device);
  root.require(workers::is_device_name(sweep.device), "device", "must be auto, cpu, cuda or cuda:N");
  sweep.allow_gpu_sharing = root.get<bool>("allow_gpu_sharing", sweep.allow_gpu_sharing);
  const auto given = root.get<std::vector<std::string>>("attack_checkpoints", {});
  if (!root.has("base") && given.empty())
    throw ConfigError(fmt::format("{}: missing required key 'base' (the trial config every grid point starts from), or "
                                  "attack_checkpoints", path));
  const YAML::Node base = root.has("base") ? root.raw("base") : YAML::Node();
  if (root.has("base") && !base.IsMap()) root.fail("base", "must be a mapping: the trial config every grid point starts from");
  const std::vector<Axis> grid = read_grid(root);
  if (!root.has("base") && !grid.empty()) root.fail("grid", "a grid needs base: (the trial config its points change)");
  const std::vector<AttackEntry> attacks = read_attacks(root);
  const NullModels nulls = read_null_models(root);
  root.check_all_keys_used();
  check_trial_count(path, grid, attacks, nulls.count);

  Expansion expansion(sweep, path);
  if (root.has("base")) expansion.add_grid(base, grid, attacks);
  expansion.add_checkpoints(given, attacks, root);
  if (nulls.count > 0) expansion.add_null_models(nulls, root.child("null_models"));

  // The identity is the set of trials, not the file's formatting: comments, spacing and spellings of equal
  // values do not matter.
  std::string canonical;
  for (const SweepTrial& t : sweep.trials) canonical += t.planned.id + "\n";
  sweep.identity = {common::content_hash(canonical), path, root.dump()};
  return sweep;
}

}  // namespace

Sweep load_sweep(const std::string& path) {
  try {
    return expand_sweep(path);
  } catch (const YAML::Exception& e) {
    // A structure no check above anticipated (yaml-cpp throws on an absent node it is asked the type of):
    // still the user's file, named, not a crash.
    throw ConfigError(fmt::format("{}: unexpected YAML structure: {}", path, e.what()));
  }
}

void check_group_shares(const Sweep& sweep, int ranks_per_trial) {
  if (ranks_per_trial <= 1) return;
  for (const SweepTrial& t : sweep.trials) {
    if (!t.planned.kind.trains_model()) continue;
    const workers::WatermarkSpec& wm = t.config.watermark;
    const bool targets = wm.enabled && wm.scheme == workers::SchemeKind::kGradSigns;
    try {
      workers::share_positions(t.config.trainer.batch_size, targets ? wm.target_per_batch : 0, 0, ranks_per_trial);
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{} ({} trial {}): {}", sweep.file, t.planned.kind.name(), t.planned.label, e.what()));
    }
  }
}

}  // namespace signsweep::orchestrator

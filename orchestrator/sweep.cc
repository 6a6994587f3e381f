#include "orchestrator/sweep.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "common/config.h"
#include "common/errors.h"
#include "workers/device/device.h"

namespace signsweep::orchestrator {
namespace {

struct Axis {
  std::string key;                // dotted config key
  std::vector<YAML::Node> values;
};

std::vector<Axis> read_grid(const common::ConfigNode& parent) {
  std::vector<Axis> axes;
  if (!parent.has("grid")) return axes;
  const common::ConfigNode grid = parent.child("grid");
  for (const std::string& key : grid.keys()) {
    const YAML::Node list = grid.raw(key);
    if (!list.IsSequence() || list.size() == 0) grid.fail(key, "a grid axis must be a non-empty list of values");
    Axis a{key, {}};
    for (const auto& v : list) a.values.push_back(v);
    axes.push_back(std::move(a));
  }
  return axes;
}

// Every combination of one value per axis (the first axis varies slowest).
std::vector<std::vector<size_t>> grid_points(const std::vector<Axis>& axes) {
  std::vector<std::vector<size_t>> points{{}};
  for (const Axis& a : axes) {
    std::vector<std::vector<size_t>> next;
    for (const auto& p : points)
      for (size_t i = 0; i < a.values.size(); ++i) {
        auto q = p;
        q.push_back(i);
        next.push_back(std::move(q));
      }
    points = std::move(next);
  }
  return points;
}

std::string scalar_text(const YAML::Node& v) {
  YAML::Emitter out;
  out << YAML::Flow << v;
  return out.c_str();
}

// Sets `dotted` (a.b.c) in `root`, creating mappings on the way.
void set_dotted(YAML::Node root, const std::string& dotted, const YAML::Node& value) {
  size_t start = 0;
  YAML::Node node = root;
  while (true) {
    const size_t dot = dotted.find('.', start);
    const std::string part = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (dot == std::string::npos) {
      node[part] = YAML::Clone(value);
      return;
    }
    if (!node[part] || !node[part].IsMap()) node[part] = YAML::Node(YAML::NodeType::Map);
    node.reset(node[part]);
    start = dot + 1;
  }
}

std::string emit(const YAML::Node& n) {
  YAML::Emitter out;
  out << n;
  return std::string(out.c_str()) + "\n";
}

struct Point {
  YAML::Node resolved;
  std::map<std::string, std::string> axes;
  std::string label;
};

Point apply_point(const YAML::Node& base, const std::vector<Axis>& axes, const std::vector<size_t>& choice) {
  Point p{YAML::Clone(base), {}, ""};
  for (size_t a = 0; a < axes.size(); ++a) {
    const YAML::Node& v = axes[a].values[choice[a]];
    set_dotted(p.resolved, axes[a].key, v);
    p.axes[axes[a].key] = scalar_text(v);
    p.label += fmt::format("{}{}={}", p.label.empty() ? "" : " ", axes[a].key, scalar_text(v));
  }
  return p;
}

}  // namespace

int64_t Sweep::embed_trials() const {
  return std::count_if(trials.begin(), trials.end(), [](const SweepTrial& t) { return !t.is_attack; });
}

Sweep load_sweep(const std::string& path) {
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
  sweep.device = root.get<std::string>("device", sweep.device);
  root.require(workers::is_device_name(sweep.device), "device", "must be auto, cpu, cuda or cuda:N");
  sweep.allow_gpu_sharing = root.get<bool>("allow_gpu_sharing", sweep.allow_gpu_sharing);
  const YAML::Node base = root.raw("base");
  if (!base.IsMap()) root.fail("base", "must be a mapping: the trial config every grid point starts from");
  const std::vector<Axis> grid = read_grid(root);

  struct AttackEntry {
    YAML::Node base;
    std::vector<Axis> grid;
    std::string where;
  };
  std::vector<AttackEntry> attacks;
  if (root.has("attacks")) {
    for (const common::ConfigNode& item : root.mappings_in("attacks")) {
      AttackEntry e{YAML::Node(YAML::NodeType::Map), read_grid(item), item.where()};
      for (const std::string& key : item.keys())
        if (key != "grid") e.base[key] = item.raw(key);
      attacks.push_back(std::move(e));
    }
  }
  root.check_all_keys_used();

  for (const auto& choice : grid_points(grid)) {
    const Point p = apply_point(base, grid, choice);
    const YAML::Node& resolved = p.resolved;  // const: operator[] must not insert the keys it looks up
    if (resolved["trainer"] && resolved["trainer"]["device"])
      throw ConfigError(fmt::format("{}: trainer.device is a setting of the run in a sweep, not of a trial: use the "
                                    "top-level key device: (auto, cpu, cuda or cuda:N)",
                                    path));
    SweepTrial embed;
    const std::string yaml = emit(p.resolved);
    const std::string origin = fmt::format("{} (grid point {})", path, p.label.empty() ? "base" : p.label);
    embed.config = workers::parse_trial_config(common::ConfigNode::load_string(yaml, origin));
    embed.config.file = origin;
    embed.config.yaml = yaml;
    embed.planned = {storage::content_hash(yaml), "embed", p.label.empty() ? "base" : p.label, "", p.axes, yaml};
    const std::string parent = embed.planned.id;
    const auto parent_axes = p.axes;
    const std::string parent_label = embed.planned.label;
    sweep.trials.push_back(std::move(embed));
    for (const AttackEntry& e : attacks) {
      for (const auto& attack_choice : grid_points(e.grid)) {
        const Point ap = apply_point(e.base, e.grid, attack_choice);
        SweepTrial t;
        t.is_attack = true;
        const std::string attack_yaml = emit(ap.resolved);
        const std::string attack_origin = fmt::format("{} attack at {}{}", path, e.where, ap.label.empty() ? "" : " (" + ap.label + ")");
        t.attack = workers::parse_attack_spec(common::ConfigNode::load_string(attack_yaml, attack_origin));
        auto axes = parent_axes;
        for (const auto& [k, v] : ap.axes) axes["attack." + k] = v;
        axes["attack"] = workers::to_string(t.attack.kind);
        t.planned = {storage::content_hash(parent + "\n" + attack_yaml), workers::to_string(t.attack.kind),
                     fmt::format("{} | {}{}", parent_label, workers::to_string(t.attack.kind), ap.label.empty() ? "" : " " + ap.label),
                     parent, axes, attack_yaml};
        sweep.trials.push_back(std::move(t));
      }
    }
  }
  // The identity is the content of the spec, not its formatting: comments and spacing do not matter.
  std::string canonical = emit(base);
  for (const Axis& a : grid) {
    canonical += a.key;
    for (const auto& v : a.values) canonical += " " + scalar_text(v);
    canonical += "\n";
  }
  for (const SweepTrial& t : sweep.trials) canonical += t.planned.id + "\n";
  sweep.identity = {storage::content_hash(canonical), path, root.dump()};
  return sweep;
}

}  // namespace signsweep::orchestrator

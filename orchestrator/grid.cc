#include "orchestrator/grid.h"

#include <fmt/format.h>

#include "common/limits.h"

namespace signsweep::orchestrator {
namespace {

// The resolved value of `dotted` in resolved YAML text, for labels and report axes: a scalar as the
// config resolves it (0.30 -> 0.3), a mapping or list as it was written.
std::string resolved_axis_value(const YAML::Node& resolved, const std::string& dotted, const std::string& given) {
  YAML::Node node = resolved;
  size_t start = 0;
  while (node.IsMap()) {
    const size_t dot = dotted.find('.', start);
    node.reset(node[dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start)]);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (node.IsDefined() && node.IsNull()) return "";  // as the emitted YAML reads back: ""
  return node.IsDefined() && node.IsScalar() ? node.Scalar() : given;
}

}  // namespace

void set_dotted(YAML::Node root, const std::string& dotted, const YAML::Node& value) {
  YAML::Node node = root;
  size_t start = 0;
  while (true) {
    const size_t dot = dotted.find('.', start);
    const std::string part = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (dot == std::string::npos) {
      node[part] = value;
      return;
    }
    const YAML::Node child = shallow_copy(node[part]);
    node[part] = child;
    node.reset(child);
    start = dot + 1;
  }
}

std::string position(const std::string& file, const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  return m.line < 0 ? file : fmt::format("{}:{}:{}", file, m.line + 1, m.column + 1);
}

std::vector<Axis> read_grid(const common::ConfigNode& parent) {
  std::vector<Axis> axes;
  if (!parent.has("grid")) return axes;
  const common::ConfigNode grid = parent.child("grid");
  for (const std::string& key : grid.keys()) {
    const YAML::Node list = grid.raw(key);
    if (!list.IsSequence() || list.size() == 0) grid.fail(key, "a grid axis must be a non-empty list of values");
    Axis a{key, {}, position(parent.file(), list)};
    for (const auto& v : list) a.values.push_back(v);
    axes.push_back(std::move(a));
  }
  return axes;
}

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

std::string flow_text(const YAML::Node& v) {
  YAML::Emitter out;
  out << YAML::Flow << v;
  return out.c_str();
}

YAML::Node shallow_copy(const YAML::Node& map) {
  YAML::Node copy(YAML::NodeType::Map);
  if (map.IsMap())
    for (const auto& kv : map) copy[kv.first.Scalar()] = kv.second;
  return copy;
}

Point apply_point(const YAML::Node& base, const std::vector<Axis>& axes, const std::vector<size_t>& choice, bool positions) {
  Point p{positions ? shallow_copy(base) : YAML::Clone(base), {}, ""};
  if (!p.tree.IsMap()) p.tree = YAML::Node(YAML::NodeType::Map);  // as shallow_copy makes of a base that is none
  for (size_t a = 0; a < axes.size(); ++a) {
    const YAML::Node& v = axes[a].values[choice[a]];
    set_dotted(p.tree, axes[a].key, positions ? v : YAML::Clone(v));
    p.given.push_back(flow_text(v));
    p.label += fmt::format("{}{}={}", p.label.empty() ? "" : " ", axes[a].key, p.given.back());
  }
  if (p.label.empty()) p.label = "base";
  return p;
}

std::map<std::string, std::string> resolved_axes(const YAML::Node& resolved, const std::vector<Axis>& axes, const Point& p) {
  std::map<std::string, std::string> out;
  for (size_t a = 0; a < axes.size(); ++a) out[axes[a].key] = resolved_axis_value(resolved, axes[a].key, p.given[a]);
  return out;
}

int64_t point_count(const std::vector<Axis>& axes) {
  int64_t points = 1;
  for (const Axis& a : axes) points = limits::saturated_product(points, static_cast<int64_t>(a.values.size()));
  return points;
}

}  // namespace signsweep::orchestrator

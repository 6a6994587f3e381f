// A sweep's grids as YAML (the lower half of sweep.h's expansion): axes read from a `grid:` mapping with their
// positions in the user's file, the Cartesian product of their values, and each point applied to a base
// config without copying the nodes beside a changed path (an error in a grid point still names the line and
// column in the user's file). Knows nothing of trials.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "common/config.h"

namespace signsweep::orchestrator {

struct Axis {
  std::string key;                 // dotted config key
  std::vector<YAML::Node> values;  // the file's nodes (with their positions)
  std::string where;               // file:line:col of the value list
};

// "file:line:col" of a node of `file` (the file alone when the node has no position).
std::string position(const std::string& file, const YAML::Node& n);

// The axes of `parent`'s `grid:` mapping (none without one); a value that is not a non-empty list is a
// ConfigError at its key.
std::vector<Axis> read_grid(const common::ConfigNode& parent);

// Every combination of one value per axis (the first axis varies slowest).
std::vector<std::vector<size_t>> grid_points(const std::vector<Axis>& axes);

// The number of points of a grid (limits::kSaturated when it does not fit in 64 bits), before expanding it.
int64_t point_count(const std::vector<Axis>& axes);

// A value as one line of flow YAML ("[1, 2]", "{a: 1}").
std::string flow_text(const YAML::Node& v);

// A new mapping whose entries are `map`'s own nodes (shared, with their positions in the user's file).
YAML::Node shallow_copy(const YAML::Node& map);

// Sets `dotted` (a.b.c) in `root` to `value`, copying the mappings on the way (never the nodes beside the
// path): the base config and the grid values stay as the file has them, positions included, so an error
// in a grid point names the line and column in the user's file.
void set_dotted(YAML::Node root, const std::string& dotted, const YAML::Node& value);

struct Point {
  YAML::Node tree;
  std::vector<std::string> given;  // each axis's value as written
  std::string label;               // "key=value key=value" ("base" without axes)
};

// `base` with each axis set to its chosen value. With `positions`, the point's tree shares the file's nodes
// (set_dotted), so every value keeps its line and column for error messages. Without, it is a deep copy
// (YAML::Clone) that has none: sharing nodes merges yaml-cpp's node pools, and yaml-cpp 0.7 copies the file's
// whole pool (every value of every grid list, and every point built so far) into each new tree, which made
// expanding a sweep quadratic (10^4 trials: 5 minutes). Sweeps build points without positions and rebuild a
// point with them only to report its error (sweep.cc).
Point apply_point(const YAML::Node& base, const std::vector<Axis>& axes, const std::vector<size_t>& choice,
                  bool positions = true);

// Each axis's value as the resolved config (a tree: common::ConfigNode::resolved_tree, or its YAML loaded)
// has it (0.30 -> 0.3; a mapping or list as written), for labels and report axes.
std::map<std::string, std::string> resolved_axes(const YAML::Node& resolved, const std::vector<Axis>& axes, const Point& p);

}  // namespace signsweep::orchestrator

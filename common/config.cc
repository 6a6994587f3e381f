#include "common/config.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/limits.h"

namespace signsweep::common {
namespace {

// Walks a parsed document once before anything reads it:
// - duplicate keys: yaml-cpp 0.7 keeps the first of two equal keys silently; a sweep with `lr` twice must not run;
// - nesting deeper than limits::kMaxNestingDepth;
// - more than limits::kMaxConfigNodes nodes with aliases expanded: yaml-cpp shares an aliased node, but every
//   reader after this one (the resolved config, the sweep's grid) walks it once per alias, so a few lines of
//   nested aliases ("billion laughs") would expand to billions of nodes there.
class DocumentCheck {
 public:
  explicit DocumentCheck(const std::string& file) : file_(file) {}
  void visit(const YAML::Node& node, int64_t depth) {
    limits::check(file_, "YAML nesting depth", depth, limits::kMaxNestingDepth);
    limits::check(file_, "YAML node count (aliases expanded)", ++nodes_, limits::kMaxConfigNodes);
    if (node.IsMap()) {
      std::set<std::string> seen;
      for (const auto& kv : node) {
        const std::string key = kv.first.Scalar();
        if (!seen.insert(key).second) {
          const YAML::Mark m = kv.first.Mark();
          throw ConfigError(fmt::format("{}:{}:{}: duplicate key '{}'", file_, m.line + 1, m.column + 1, key));
        }
        visit(kv.first, depth + 1);
        visit(kv.second, depth + 1);
      }
    } else if (node.IsSequence()) {
      for (const auto& item : node) visit(item, depth + 1);
    }
  }

 private:
  const std::string& file_;
  int64_t nodes_ = 0;
};

std::string short_value(const YAML::Node& v) {
  if (!v.IsDefined() || v.IsNull()) return "null";
  if (v.IsScalar()) return v.Scalar();
  YAML::Emitter flow;  // a short list or mapping as written; a long one by its kind
  flow << YAML::Flow << v;
  const std::string text = flow.c_str();
  if (text.size() <= 60) return text;
  return v.IsSequence() ? "[list]" : "{mapping}";
}

}  // namespace

ConfigNode::ConfigNode(std::shared_ptr<State> state, YAML::Node node, std::string path)
    : state_(std::move(state)), node_(std::move(node)), path_(std::move(path)) {}

ConfigNode ConfigNode::load_string(const std::string& text, const std::string& origin) {
  limits::check(origin, "YAML bytes", static_cast<int64_t>(text.size()), limits::kMaxConfigBytes);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(fmt::format("{}:{}:{}: invalid YAML: {}", origin, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw ConfigError(fmt::format("{}: the top level must be a mapping of keys", origin));
  DocumentCheck(origin).visit(root, 0);
  auto state = std::make_shared<State>();
  state->file = origin;
  return ConfigNode(std::move(state), root, "");
}

ConfigNode ConfigNode::from_node(YAML::Node root, const std::string& origin) {
  if (!root.IsMap()) throw ConfigError(fmt::format("{}: the top level must be a mapping of keys", origin));
  auto state = std::make_shared<State>();
  state->file = origin;
  return ConfigNode(std::move(state), std::move(root), "");
}

ConfigNode ConfigNode::load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("{}: cannot open config file", path));
  std::stringstream text;
  text << in.rdbuf();
  return load_string(text.str(), path);
}

std::string ConfigNode::key_path(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

std::string ConfigNode::where(const YAML::Node& n) const {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return state_->file;
  return fmt::format("{}:{}:{}", state_->file, m.line + 1, m.column + 1);
}

std::string ConfigNode::where() const { return where(node_); }

std::optional<YAML::Node> ConfigNode::lookup(const std::string& key) const {
  if (!node_.IsMap()) return std::nullopt;
  state_->used.insert(key_path(key));
  const YAML::Node v = node_[key];
  if (!v.IsDefined() || v.IsNull()) return std::nullopt;
  return v;
}

YAML::Node ConfigNode::required(const std::string& key) const {
  const std::optional<YAML::Node> v = lookup(key);
  if (!v) throw ConfigError(fmt::format("{}: missing required key '{}'", where(), key_path(key)));
  return *v;
}

bool ConfigNode::has(const std::string& key) const {
  return node_.IsMap() && node_[key].IsDefined() && !node_[key].IsNull();
}

bool ConfigNode::is_sequence(const std::string& key) const { return has(key) && node_[key].IsSequence(); }
bool ConfigNode::is_mapping(const std::string& key) const { return has(key) && node_[key].IsMap(); }

ConfigNode ConfigNode::child(const std::string& key) const {
  const YAML::Node v = required(key);
  if (!v.IsMap()) fail_type(key, v, "a mapping of keys");
  return ConfigNode(state_, v, key_path(key));
}

ConfigNode ConfigNode::child_or_empty(const std::string& key) const {
  const std::optional<YAML::Node> v = lookup(key);
  if (!v) return ConfigNode(state_, YAML::Node(YAML::NodeType::Map), key_path(key));
  if (!v->IsMap()) fail_type(key, *v, "a mapping of keys");
  return ConfigNode(state_, *v, key_path(key));
}

std::string ConfigNode::get_choice(const std::string& key, const std::vector<std::string>& allowed,
                                   const std::string& fallback) const {
  const std::string value = get<std::string>(key, fallback);
  for (const auto& a : allowed)
    if (a == value) return value;
  fail(key, fmt::format("expected one of: {}", fmt::join(allowed, ", ")));
}

void ConfigNode::fail(const std::string& key, const std::string& message) const {
  const YAML::Node v = node_.IsMap() ? node_[key] : YAML::Node();
  const bool present = v.IsDefined() && !v.IsNull();
  const std::string at = (present && v.Mark().line >= 0) ? where(v) : where();
  const std::string shown = present ? fmt::format(" = '{}'", short_value(v)) : std::string();
  throw ConfigError(fmt::format("{}: {}{}: {}", at, key_path(key), shown, message));
}

void ConfigNode::fail_type(const std::string& key, const YAML::Node& v, const char* expected) const {
  throw ConfigError(fmt::format("{}: {} = '{}': expected {}", where(v), key_path(key), short_value(v), expected));
}

std::vector<std::string> ConfigNode::keys() const {
  std::vector<std::string> k;
  if (node_.IsMap())
    for (const auto& kv : node_) k.push_back(kv.first.Scalar());
  return k;
}

namespace {
void mark_subtree_used(const YAML::Node& n, const std::string& path, std::set<std::string>& used) {
  if (!n.IsMap()) return;
  for (const auto& kv : n) {
    const std::string full = path + "." + kv.first.Scalar();
    used.insert(full);
    mark_subtree_used(kv.second, full, used);
  }
}
}  // namespace

YAML::Node ConfigNode::raw(const std::string& key) const {
  const YAML::Node v = required(key);
  mark_subtree_used(v, key_path(key), state_->used);
  return v;
}

YAML::Node ConfigNode::canonical(double v) {
  return YAML::Node(fmt::format("{}", v));  // shortest round-trip form: 0.3, 1e-06, 100
}

namespace {

// The resolved tree's node at dotted `path` (created as mappings on the way).
YAML::Node resolved_at(YAML::Node root, const std::string& path) {
  YAML::Node node = root;
  size_t start = 0;
  while (start <= path.size() && !path.empty()) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node[part] || !node[part].IsMap()) node[part] = YAML::Node(YAML::NodeType::Map);
    node.reset(node[part]);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return node;
}

void emit_sorted(YAML::Emitter& out, const YAML::Node& n) {
  if (n.IsMap()) {
    std::vector<std::string> keys;
    for (const auto& kv : n) keys.push_back(kv.first.Scalar());
    std::sort(keys.begin(), keys.end());
    out << YAML::BeginMap;
    for (const std::string& k : keys) {
      out << YAML::Key << k << YAML::Value;
      emit_sorted(out, n[k]);
    }
    out << YAML::EndMap;
  } else if (n.IsSequence()) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& item : n) emit_sorted(out, item);
    out << YAML::EndSeq;
  } else {
    out << n.Scalar();
  }
}

}  // namespace

void ConfigNode::resolve(const std::string& key, const YAML::Node& value) const {
  resolved_at(state_->resolved, path_)[key] = value;
}

void ConfigNode::drop_resolved(const std::string& key) const { resolved_at(state_->resolved, path_).remove(key); }

std::string ConfigNode::resolved_yaml() const {
  YAML::Emitter out;
  emit_sorted(out, resolved_at(state_->resolved, path_));
  return std::string(out.c_str()) + "\n";
}

YAML::Node ConfigNode::resolved_tree() const { return resolved_at(state_->resolved, path_); }

std::vector<ConfigNode> ConfigNode::mappings_in(const std::string& key) const {
  const YAML::Node v = required(key);
  if (!v.IsSequence()) fail_type(key, v, "a list of mappings");
  std::vector<ConfigNode> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].IsMap()) fail_type(key, v[i], "a list of mappings");
    out.push_back(ConfigNode(state_, v[i], fmt::format("{}[{}]", key_path(key), i)));
  }
  return out;
}

void ConfigNode::check_all_keys_used() const {
  if (!node_.IsMap()) return;
  for (const auto& kv : node_) {
    const std::string key = kv.first.Scalar();
    const std::string full = key_path(key);
    if (state_->used.count(full) == 0) {
      throw UnknownKeyError(fmt::format("{}: unknown key '{}'", where(kv.first), full), full);
    }
    if (kv.second.IsMap()) ConfigNode(state_, kv.second, full).check_all_keys_used();
  }
}

std::string ConfigNode::dump() const {
  YAML::Emitter out;
  out << node_;
  return out.c_str();
}

}  // namespace signsweep::common

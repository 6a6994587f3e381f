// Strict reading of YAML configuration: every value is read through a ConfigNode, which knows the file,
// line and dotted key path of what it reads, so a wrong value is reported as
//   quickstart.yaml:12:5: trainer.lr = 'fast': expected a number
// and every key that nothing read is reported as unknown (check_all_keys_used), duplicate keys at load.
// Every value a parser reads (given or defaulted) is also recorded, converted to its type, into the
// resolved config: resolved_yaml() is that tree with keys sorted and numbers in one canonical form
// (0.3, 0.30 and 3e-1 all print as 0.3), so equal configs give equal text, whatever their spelling.
// Thread-safety: not thread-safe; a config is read on one thread before the work starts.
#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>
#include <type_traits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/errors.h"

namespace signsweep::common {

class ConfigNode {
 public:
  // Parses a YAML file; throws ConfigError naming the file on a missing file, syntax error or
  // duplicate key.
  static ConfigNode load_file(const std::string& path);
  // Parses YAML text; `origin` stands for the file name in messages.
  static ConfigNode load_string(const std::string& text, const std::string& origin);
  // A tree built in memory (e.g. a sweep's grid point) whose nodes may come from a file: positions in
  // messages are those nodes' marks in `origin` (nodes built here have none and report `origin` alone).
  static ConfigNode from_node(YAML::Node root, const std::string& origin);

  // A required mapping under `key`.
  ConfigNode child(const std::string& key) const;
  // A mapping under `key`, or an empty mapping (all defaults) when the key is absent.
  ConfigNode child_or_empty(const std::string& key) const;
  bool has(const std::string& key) const;
  // True when `key` holds a list (for keys that take a word or a list).
  bool is_sequence(const std::string& key) const;
  bool is_mapping(const std::string& key) const;

  // Required scalar or sequence.
  template <typename T>
  T get(const std::string& key) const {
    T value = convert<T>(key, required(key));
    resolve(key, canonical(value));
    return value;
  }
  // Optional scalar or sequence with a default.
  template <typename T>
  T get(const std::string& key, const T& fallback) const {
    const std::optional<YAML::Node> v = lookup(key);
    T value = v ? convert<T>(key, *v) : fallback;
    resolve(key, canonical(value));
    return value;
  }
  // A string that must be one of `allowed`.
  std::string get_choice(const std::string& key, const std::vector<std::string>& allowed,
                         const std::string& fallback) const;

  // Throws ConfigError for `key` (its value and position) with `message`.
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;
  // fail(key, message) unless `condition`.
  void require(bool condition, const std::string& key, const std::string& message) const {
    if (!condition) fail(key, message);
  }

  // Keys of this mapping in file order (reading them is up to the caller).
  std::vector<std::string> keys() const;
  // The value under `key` as the file has it (with its positions; shared, not copied: do not modify it),
  // its whole subtree marked as read: for sections handed on and validated elsewhere (a sweep's base
  // config, grid value lists). Not part of the resolved config.
  YAML::Node raw(const std::string& key) const;
  // The elements of the list under `key`, each a mapping (ConfigNode with path key[i]).
  std::vector<ConfigNode> mappings_in(const std::string& key) const;

  // Throws ConfigError naming every key in this subtree that no get/child call read.
  void check_all_keys_used() const;

  // Records `value` as the resolved value of `key` (replacing what get recorded): for a value a parser
  // derives, or one canonical form of a key that can be spelt two ways (`select_best: true` or a mapping).
  void resolve(const std::string& key, const YAML::Node& value) const;
  // Removes `key` from the resolved config: a value that does not matter given the others (sgd's momentum
  // under adam), so that it does not make two equal trials look different.
  void drop_resolved(const std::string& key) const;
  // The resolved config of this node's subtree (what the parsers read, defaults included) as YAML text:
  // keys sorted, numbers canonical. Parsing it again resolves to the same text.
  std::string resolved_yaml() const;
  // The same resolved config as a tree (a handle into this config's state, not a copy): what
  // YAML::Load(resolved_yaml()) gives, without emitting and parsing it again.
  YAML::Node resolved_tree() const;
  // The canonical YAML scalar of a value (numbers: the shortest text that reads back to the same double).
  static YAML::Node canonical(const std::string& v) { return YAML::Node(v); }
  static YAML::Node canonical(bool v) { return YAML::Node(v ? "true" : "false"); }
  static YAML::Node canonical(double v);
  template <typename T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
  static YAML::Node canonical(T v) {
    return YAML::Node(std::to_string(v));
  }
  template <typename T>
  static YAML::Node canonical(const std::vector<T>& values) {
    YAML::Node seq(YAML::NodeType::Sequence);
    for (const T& v : values) seq.push_back(canonical(v));
    return seq;
  }

  const std::string& file() const { return state_->file; }
  const std::string& path() const { return path_; }
  // "file:line:col" of this node.
  std::string where() const;
  // The dotted path of `key` under this node.
  std::string key_path(const std::string& key) const;
  // The subtree as YAML text (for provenance).
  std::string dump() const;

 private:
  struct State {
    std::string file;
    std::set<std::string> used;  // dotted key paths that were read
    YAML::Node resolved{YAML::NodeType::Map};  // what was read, by key path (resolve)
  };
  ConfigNode(std::shared_ptr<State> state, YAML::Node node, std::string path);

  // The value of `key`, or nullopt when absent or null; marks the key as used.
  std::optional<YAML::Node> lookup(const std::string& key) const;
  YAML::Node required(const std::string& key) const;
  std::string where(const YAML::Node& n) const;
  [[noreturn]] void fail_type(const std::string& key, const YAML::Node& v, const char* expected) const;

  template <typename T>
  T convert(const std::string& key, const YAML::Node& v) const;

  std::shared_ptr<State> state_;
  YAML::Node node_;
  std::string path_;
};

template <typename T>
struct ConfigTypeName;
template <> struct ConfigTypeName<std::string> { static constexpr const char* value = "a string"; };
template <> struct ConfigTypeName<bool> { static constexpr const char* value = "true or false"; };
template <> struct ConfigTypeName<int> { static constexpr const char* value = "an integer"; };
template <> struct ConfigTypeName<long> { static constexpr const char* value = "an integer"; };
template <> struct ConfigTypeName<long long> { static constexpr const char* value = "an integer"; };
template <> struct ConfigTypeName<unsigned long> { static constexpr const char* value = "a non-negative integer"; };
template <> struct ConfigTypeName<unsigned long long> { static constexpr const char* value = "a non-negative integer"; };
template <> struct ConfigTypeName<double> { static constexpr const char* value = "a number"; };
template <typename T>
struct ConfigTypeName<std::vector<T>> { static constexpr const char* value = "a list"; };

template <typename T>
T ConfigNode::convert(const std::string& key, const YAML::Node& v) const {
  try {
    if constexpr (std::is_same_v<T, std::string>) {
      if (!v.IsScalar()) fail_type(key, v, ConfigTypeName<T>::value);
    } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      // yaml-cpp would accept 2.5 as an int on some paths; require an integer literal.
      if (!v.IsScalar()) fail_type(key, v, ConfigTypeName<T>::value);
      const std::string& s = v.Scalar();
      if (s.find_first_of(".eE") != std::string::npos) fail_type(key, v, ConfigTypeName<T>::value);
      if (std::is_unsigned_v<T> && s.find('-') != std::string::npos) fail_type(key, v, ConfigTypeName<T>::value);
    } else if constexpr (!std::is_same_v<T, bool> && !std::is_floating_point_v<T>) {
      if (!v.IsSequence()) fail_type(key, v, ConfigTypeName<T>::value);
    }
    return v.as<T>();
  } catch (const YAML::Exception&) {
    fail_type(key, v, ConfigTypeName<T>::value);
  }
}

}  // namespace signsweep::common

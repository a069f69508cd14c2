// Strict, typed reading of YAML configuration. Every section of a lowbit config is read through a
// ConfigNode: each value is fetched by key with its type checked, and `done()` rejects any key that
// nobody asked for, so a typo never silently falls back to a default. Every error names the key
// path (`stages[2].lr_schedule.power`), the file and line it came from, and what was expected.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace lowbit::config {

/// A configuration error; the message names the file, line, key path and what was expected.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The largest config file, config text or `--set` value read, in bytes; larger ones are refused
/// before parsing (a parsed YAML tree takes ~100 times its text in memory).
inline constexpr size_t kMaxConfigBytes = size_t{1} << 20;

/// The most values (scalars, maps, lists) a config may hold with every alias expanded: the bound
/// on the work of every traversal, which a few nested aliases ("billion laughs") would defeat.
inline constexpr size_t kMaxConfigValues = 200000;

/// The deepest nesting of maps and lists in a config, aliases followed.
inline constexpr int kMaxConfigDepth = 64;

/// Reads a config file's text; throws ConfigError naming the file if it cannot be read, is a
/// folder, or is larger than kMaxConfigBytes.
std::string read_config_file(const std::string& file);

/// Checks a parsed tree named `name` (file or `--set KEY`) whose root sits `depth` levels deep:
/// no alias that refers to a map or list containing it, at most kMaxConfigValues values with
/// aliases expanded, at most kMaxConfigDepth levels, map keys are unique texts. Throws ConfigError
/// naming the file, line and key path.
void check_tree(const YAML::Node& root, const std::string& name, int depth = 0);

/// Where a configuration tree came from: the file name and the key paths set by `--set`.
struct ConfigSource {
  /// The file (or other name) the YAML text was read from.
  std::string file;
  /// Key paths (in `a.b[2].c` form) whose values were replaced by a `--set` override.
  std::set<std::string> overridden;
  /// Key paths filled in by a YAML merge key (`<<: *anchor`), with the "file:line:col" of the
  /// anchored value they were copied from (the copy itself has no position).
  std::map<std::string, std::string> merged;
};

/// Applies one `key.path=value` override to `root`: the path is dotted, list elements are named by
/// index (`stages.1.epochs` or `stages[1].epochs`), and the value is parsed as YAML (so `3`, `0.5`,
/// `true`, `[30, 60]` and `{type: cosine}` all work). Every map key and list index on the way must
/// exist; the last key may be new in an existing map (strict reading then rejects it if unknown).
/// Returns the overridden key path in `a.b[2].c` form. Throws ConfigError naming the bad part.
std::string apply_override(YAML::Node& root, const std::string& assignment);

/// A read-tracking view of one YAML node at a key path, with typed, validated accessors.
class ConfigNode {
 public:
  /// Wraps `node` found at `path` (empty for the root) of the document described by `source`.
  ConfigNode(YAML::Node node, std::string path, std::shared_ptr<ConfigSource> source);

  /// Loads a YAML file, applies `--set` style overrides in order, and returns its root.
  static ConfigNode load_file(const std::string& file,
                              const std::vector<std::string>& overrides = {});

  /// Parses YAML text, naming it `name` in errors, applies overrides, and returns its root.
  static ConfigNode parse(const std::string& text, const std::string& name,
                          const std::vector<std::string>& overrides = {});

  /// True if this node is a map holding `key` (marks the key as known).
  bool has(const std::string& key) const;

  /// Reads `key` as T, or returns `default_value` if the key is absent.
  template <class T>
  T get(const std::string& key, const T& default_value) const {
    auto value = lookup(key);
    return value ? convert<T>(*value, key) : default_value;
  }

  /// Reads `key` as T; throws if the key is absent.
  template <class T>
  T require(const std::string& key) const {
    return convert<T>(require_node(key), key);
  }

  /// Reads `key` as T if present.
  template <class T>
  std::optional<T> optional(const std::string& key) const {
    auto value = lookup(key);
    if (!value) return std::nullopt;
    return convert<T>(*value, key);
  }

  /// Reads `key` as a number in [lo, hi] (default if absent); throws naming the range otherwise.
  template <class T>
  T get_in_range(const std::string& key, const T& default_value, const T& lo, const T& hi) const {
    T value = get<T>(key, default_value);
    check_in_range(key, value, lo, hi);
    return value;
  }

  /// Reads `key` as a number in [lo, hi]; throws if absent or outside the range.
  template <class T>
  T require_in_range(const std::string& key, const T& lo, const T& hi) const {
    T value = require<T>(key);
    check_in_range(key, value, lo, hi);
    return value;
  }

  /// Reads `key` as a number > 0 (default if absent); throws otherwise.
  template <class T>
  T get_positive(const std::string& key, const T& default_value) const {
    T value = get<T>(key, default_value);
    check_range(key, static_cast<double>(value), 0.0, 0.0, true);
    return value;
  }

  /// Reads `key` as a number > 0; throws if absent or not positive.
  template <class T>
  T require_positive(const std::string& key) const {
    T value = require<T>(key);
    check_range(key, static_cast<double>(value), 0.0, 0.0, true);
    return value;
  }

  /// Reads `key` as one of `choices` (default if absent); the error lists the choices.
  std::string choice(const std::string& key, const std::string& default_value,
                     const std::vector<std::string>& choices) const;

  /// Reads `key` as one of `choices`; throws if absent or not one of them.
  std::string require_choice(const std::string& key, const std::vector<std::string>& choices) const;

  /// The keys of this map in file order, all marked as read (for sections keyed by user-chosen
  /// names, such as per-layer settings); empty for a null node, throws if not a map.
  std::vector<std::string> keys() const;

  /// The map under `key`; throws if absent or not a map.
  ConfigNode child(const std::string& key) const;

  /// The map under `key` if present (throws if present but not a map).
  std::optional<ConfigNode> optional_child(const std::string& key) const;

  /// The elements of the list under `key` (empty if absent); throws if present but not a list.
  std::vector<ConfigNode> list(const std::string& key) const;

  /// Throws listing every key of this map that was never asked for, with the accepted keys.
  void done() const;

  /// Throws a ConfigError about `key` of this node with `message` ("expected ...").
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;

  /// Throws a ConfigError about this node itself with `message`.
  [[noreturn]] void fail(const std::string& message) const;

  /// The key path of this node (`stages[2].lr_schedule`), empty for the root.
  const std::string& path() const { return path_; }

  /// The key path of `key` under this node.
  std::string key_path(const std::string& key) const;

  /// "FILE:LINE:COLUMN" of this node, or "--set PATH" if an override set it.
  std::string location() const;

  /// The wrapped YAML node.
  const YAML::Node& yaml() const { return node_; }

 private:
  std::optional<YAML::Node> lookup(const std::string& key) const;
  YAML::Node require_node(const std::string& key) const;
  [[noreturn]] void fail_value(const YAML::Node& value, const std::string& key,
                               const std::string& message) const;
  std::string location_of(const YAML::Node& node, const std::string& path) const;
  void check_range(const std::string& key, double value, double lo, double hi,
                   bool strictly_positive) const;
  void check_integer_range(const std::string& key, int64_t value, int64_t lo, int64_t hi) const;
  template <class T>
  void check_in_range(const std::string& key, const T& value, const T& lo, const T& hi) const {
    // Integers are compared and printed exactly: as doubles, 2^63 - 1 would pass a bound of 2^63.
    if constexpr (std::is_integral_v<T>) {
      check_integer_range(key, static_cast<int64_t>(value), static_cast<int64_t>(lo),
                          static_cast<int64_t>(hi));
    } else {
      check_range(key, static_cast<double>(value), static_cast<double>(lo), static_cast<double>(hi),
                  false);
    }
  }
  template <class T>
  T convert(const YAML::Node& value, const std::string& key) const;

  YAML::Node node_;
  std::string path_;
  std::shared_ptr<ConfigSource> source_;
  // Shared between copies so that a key read through any copy counts as read.
  std::shared_ptr<std::set<std::string>> asked_;
};

/// Reads a boolean (true/false, yes/no, on/off).
template <>
bool ConfigNode::convert<bool>(const YAML::Node& value, const std::string& key) const;
/// Reads a 32-bit integer (no fractional part).
template <>
int ConfigNode::convert<int>(const YAML::Node& value, const std::string& key) const;
/// Reads a 64-bit integer (no fractional part).
template <>
int64_t ConfigNode::convert<int64_t>(const YAML::Node& value, const std::string& key) const;
/// Reads a finite number that fits a float.
template <>
float ConfigNode::convert<float>(const YAML::Node& value, const std::string& key) const;
/// Reads a finite floating-point number.
template <>
double ConfigNode::convert<double>(const YAML::Node& value, const std::string& key) const;
/// Reads a scalar as text.
template <>
std::string ConfigNode::convert<std::string>(const YAML::Node& value, const std::string& key) const;
/// Reads a list of 32-bit integers.
template <>
std::vector<int> ConfigNode::convert<std::vector<int>>(const YAML::Node& value,
                                                       const std::string& key) const;
/// Reads a list of 64-bit integers.
template <>
std::vector<int64_t> ConfigNode::convert<std::vector<int64_t>>(const YAML::Node& value,
                                                               const std::string& key) const;
/// Reads a list of numbers.
template <>
std::vector<double> ConfigNode::convert<std::vector<double>>(const YAML::Node& value,
                                                             const std::string& key) const;
/// Reads a list of float numbers.
template <>
std::vector<float> ConfigNode::convert<std::vector<float>>(const YAML::Node& value,
                                                           const std::string& key) const;
/// Reads a list of strings.
template <>
std::vector<std::string> ConfigNode::convert<std::vector<std::string>>(
    const YAML::Node& value, const std::string& key) const;

}  // namespace lowbit::config

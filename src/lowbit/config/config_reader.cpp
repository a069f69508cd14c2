#include "lowbit/config/config_reader.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_map>
#include <utility>

#include <yaml-cpp/depthguard.h>

namespace lowbit::config {
namespace {

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string index_path(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

// Error messages quote at most this many characters of a value or key.
constexpr size_t kMaxQuoted = 80;

std::string quoted_prefix(const std::string& text) {
  if (text.size() <= kMaxQuoted) return text;
  return text.substr(0, kMaxQuoted) + "... (" + std::to_string(text.size()) + " characters)";
}

// Describes a value for an error message without dumping a whole subtree or a huge scalar.
std::string describe(const YAML::Node& value) {
  switch (value.Type()) {
    case YAML::NodeType::Null:
      return "nothing (null)";
    case YAML::NodeType::Scalar:
      return "'" + quoted_prefix(value.Scalar()) + "'";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Undefined:
      break;
  }
  return "an undefined value";
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool is_index(const std::string& token) {
  return !token.empty() &&
         std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Splits `stages[1].lr_schedule.power` or `stages.1.lr_schedule.power` into its parts.
std::vector<std::string> split_path(const std::string& path) {
  std::string normalized;
  for (char c : path) {
    if (c == '[') {
      normalized += '.';
    } else if (c != ']') {
      normalized += c;
    }
  }
  std::vector<std::string> parts;
  std::string part;
  std::istringstream stream(normalized);
  while (std::getline(stream, part, '.')) parts.push_back(part);
  if (!normalized.empty() && normalized.back() == '.') parts.emplace_back();
  return parts;
}

// The first keys of a map, for an error message listing them.
std::string some_keys(const YAML::Node& map) {
  constexpr size_t kListed = 20;
  std::vector<std::string> keys;
  size_t count = 0;
  for (const auto& entry : map) {
    if (++count > kListed) continue;
    keys.push_back(entry.first.IsScalar() ? quoted_prefix(entry.first.Scalar())
                                          : describe(entry.first));
  }
  std::string text = join(keys, ", ");
  if (count > kListed) text += ", ... (" + std::to_string(count) + " keys)";
  return text;
}

std::string position(const std::string& name, const YAML::Mark& mark) {
  if (mark.is_null()) return name;
  return name + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::string size_text(size_t bytes) {
  return std::to_string(bytes) + " bytes";
}

YAML::Node parse_yaml(const std::string& text, const std::string& name) {
  if (text.size() > kMaxConfigBytes) {
    throw ConfigError(name + ": " + size_text(text.size()) + " of YAML; the limit is " +
                      size_text(kMaxConfigBytes) + " (1 MiB)");
  }
  try {
    return YAML::Load(text);
  } catch (const YAML::DeepRecursion& error) {
    // yaml-cpp's own guard against a stack overflow while parsing.
    throw ConfigError(position(name, error.mark) + ": nested deeper than " +
                      std::to_string(kMaxConfigDepth) + " levels of maps and lists");
  } catch (const YAML::Exception& error) {
    throw ConfigError(position(name, error.mark) + ": YAML syntax error: " + error.msg);
  }
}

// The traversal behind check_tree. Aliases are shared nodes in yaml-cpp, so a node reached twice
// is visited twice: the count bounds the work of every later traversal, and the ancestors on the
// current path (compared by identity) reveal an alias inside the node it refers to.
class TreeChecker {
 public:
  explicit TreeChecker(std::string name) : name_(std::move(name)) {}

  void visit(const YAML::Node& node, const std::string& path, int depth) {
    if (++values_ > kMaxConfigValues) {
      throw ConfigError(name_ + ": more than " + std::to_string(kMaxConfigValues) +
                        " values with every alias expanded (at `" + shown(path) +
                        "`); nested aliases that multiply a config are refused");
    }
    if (!node.IsMap() && !node.IsSequence()) return;
    if (depth >= kMaxConfigDepth) {
      throw ConfigError(position(name_, node.Mark()) + ": `" + shown(path) +
                        "`: nested deeper than " + std::to_string(kMaxConfigDepth) +
                        " levels of maps and lists");
    }
    for (const YAML::Node& ancestor : ancestors_) {
      if (ancestor.is(node)) {
        throw ConfigError(position(name_, node.Mark()) + ": `" + shown(path) +
                          "`: an alias refers to a map or list that contains it (a recursive "
                          "alias such as `r: &r [*r]`)");
      }
    }
    ancestors_.push_back(node);
    if (node.IsSequence()) {
      size_t index = 0;
      for (const YAML::Node& item : node) visit(item, index_path(path, index++), depth + 1);
    } else {
      visit_map(node, path, depth);
    }
    ancestors_.pop_back();
  }

 private:
  static std::string shown(const std::string& path) { return path.empty() ? "(root)" : path; }

  void visit_map(const YAML::Node& map, const std::string& path, int depth) {
    // yaml-cpp keeps every entry of a repeated key (and lookups return the first), so repeats
    // are found here, by the entries' texts.
    std::unordered_map<std::string, YAML::Mark> seen;
    for (const auto& entry : map) {
      if (!entry.first.IsScalar()) {
        throw ConfigError(position(name_, entry.first.Mark()) + ": `" + shown(path) +
                          "`: expected a text key, got " + describe(entry.first));
      }
      const std::string& key = entry.first.Scalar();
      const auto [first, fresh] = seen.emplace(key, entry.first.Mark());
      if (!fresh) {
        throw ConfigError(position(name_, entry.first.Mark()) + ": `" +
                          child_path(path, quoted_prefix(key)) + "`: repeated key (first at " +
                          position(name_, first->second) + "); each key may appear once");
      }
      visit(entry.second, child_path(path, key), depth + 1);
    }
  }

  std::string name_;
  std::vector<YAML::Node> ancestors_;
  size_t values_ = 0;
};

// YAML merge keys (`<<: *anchor`, or a list of anchors) as YAML 1.1 defines them and yaml-cpp
// does not: the keys of the merged maps that the map does not set itself are copied in (deep
// copies, so that `--set` on one stage does not change the stage it was merged from). The copies
// have no position, so `merged` records where each came from. The tree was checked first
// (check_tree), so this recursion ends and its work is bounded; map entries are iterated, never
// looked up by key, since a yaml-cpp lookup scans the whole map.
void expand_merge_keys(YAML::Node node, const std::string& path, ConfigSource& source) {
  if (node.IsSequence()) {
    size_t index = 0;
    for (YAML::Node item : node) expand_merge_keys(item, index_path(path, index++), source);
    return;
  }
  if (!node.IsMap()) return;
  std::set<std::string> own;
  std::optional<YAML::Node> merge_entry;
  for (const auto& entry : node) {
    const std::string& key = entry.first.Scalar();
    if (key == "<<") {
      merge_entry = entry.second;
      continue;
    }
    own.insert(key);
    expand_merge_keys(entry.second, child_path(path, key), source);
  }
  if (!merge_entry) return;
  const YAML::Node merge = *merge_entry;
  std::vector<YAML::Node> maps;
  if (merge.IsMap()) maps.push_back(merge);
  if (merge.IsSequence()) {
    for (const YAML::Node& item : merge) maps.push_back(item);
  }
  if (maps.empty() ||
      std::any_of(maps.begin(), maps.end(), [](const YAML::Node& m) { return !m.IsMap(); })) {
    throw ConfigError(position(source.file, merge.Mark()) + ": `" + child_path(path, "<<") +
                      "`: expected a map or a list of maps (an anchored mapping, e.g. "
                      "`<<: *stage`)");
  }
  node.remove("<<");
  // A merged map may merge others itself (expanding it again does nothing). Earlier maps win
  // over later ones, the map's own keys over all of them.
  for (const YAML::Node& m : maps) {
    expand_merge_keys(m, child_path(path, "<<"), source);
    for (const auto& entry : m) {
      const std::string& key = entry.first.Scalar();
      if (!own.insert(key).second) continue;
      // The key is known to be absent, and force_insert skips yaml-cpp's scan of the map.
      node.force_insert(key, YAML::Clone(entry.second));
      source.merged[child_path(path, key)] = position(source.file, entry.second.Mark());
    }
  }
}

ConfigNode make_root(YAML::Node root, const std::string& name,
                     const std::vector<std::string>& overrides) {
  auto source = std::make_shared<ConfigSource>();
  source->file = name;
  check_tree(root, name);
  expand_merge_keys(root, "", *source);
  for (const auto& assignment : overrides)
    source->overridden.insert(apply_override(root, assignment));
  return ConfigNode(root, "", source);
}

}  // namespace

std::string read_config_file(const std::string& file) {
  std::error_code error;
  if (std::filesystem::is_directory(file, error)) {
    throw ConfigError(file + ": is a folder; expected a YAML config file");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(file + ": cannot open the config file");
  // Reads one byte past the limit rather than trusting the size on disk (pipes, growing files).
  std::string text(kMaxConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw ConfigError(file + ": cannot read the config file");
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxConfigBytes) {
    throw ConfigError(file + ": the config file is larger than the limit of " +
                      size_text(kMaxConfigBytes) + " (1 MiB)");
  }
  return text;
}

void check_tree(const YAML::Node& root, const std::string& name, int depth) {
  TreeChecker(name).visit(root, "", depth);
}

std::string apply_override(YAML::Node& root, const std::string& assignment) {
  const auto equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw ConfigError("--set " + assignment + ": expected KEY.PATH=VALUE, e.g. stages.1.epochs=20");
  }
  const std::string path_text = assignment.substr(0, equals);
  const std::vector<std::string> parts = split_path(path_text);
  YAML::Node value = parse_yaml(assignment.substr(equals + 1), "--set " + path_text);
  // The value lands parts.size() levels deep and gets the same checks as a file.
  check_tree(value, "--set " + path_text, static_cast<int>(parts.size()));

  YAML::Node current;
  current.reset(root);
  std::string walked;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    const bool last = i + 1 == parts.size();
    if (part.empty()) throw ConfigError("--set " + path_text + ": empty key in the path");
    if (current.IsSequence()) {
      const std::string range =
          current.size() == 0 ? "it is empty" : "0.." + std::to_string(current.size() - 1);
      if (!is_index(part)) {
        throw ConfigError("--set " + path_text + ": `" + (walked.empty() ? "(root)" : walked) +
                          "` is a list; expected an index (" + range + "), got '" + part + "'");
      }
      // Nine digits cannot overflow; a longer index is out of range for any config.
      const size_t index = part.size() > 9 ? current.size() : std::stoul(part);
      if (index >= current.size()) {
        throw ConfigError("--set " + path_text + ": index " + part + " is out of range; `" +
                          walked + "` has " + std::to_string(current.size()) + " elements");
      }
      walked = index_path(walked, index);
      if (last) {
        current[index] = value;
      } else {
        YAML::Node next = current[index];
        current.reset(next);
      }
      continue;
    }
    if (!current.IsMap()) {
      throw ConfigError("--set " + path_text + ": `" + (walked.empty() ? "(root)" : walked) +
                        "` is not a map or a list, so it has no key '" + part + "'");
    }
    const YAML::Node& const_current = current;
    const bool exists = static_cast<bool>(const_current[part]);
    walked = child_path(walked, part);
    if (last) {
      current[part] = value;
    } else {
      if (!exists) {
        throw ConfigError("--set " + path_text + ": no key `" + walked +
                          "` in the config (keys there: " + some_keys(current) + ")");
      }
      YAML::Node next = current[part];
      current.reset(next);
    }
  }
  return walked;
}

ConfigNode::ConfigNode(YAML::Node node, std::string path, std::shared_ptr<ConfigSource> source)
    : node_(std::move(node)),
      path_(std::move(path)),
      source_(std::move(source)),
      asked_(std::make_shared<std::set<std::string>>()) {}

ConfigNode ConfigNode::load_file(const std::string& file,
                                 const std::vector<std::string>& overrides) {
  return make_root(parse_yaml(read_config_file(file), file), file, overrides);
}

ConfigNode ConfigNode::parse(const std::string& text, const std::string& name,
                             const std::vector<std::string>& overrides) {
  return make_root(parse_yaml(text, name), name, overrides);
}

std::string ConfigNode::key_path(const std::string& key) const {
  return child_path(path_, key);
}

std::string ConfigNode::location_of(const YAML::Node& node, const std::string& path) const {
  for (const auto& overridden : source_->overridden) {
    // An override of `a.b` also covers everything inside it (`a.b.c`, `a.b[0]`).
    if (path.compare(0, overridden.size(), overridden) == 0 &&
        (path.size() == overridden.size() || path[overridden.size()] == '.' ||
         path[overridden.size()] == '[')) {
      return "--set " + overridden;
    }
  }
  for (const auto& [merged, origin] : source_->merged) {
    if (path.compare(0, merged.size(), merged) == 0 &&
        (path.size() == merged.size() || path[merged.size()] == '.' ||
         path[merged.size()] == '[')) {
      return origin + " (merged with <<)";
    }
  }
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return source_->file;
  return source_->file + ":" + std::to_string(mark.line + 1) + ":" +
         std::to_string(mark.column + 1);
}

std::string ConfigNode::location() const {
  return location_of(node_, path_);
}

void ConfigNode::fail(const std::string& key, const std::string& message) const {
  const std::string path = key_path(key);
  std::optional<YAML::Node> value;
  if (node_.IsMap() && node_[key]) value = node_[key];
  const std::string where = value ? location_of(*value, path) : location_of(node_, path_);
  throw ConfigError(where + ": `" + path + "`: " + message);
}

void ConfigNode::fail_value(const YAML::Node& value, const std::string& key,
                            const std::string& message) const {
  const std::string path = key_path(key);
  throw ConfigError(location_of(value, path) + ": `" + path + "`: " + message);
}

void ConfigNode::fail(const std::string& message) const {
  throw ConfigError(location() + ": `" + (path_.empty() ? "(root)" : path_) + "`: " + message);
}

std::optional<YAML::Node> ConfigNode::lookup(const std::string& key) const {
  asked_->insert(key);
  if (node_.IsNull()) return std::nullopt;
  if (!node_.IsMap()) fail("expected a map of settings, got " + describe(node_));
  YAML::Node value = node_[key];
  if (!value) return std::nullopt;
  return value;
}

bool ConfigNode::has(const std::string& key) const {
  return lookup(key).has_value();
}

YAML::Node ConfigNode::require_node(const std::string& key) const {
  auto value = lookup(key);
  if (!value) fail(key, "missing required key");
  return *value;
}

void ConfigNode::check_range(const std::string& key, double value, double lo, double hi,
                             bool strictly_positive) const {
  std::ostringstream message;
  if (strictly_positive) {
    if (value > 0.0) return;
    message << "expected a value > 0, got " << value;
  } else {
    if (value >= lo && value <= hi) return;
    message << "expected a value in [" << lo << ", " << hi << "], got " << value;
  }
  fail(key, message.str());
}

void ConfigNode::check_integer_range(const std::string& key, int64_t value, int64_t lo,
                                     int64_t hi) const {
  if (value >= lo && value <= hi) return;
  fail(key, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                "], got " + std::to_string(value));
}

std::string ConfigNode::choice(const std::string& key, const std::string& default_value,
                               const std::vector<std::string>& choices) const {
  const std::string value = get<std::string>(key, default_value);
  if (std::find(choices.begin(), choices.end(), value) == choices.end()) {
    fail(key, "expected one of " + join(choices, ", ") + "; got '" + quoted_prefix(value) + "'");
  }
  return value;
}

std::string ConfigNode::require_choice(const std::string& key,
                                       const std::vector<std::string>& choices) const {
  if (!has(key)) fail(key, "missing required key (one of " + join(choices, ", ") + ")");
  return choice(key, "", choices);
}

std::vector<std::string> ConfigNode::keys() const {
  std::vector<std::string> result;
  if (node_.IsNull()) return result;
  if (!node_.IsMap()) fail("expected a map of settings, got " + describe(node_));
  for (const auto& entry : node_) {
    result.push_back(entry.first.as<std::string>());
    asked_->insert(result.back());
  }
  return result;
}

ConfigNode ConfigNode::child(const std::string& key) const {
  auto node = optional_child(key);
  if (!node) fail(key, "missing required section");
  return *node;
}

std::optional<ConfigNode> ConfigNode::optional_child(const std::string& key) const {
  auto value = lookup(key);
  if (!value) return std::nullopt;
  if (!value->IsMap() && !value->IsNull()) {
    fail(key, "expected a map of settings, got " + describe(*value));
  }
  return ConfigNode(*value, key_path(key), source_);
}

std::vector<ConfigNode> ConfigNode::list(const std::string& key) const {
  auto value = lookup(key);
  std::vector<ConfigNode> items;
  if (!value || value->IsNull()) return items;
  if (!value->IsSequence()) fail(key, "expected a list, got " + describe(*value));
  for (size_t i = 0; i < value->size(); ++i) {
    items.emplace_back((*value)[i], index_path(key_path(key), i), source_);
  }
  return items;
}

void ConfigNode::done() const {
  if (!node_.IsMap()) return;
  std::vector<std::string> accepted(asked_->begin(), asked_->end());
  for (const auto& entry : node_) {
    const std::string key = entry.first.as<std::string>();
    if (asked_->count(key) != 0) continue;
    std::string message = "unknown key";
    std::string best;
    size_t best_distance = 3;
    for (const auto& known : accepted) {
      const size_t distance = edit_distance(key, known);
      if (distance < best_distance) {
        best_distance = distance;
        best = known;
      }
    }
    if (!best.empty()) message += " (did you mean '" + best + "'?)";
    message += accepted.empty() ? "; this section takes no keys"
                                : "; accepted keys: " + join(accepted, ", ");
    throw ConfigError(location_of(entry.first, key_path(key)) + ": `" +
                      key_path(quoted_prefix(key)) + "`: " + message);
  }
}

template <>
bool ConfigNode::convert<bool>(const YAML::Node& value, const std::string& key) const {
  bool result = false;
  if (!value.IsScalar() || !YAML::convert<bool>::decode(value, result)) {
    fail_value(value, key, "expected true or false, got " + describe(value));
  }
  return result;
}

template <>
int64_t ConfigNode::convert<int64_t>(const YAML::Node& value, const std::string& key) const {
  long long result = 0;
  if (!value.IsScalar() || !YAML::convert<long long>::decode(value, result)) {
    fail_value(value, key, "expected an integer, got " + describe(value));
  }
  return static_cast<int64_t>(result);
}

template <>
int ConfigNode::convert<int>(const YAML::Node& value, const std::string& key) const {
  int result = 0;
  if (!value.IsScalar() || !YAML::convert<int>::decode(value, result)) {
    fail_value(value, key, "expected an integer (32-bit), got " + describe(value));
  }
  return result;
}

template <>
double ConfigNode::convert<double>(const YAML::Node& value, const std::string& key) const {
  double result = 0.0;
  if (!value.IsScalar() || !YAML::convert<double>::decode(value, result) ||
      !std::isfinite(result)) {
    fail_value(value, key, "expected a finite number, got " + describe(value));
  }
  return result;
}

template <>
float ConfigNode::convert<float>(const YAML::Node& value, const std::string& key) const {
  const double result = convert<double>(value, key);
  if (std::fabs(result) > static_cast<double>(std::numeric_limits<float>::max())) {
    fail_value(value, key, "expected a number within the float range, got " + describe(value));
  }
  return static_cast<float>(result);
}

template <>
std::string ConfigNode::convert<std::string>(const YAML::Node& value,
                                             const std::string& key) const {
  if (!value.IsScalar()) fail_value(value, key, "expected a text value, got " + describe(value));
  return value.Scalar();
}

// Elements are read one by one so that an error names `key[i]` and the element's own line.
#define LOWBIT_CONFIG_LIST(T)                                                                   \
  template <>                                                                                   \
  std::vector<T> ConfigNode::convert<std::vector<T>>(const YAML::Node& value,                   \
                                                     const std::string& key) const {            \
    if (!value.IsSequence()) fail_value(value, key, "expected a list, got " + describe(value)); \
    std::vector<T> items;                                                                       \
    for (size_t i = 0; i < value.size(); ++i) {                                                 \
      items.push_back(convert<T>(value[i], key + "[" + std::to_string(i) + "]"));               \
    }                                                                                           \
    return items;                                                                               \
  }

LOWBIT_CONFIG_LIST(int)
LOWBIT_CONFIG_LIST(int64_t)
LOWBIT_CONFIG_LIST(double)
LOWBIT_CONFIG_LIST(float)
LOWBIT_CONFIG_LIST(std::string)

#undef LOWBIT_CONFIG_LIST

}  // namespace lowbit::config

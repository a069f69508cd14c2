#include "lowbit/export/export_folder.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "lowbit/export/target.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::exporter {
namespace {

namespace fs = std::filesystem;

constexpr const char* kModelJsonFormat = "lowbit-integer-model";
constexpr const char* kOnnxModelJsonFormat = "lowbit-onnx-model";

bool is_c_identifier(const std::string& text) {
  if (text.empty() || std::isdigit(static_cast<unsigned char>(text[0]))) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// Unique per process and call: the temporary and replaced siblings of an export folder.
std::string sibling_suffix() {
  static std::atomic<unsigned> counter{0};
  return std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// Folders that an export killed midway left beside `target`: ".NAME.tmp-PID-N" (an unfinished
// export) and, once `target` is back in place, ".NAME.old-PID-N" (a replaced one). Only those of
// processes that no longer exist are removed; an ".old" folder without a target is the only
// copy of the earlier export and stays.
void remove_stale_siblings(const fs::path& target) {
  const std::string name = target.filename().string();
  std::error_code ec;
  const bool target_exists = fs::exists(target, ec);
  for (fs::directory_iterator it(target.parent_path(), ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string entry = it->path().filename().string();
    for (const std::string kind : {".tmp-", ".old-"}) {
      const std::string head = "." + name + kind;
      if (entry.rfind(head, 0) != 0 || (kind == ".old-" && !target_exists)) continue;
      const std::string rest = entry.substr(head.size());
      const size_t dash = rest.find('-');
      if (dash == 0 || dash == std::string::npos || dash > 9 ||
          rest.find_first_not_of("0123456789-") != std::string::npos) {
        continue;
      }
      std::error_code ignored;
      if (util::process_is_gone(std::stol(rest.substr(0, dash))) &&
          it->symlink_status(ignored).type() == fs::file_type::directory) {
        fs::remove_all(it->path(), ignored);
      }
    }
  }
}

// Symbolic links are resolved so that a link to the run directory counts as the run directory.
fs::path resolved(const fs::path& path) {
  std::error_code ec;
  fs::path out = fs::weakly_canonical(fs::absolute(path), ec);
  if (ec) out = fs::absolute(path).lexically_normal();
  if (out.filename().empty() && out.has_parent_path() && out != out.root_path()) {
    out = out.parent_path();
  }
  return out;
}

// True when `inner` is `outer` or lies below it (both resolved).
bool is_within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // the trailing "" of a path ending in '/'
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

bool has_marker(const fs::path& folder) {
  std::error_code ec;
  const fs::path marker = folder / kExportMarkerName;
  if (!fs::is_regular_file(fs::symlink_status(marker, ec))) return false;
  try {
    return util::read_file(marker.string()).rfind("lowbit-export ", 0) == 0;
  } catch (const util::FileError&) {
    return false;
  }
}

// Exports written before the marker: exactly the entries export writes, and its model.json.
bool is_unmarked_export(const fs::path& folder) {
  std::set<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    names.insert(it->path().filename().string());
  }
  if (ec || names != std::set<std::string>{"model.c", "model.h", "model.json", "runtime"}) {
    return false;
  }
  try {
    const auto json = nlohmann::json::parse(util::read_file((folder / "model.json").string()));
    return json.is_object() && json.value("format", "") == kModelJsonFormat;
  } catch (const std::exception&) {
    return false;
  }
}

bool is_run_directory(const fs::path& folder) {
  std::error_code ec;
  if (!fs::is_regular_file(folder / "config.yaml", ec)) return false;
  if (fs::exists(folder / "metrics.csv", ec)) return true;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    if (fs::exists(it->path() / "best.pt", ec) || fs::exists(it->path() / "last.pt", ec)) {
      return true;
    }
  }
  return false;
}

// The first lowbit run or checkpoint at or below `folder` (links are not followed), or "".
std::string training_results_in(const fs::path& folder) {
  if (is_run_directory(folder)) return folder.string();
  std::error_code ec;
  const auto options = fs::directory_options::skip_permission_denied;
  for (fs::recursive_directory_iterator it(folder, options, ec), end; !ec && it != end;
       it.increment(ec)) {
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    if (it->is_symlink(ec)) continue;
    if ((name == "best.pt" || name == "last.pt") && it->is_regular_file(ec)) return path.string();
    if (it->is_directory(ec) && is_run_directory(path)) return path.string();
  }
  return "";
}

[[noreturn]] void refuse(const fs::path& target, const std::string& why) {
  throw util::FileError("export: refusing to replace '" + target.string() + "': " + why);
}

std::string string_at(const nlohmann::json& object, const char* key, const std::string& where,
                      const std::string& path) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) {
    throw util::FileError(
        "'" + path + "': expected a string at '" + where + key + "'" +
        (it == object.end() ? " (missing)" : ", got " + it->dump().substr(0, 80)));
  }
  return it->get<std::string>();
}

// A non-negative integer at `key` of `object`; throws naming `where` + key otherwise.
int64_t count_at(const nlohmann::json& object, const std::string& key, const std::string& where,
                 const std::string& path) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer() || it->get<int64_t>() < 0) {
    throw util::FileError("'" + path + "': expected a non-negative integer at '" + where + key +
                          "'");
  }
  return it->get<int64_t>();
}

// model.json's "sizes" and every layer's size keys (codegen's model_json writes them).
ExportSizes parse_sizes(const nlohmann::json& json, const std::string& path) {
  const nlohmann::json& sizes = json.at("sizes");
  if (!sizes.is_object()) throw util::FileError("'" + path + "': expected an object at 'sizes'");
  ExportSizes out;
  out.flash_bytes = count_at(sizes, "flash_bytes", "sizes.", path);
  out.arena_bytes = count_at(sizes, "arena_bytes", "sizes.", path);
  out.kernel_scratch_bytes = count_at(sizes, "kernel_scratch_bytes", "sizes.", path);
  out.scratch_bytes = count_at(sizes, "scratch_bytes", "sizes.", path);
  out.input_bytes = count_at(sizes, "input_bytes", "sizes.", path);
  out.output_bytes = count_at(sizes, "output_bytes", "sizes.", path);
  out.macs = count_at(sizes, "macs", "sizes.", path);
  // Sequence models record their time steps and state; exports before them have neither.
  if (json.contains("time_steps")) out.time_steps = count_at(json, "time_steps", "", path);
  if (sizes.contains("state_bytes")) {
    out.state_bytes = count_at(sizes, "state_bytes", "sizes.", path);
  }
  if (sizes.contains("macs_per_step")) {
    out.macs_per_step = count_at(sizes, "macs_per_step", "sizes.", path);
  }
  const auto layers = json.find("layers");
  if (layers == json.end() || !layers->is_array()) {
    throw util::FileError("'" + path + "': expected an array at 'layers'");
  }
  for (size_t i = 0; i < layers->size(); ++i) {
    const nlohmann::json& layer = (*layers)[i];
    const std::string where = "layers." + std::to_string(i) + ".";
    if (!layer.is_object())
      throw util::FileError("'" + path + "': expected an object at '" +
                            where.substr(0, where.size() - 1) + "'");
    ExportLayerSize l;
    l.name = string_at(layer, "name", where, path);
    l.op = string_at(layer, "op", where, path);
    if (layer.contains("bits")) l.bits = static_cast<int>(count_at(layer, "bits", where, path));
    l.weight_bytes = count_at(layer, "weight_bytes", where, path);
    l.bias_bytes = count_at(layer, "bias_bytes", where, path);
    l.requant_bytes = count_at(layer, "requant_bytes", where, path);
    l.flash_bytes = count_at(layer, "flash_bytes", where, path);
    l.output_bytes = count_at(layer, "output_bytes", where, path);
    l.macs = count_at(layer, "macs", where, path);
    out.layers.push_back(std::move(l));
  }
  return out;
}

}  // namespace

std::string export_marker_text() {
  return "lowbit-export " + std::to_string(kExportMarkerVersion) +
         "\nThis folder was written by `lowbit export`; exporting to it again replaces all of "
         "it.\n";
}

bool is_export_folder(const std::string& folder) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(folder, ec))) return false;
  return has_marker(folder) || is_unmarked_export(folder);
}

void check_export_target(const std::string& target, const std::vector<std::string>& protected_paths,
                         bool force) {
  std::error_code ec;
  const fs::path given = fs::absolute(target).lexically_normal();
  const fs::file_status status = fs::symlink_status(given, ec);
  if (!fs::exists(status)) return;
  if (fs::is_symlink(status)) {
    refuse(given, "it is a symbolic link; give the folder it points to, or a new path");
  }
  if (!fs::is_directory(status)) {
    refuse(given, "it is a file, not a folder; export writes a folder (give a new path)");
  }
  const fs::path real = resolved(given);
  std::vector<std::pair<std::string, std::string>> guarded;
  for (const std::string& path : protected_paths) guarded.emplace_back(path, "'" + path + "'");
  guarded.emplace_back(fs::current_path(ec).string(), "the working directory");
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    guarded.emplace_back(home, "the home directory");
  }
  for (const auto& [path, what] : guarded) {
    if (path.empty()) continue;
    if (is_within(resolved(path), real)) {
      refuse(given, "it is or contains " + what + " (even with --force)");
    }
  }
  const std::string results = training_results_in(real);
  if (!results.empty()) {
    refuse(given, "it holds lowbit training results ('" + results +
                      "'), which export never deletes (even with --force)");
  }
  if (fs::is_empty(given, ec) || is_export_folder(given.string()) || force) return;
  refuse(given, std::string("it is a non-empty folder without the '") + kExportMarkerName +
                    "' marker of an earlier export; choose a new or empty folder, remove it "
                    "yourself, or pass --force to replace it");
}

std::string c_comment_safe(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool printable = std::isprint(static_cast<unsigned char>(c)) != 0;
    out += (printable && c != '*') ? c : '_';
  }
  return out;
}

void check_prefix(const std::string& prefix) {
  if (!is_c_identifier(prefix)) {
    // The prefix may come from a hostile model.json: show it shortened and printable.
    throw std::invalid_argument("codegen: prefix '" + c_comment_safe(prefix.substr(0, 80)) +
                                "' is not a C identifier ([A-Za-z_][A-Za-z0-9_]*)");
  }
}

fs::path write_export_folder(const std::string& folder,
                             const std::vector<std::string>& protected_paths, bool force,
                             const std::string& who,
                             const std::function<void(const fs::path&)>& write_files) {
  fs::path target = fs::absolute(fs::path(folder)).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();  // "out/" names "out"
  check_export_target(target.string(), protected_paths, force);
  remove_stale_siblings(target);
  const fs::path parent = target.parent_path();
  const std::string name = target.filename().string();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw util::FileError(who + ": cannot create " + parent.string() + ": " + ec.message());
  const std::string suffix = sibling_suffix();
  const fs::path temp = parent / ("." + name + ".tmp-" + suffix);
  const fs::path old = parent / ("." + name + ".old-" + suffix);
  try {
    fs::create_directories(temp);
    write_files(temp);
    util::write_text_atomically((temp / kExportMarkerName).string(), export_marker_text());
    const bool replace = fs::exists(target);
    if (replace) fs::rename(target, old);
    try {
      fs::rename(temp, target);
    } catch (...) {
      if (replace) fs::rename(old, target);
      throw;
    }
    if (replace) fs::remove_all(old, ec);  // the new export is in place; a leftover is harmless
  } catch (const fs::filesystem_error& error) {
    fs::remove_all(temp, ec);
    throw util::FileError(who + ": writing export " + target.string() + " failed: " + error.what());
  } catch (...) {
    fs::remove_all(temp, ec);
    throw;
  }
  return target;
}

ExportInfo parse_export_info(const std::string& text, const std::string& path) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw util::FileError("'" + path + "': not valid JSON (" +
                          std::string(e.what()).substr(0, 200) +
                          "); expected the model.json that `lowbit export` writes");
  }
  if (!json.is_object()) {
    throw util::FileError("'" + path + "': expected a JSON object, got " + json.type_name());
  }
  const std::string format = string_at(json, "format", "", path);
  const bool onnx = format == kOnnxModelJsonFormat;
  if (format != kModelJsonFormat && !onnx) {
    throw util::FileError("'" + path + "': 'format' is not \"" + kModelJsonFormat + "\" or \"" +
                          kOnnxModelJsonFormat +
                          "\"; expected the model.json that `lowbit export` writes");
  }
  const auto version = json.find("version");
  if (version == json.end() || !version->is_number_integer() || *version != 1) {
    throw util::FileError("'" + path + "': expected 'version' 1, got " +
                          (version == json.end() ? "none" : version->dump().substr(0, 40)));
  }
  ExportInfo info;
  if (onnx) {
    info.format = string_at(json, "onnx_format", "", path);
    if (info.format != "qdq" && info.format != "qonnx") {
      throw util::FileError("'" + path + "': expected 'onnx_format' \"qdq\" or \"qonnx\", got \"" +
                            info.format.substr(0, 40) + "\"");
    }
    const auto opset = json.find("opset");
    if (opset == json.end() || !opset->is_number_integer()) {
      throw util::FileError("'" + path + "': expected an integer at 'opset'");
    }
    info.opset = opset->get<int>();
    const auto functions = json.find("runnable_functions");
    info.runnable_functions =
        functions != json.end() && functions->is_boolean() && functions->get<bool>();
    info.target.clear();
  } else {
    info.prefix = string_at(json, "prefix", "", path);
    try {
      check_prefix(info.prefix);
    } catch (const std::invalid_argument& e) {
      throw util::FileError("'" + path + "': key 'prefix': " + e.what());
    }
  }
  if (!onnx && json.contains("sizes")) info.sizes = parse_sizes(json, path);
  const auto provenance = json.find("provenance");
  if (provenance == json.end() || !provenance->is_object()) {
    throw util::FileError("'" + path + "': expected an object at 'provenance'");
  }
  info.stage = string_at(*provenance, "stage", "provenance.", path);
  info.source_run = string_at(*provenance, "source_run", "provenance.", path);
  if (!onnx && json.contains("target")) {
    info.target = string_at(json, "target", "", path);
    try {
      target_named(info.target);
    } catch (const std::invalid_argument& e) {
      throw util::FileError("'" + path + "': key 'target': " + e.what());
    }
  }
  return info;
}

ExportInfo read_export_info(const std::string& folder) {
  const std::string path = (fs::path(folder) / "model.json").string();
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw util::FileError("'" + path + "' does not exist: '" + folder +
                          "' is not a folder written by `lowbit export`");
  }
  if (!fs::is_regular_file(path, ec)) {
    throw util::FileError("'" + path + "' is not a regular file; expected an export's model.json");
  }
  return parse_export_info(util::read_file(path), path);
}

}  // namespace lowbit::exporter

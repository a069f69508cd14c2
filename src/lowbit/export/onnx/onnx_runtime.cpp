#include "lowbit/export/onnx/onnx_runtime.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "lowbit/util/atomic_file.h"
#include "lowbit/util/shell.h"

namespace lowbit::exporter {

namespace fs = std::filesystem;

namespace {

template <class T>
std::vector<double> decode(const std::string& raw) {
  std::vector<double> values(raw.size() / sizeof(T));
  for (size_t i = 0; i < values.size(); ++i) {
    T v;
    std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
    values[i] = static_cast<double>(v);
  }
  return values;
}

}  // namespace

std::string onnx_runtime_unavailable_reason(const OrtRunOptions& options) {
  if (!util::on_path("node")) {
    return "node (Node.js) is not on PATH: install Debian's nodejs and npm (scripts/setup.sh)";
  }
  const fs::path package = fs::path(options.tools_dir) / "node_modules" / "onnxruntime-node";
  if (!fs::exists(package / "package.json")) {
    return "onnxruntime-node is not installed in " + options.tools_dir +
           " (scripts/setup.sh installs it: cd " + options.tools_dir +
           " && npm ci --ignore-scripts)";
  }
  if (!fs::exists(fs::path(options.tools_dir) / "run_model.js")) {
    return options.tools_dir + "/run_model.js is missing";
  }
  return "";
}

std::vector<OrtOutput> run_onnx_runtime(const std::string& model_path,
                                        const std::vector<float>& input,
                                        const std::vector<int64_t>& dims,
                                        const std::string& work_folder,
                                        const OrtRunOptions& options) {
  const std::string missing = onnx_runtime_unavailable_reason(options);
  if (!missing.empty()) throw util::FileError("onnx runtime: " + missing);
  const fs::path work(work_folder);
  fs::create_directories(work);
  const fs::path in = work / "input.f32";
  util::write_file_atomically(in.string(), [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(input.data()),
              static_cast<std::streamsize>(input.size() * sizeof(float)));
  });
  std::string shape;
  for (int64_t d : dims) shape += (shape.empty() ? "" : ",") + std::to_string(d);
  const fs::path out = work / "outputs";
  fs::remove_all(out);
  const fs::path log = work / "run_model.log";
  const std::string command =
      "node " + util::shell_quote((fs::path(options.tools_dir) / "run_model.js").string()) +
      " --model " + util::shell_quote(model_path) + " --input " + util::shell_quote(in.string()) +
      " --shape " + shape + " --out " + util::shell_quote(out.string()) + " --optimize " +
      util::shell_quote(options.optimize) + " --threads " + std::to_string(options.threads);
  const int status = util::run_shell(command, log.string());
  if (status != 0) {
    throw util::FileError("onnx runtime: running " + model_path + " failed (exit " +
                          std::to_string(status) + "):\n" + util::read_log(log.string()));
  }
  const std::string listing_path = (out / "outputs.json").string();
  nlohmann::json listing;
  try {
    listing = nlohmann::json::parse(util::read_file(listing_path));
  } catch (const nlohmann::json::exception& error) {
    throw util::FileError("onnx runtime: " + listing_path + ": " + error.what());
  }
  std::vector<OrtOutput> outputs;
  for (const auto& entry : listing.at("outputs")) {
    OrtOutput o;
    o.name = entry.at("name").get<std::string>();
    o.type = entry.at("type").get<std::string>();
    o.dims = entry.at("dims").get<std::vector<int64_t>>();
    const std::string raw = util::read_file((out / entry.at("file").get<std::string>()).string());
    if (o.type == "float32") {
      o.values = decode<float>(raw);
    } else if (o.type == "uint8") {
      o.values = decode<uint8_t>(raw);
    } else if (o.type == "int8") {
      o.values = decode<int8_t>(raw);
    } else if (o.type == "int32") {
      o.values = decode<int32_t>(raw);
    } else {
      throw util::FileError("onnx runtime: output '" + o.name + "' has unsupported type " + o.type);
    }
    outputs.push_back(std::move(o));
  }
  return outputs;
}

}  // namespace lowbit::exporter

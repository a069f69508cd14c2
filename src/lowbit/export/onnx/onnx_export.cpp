#include "lowbit/export/onnx/onnx_export.h"

#include <filesystem>
#include <stdexcept>

#include "lowbit/export/export_folder.h"
#include "lowbit/export/onnx/onnx_check.h"
#include "lowbit/export/onnx/onnx_lowering.h"
#include "lowbit/export/onnx/qdq_writer.h"
#include "lowbit/export/onnx/qonnx_writer.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::exporter {

namespace fs = std::filesystem;

namespace {

nlohmann::json shape_json(const Shape& shape, int rank) {
  nlohmann::json dims = nlohmann::json::array({"N"});
  if (rank == 4) {
    dims.push_back(shape.channels);
    dims.push_back(shape.height);
    dims.push_back(shape.width);
  } else {
    dims.push_back(shape.size());
  }
  return dims;
}

}  // namespace

const char* onnx_format_name(OnnxFormat format) {
  return format == OnnxFormat::kQdq ? "qdq" : "qonnx";
}

OnnxFormat onnx_format_named(const std::string& name) {
  if (name == "qdq") return OnnxFormat::kQdq;
  if (name == "qonnx") return OnnxFormat::kQonnx;
  throw std::invalid_argument("unknown ONNX format '" + name + "' (choices: qdq, qonnx)");
}

std::string onnx_model_bytes(const IntegerModel& model, const OnnxOptions& options, bool* checked) {
  const std::string bytes = options.format == OnnxFormat::kQdq ? write_qdq_model(model, options)
                                                               : write_qonnx_model(model, options);
  const bool ran = check_onnx_model(
      bytes, std::string(onnx_format_name(options.format)) + " export of '" + model.name + "'");
  if (checked) *checked = ran;
  return bytes;
}

nlohmann::json onnx_model_json(const IntegerModel& model, const OnnxOptions& options,
                               bool checked) {
  const std::vector<Shape> shapes = validate(model);
  const OnnxRanks ranks = onnx_ranks(model);
  const Layer& last = model.layers.back();
  nlohmann::json layers = nlohmann::json::array();
  for (const Layer& layer : model.layers) {
    layers.push_back({{"name", layer.name},
                      {"computes", onnx_layer_computes(layer)},
                      {"output_scale", layer.output_scale},
                      {"output_zero_point", layer.output_zero_point}});
  }
  return {
      {"format", "lowbit-onnx-model"},
      {"version", 1},
      {"onnx_format", onnx_format_name(options.format)},
      {"file", kOnnxModelFile},
      {"opset", options.opset},
      {"int4_weights", options.int4_weights},
      {"runnable_functions", options.runnable_functions},
      {"checked", checked},
      {"name", model.name},
      {"input",
       {{"name", kOnnxInputName},
        {"dtype", "float32"},
        {"shape", shape_json(model.input_shape, ranks.input)},
        {"scale", model.input_scale},
        {"zero_point", model.input_zero_point}}},
      {"output",
       {{"name", kOnnxOutputName},
        {"dtype", "float32"},
        {"shape", shape_json(shapes.back(), ranks.layers.back())},
        {"scale", last.output_scale},
        {"zero_point", last.output_zero_point}}},
      {"layers", layers},
      {"provenance", provenance_json(options.provenance)},
  };
}

OnnxExportResult export_onnx(const IntegerModel& model, const std::string& folder,
                             const OnnxOptions& options) {
  // Everything in memory first: a bad model or a checker error throws before any file is touched.
  bool checked = false;
  const std::string bytes = onnx_model_bytes(model, options, &checked);
  const std::string json_text = onnx_model_json(model, options, checked).dump(2) + "\n";

  const fs::path target = write_export_folder(
      folder, options.protected_paths, options.force, "onnx export", [&](const fs::path& temp) {
        util::write_text_atomically((temp / kOnnxModelFile).string(), bytes);
        util::write_text_atomically((temp / "model.json").string(), json_text);
      });
  return {(target / kOnnxModelFile).string(), static_cast<int64_t>(bytes.size()), checked};
}

}  // namespace lowbit::exporter

// `lowbit quantize`: one NumPy array through one quantizer, with its integer form on request.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "lowbit/cli/commands.h"
#include "lowbit/cli/one_shot.h"
#include "lowbit/cli/output_files.h"
#include "lowbit/data/files/npy.h"
#include "lowbit/quant/registry.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli {
namespace {

/// What the command line asked for.
struct QuantizeOptions {
  std::string spec;
  std::string in;
  std::string out;
  std::string ints;
  std::string scale;
  std::string zero_point;
  std::string role = "weight";
  bool per_channel = false;
};

quant::Role parse_role(const std::string& name) {
  for (const auto role : {quant::Role::kWeight, quant::Role::kBias, quant::Role::kActivation}) {
    if (quant::role_name(role) == name) return role;
  }
  throw quant::SpecError("unknown role '" + name + "'; expected weight, bias or activation");
}

std::string index_text(int64_t flat, const torch::Tensor& x) {
  std::vector<int64_t> index(static_cast<size_t>(x.dim()));
  for (int64_t d = x.dim() - 1; d >= 0; --d) {
    index[static_cast<size_t>(d)] = flat % x.size(d);
    flat /= x.size(d);
  }
  std::string s = "(";
  for (size_t i = 0; i < index.size(); ++i) s += (i ? ", " : "") + std::to_string(index[i]);
  return s + ")";
}

// `what` says where the value stands, so a float64 value too large for float32 reads as such.
void check_finite(const torch::Tensor& x, const std::string& path, const std::string& what) {
  const torch::Tensor bad = torch::isfinite(x).logical_not().flatten().nonzero();
  if (bad.size(0) == 0) return;
  const int64_t first = bad[0][0].item<int64_t>();
  const double value = x.flatten()[first].item<double>();
  const std::string value_text = std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf");
  throw util::FileError("'" + path + "': element " + index_text(first, x) + " is " + value_text +
                        what + "; the input must be finite (" + std::to_string(bad.size(0)) +
                        " non-finite value" + (bad.size(0) == 1 ? "" : "s") + ")");
}

std::string shape_text(const torch::Tensor& x) {
  std::string s = "(";
  for (int64_t d = 0; d < x.dim(); ++d) {
    s += (d ? ", " : "") + std::to_string(x.size(d));
  }
  return s + (x.dim() == 1 ? ",)" : ")");
}

torch::Tensor read_input(const std::string& path) {
  const torch::Tensor raw = data::read_npy(path);
  if (raw.scalar_type() != torch::kFloat32 && raw.scalar_type() != torch::kFloat64) {
    throw util::FileError("'" + path + "': expected a float32 or float64 array, got " +
                          c10::toString(raw.scalar_type()));
  }
  if (raw.numel() == 0) {
    throw util::FileError("'" + path + "': the array has no elements (shape " + shape_text(raw) +
                          "); expected at least one value to quantize");
  }
  check_finite(raw, path, "");
  const torch::Tensor x = raw.to(torch::kFloat32);
  check_finite(x, path, " as float32 (out of float32 range)");
  return x;
}

// Codes go out as int8 when the grid's whole code range fits, so the dtype follows the spec,
// not the data; the data check only guards against a grid that reports its range wrongly.
torch::Tensor codes_for_output(const quant::IntegerForm& form) {
  const torch::Tensor codes = form.codes.to(torch::kInt32);
  const bool grid_fits = form.code_min >= -128 && form.code_max <= 127;
  const bool data_fits = codes.numel() == 0 || (codes.min().item<int32_t>() >= -128 &&
                                                codes.max().item<int32_t>() <= 127);
  return grid_fits && data_fits ? codes.to(torch::kInt8) : codes;
}

// Huge finite inputs and extreme SPEC parameters can overflow float32 inside the quantizer;
// writing the resulting inf/NaN with exit 0 would hide it, so say which of the two is at fault.
void check_results(const torch::Tensor& y, const quant::IntegerForm& form, const torch::Tensor& x,
                   const std::string& path, const quant::QuantSpec& spec) {
  const torch::Tensor scale = form.scale.to(torch::kDouble);
  const bool scale_ok = torch::isfinite(scale).all().item<bool>();
  const bool values_ok = torch::isfinite(y).all().item<bool>();
  if (scale_ok && values_ok) return;
  const torch::Tensor bad_values = torch::isfinite(y).logical_not().flatten().nonzero();
  std::string what = "'" + path + "' quantized with SPEC '" + spec.str() + "' gives ";
  if (!values_ok) {
    what += std::to_string(bad_values.size(0)) + " non-finite value" +
            (bad_values.size(0) == 1 ? "" : "s") + " (first at element " +
            index_text(bad_values[0][0].item<int64_t>(), y) + ")";
  } else {
    what += "finite values";
  }
  const double largest = x.abs().max().item<double>();
  char magnitude[64];
  std::snprintf(magnitude, sizeof(magnitude), "%.6g", largest);
  if (!scale_ok) {
    const torch::Tensor bad = torch::isfinite(scale).logical_not().flatten().nonzero();
    const double value = scale.flatten()[bad[0][0]].item<double>();
    char scale_text[64];
    std::snprintf(scale_text, sizeof(scale_text), "%.6g", value);
    what += std::string(values_ok ? " but" : " and") + " a scale of " + scale_text +
            ": the input's largest magnitude (" + magnitude +
            ") or the SPEC's parameters are out of float32 range for this grid; scale the input "
            "down or change the parameters";
  } else {
    what += std::string(": the input's largest magnitude (") + magnitude +
            ") or the SPEC's parameters overflow float32 on this grid; scale the input down or "
            "change the parameters";
  }
  throw util::FileError(what);
}

void run_quantize(const QuantizeOptions& o) {
  quant::QuantSpec spec = quant::QuantSpec::parse(o.spec);
  const quant::Role role = parse_role(o.role);
  if (o.per_channel) {
    const quant::QuantizerType& type = quant::quantizer_type(spec.type());
    bool has_key = false;
    for (const auto& p : type.params) has_key = has_key || p.name == "per_channel";
    if (!has_key) {
      throw quant::SpecError("--per-channel: quantizer type '" + type.name +
                             "' has no per_channel parameter");
    }
    spec.set("per_channel", "1");
  }
  const torch::Tensor x = read_input(o.in);
  const quant::Quantizer q = quant::make_quantizer(spec, role);
  if (o.per_channel && x.dim() == 0) {
    throw util::FileError("'" + o.in +
                          "': --per-channel needs an array with at least one dimension (one "
                          "scale per slice along axis 0)");
  }
  quant::IntegerForm form;
  const torch::Tensor y = quantize_once(*q, x, &form);
  check_results(y, form, x, o.in, spec);

  std::vector<OutputFile> outputs;
  outputs.emplace_back(o.out, data::npy_bytes(y.to(torch::kFloat32), o.out));
  if (!o.ints.empty())
    outputs.emplace_back(o.ints, data::npy_bytes(codes_for_output(form), o.ints));
  if (!o.scale.empty()) {
    outputs.emplace_back(o.scale, data::npy_bytes(form.scale.to(torch::kFloat32), o.scale));
  }
  if (!o.zero_point.empty()) {
    outputs.emplace_back(o.zero_point,
                         data::npy_bytes(form.zero_point.to(torch::kInt32), o.zero_point));
  }
  write_outputs(outputs);
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto o = std::make_shared<QuantizeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "quantize",
      "Quantize a NumPy array with one quantizer SPEC and write the dequantized values "
      "(float32); optionally the integer codes, scales and zero points");
  cmd->add_option("--spec", o->spec,
                  "Quantizer SPEC, e.g. uniform:bits=4 (see `lowbit quantizers`)")
      ->required();
  cmd->add_option("--in", o->in, "Input .npy file, float32 or float64 (converted), any shape")
      ->required();
  cmd->add_option("--out", o->out, "Output .npy file: dequantized values, float32, input's shape")
      ->required();
  cmd->add_flag("--per-channel", o->per_channel,
                "Add per_channel=1 to the SPEC: one scale per slice along axis 0");
  cmd->add_option("--ints", o->ints,
                  "Write the integer codes here: int8 when the grid's code range fits, else int32");
  cmd->add_option("--scale", o->scale, "Write the scale(s) here: float32, shape () or (C,)");
  cmd->add_option("--zero-point", o->zero_point,
                  "Write the zero point(s) here: int32, the scale's shape");
  cmd->add_option("--role", o->role, "What the array is: weight, bias or activation")
      ->check(CLI::IsMember({"weight", "bias", "activation"}))
      ->capture_default_str();
  cmd->callback([o] { run_quantize(*o); });
}

}  // namespace lowbit::cli

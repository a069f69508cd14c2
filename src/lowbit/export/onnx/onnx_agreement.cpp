#include "lowbit/export/onnx/onnx_agreement.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "lowbit/export/onnx/onnx_export.h"
#include "lowbit/export/onnx/onnx_lowering.h"
#include "lowbit/export/reference_executor.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::exporter {

namespace fs = std::filesystem;

namespace {

// The model cut after layer `last`: its output is that layer's.
IntegerModel truncated(const IntegerModel& model, size_t last) {
  IntegerModel cut = model;
  cut.layers.resize(last + 1);
  return cut;
}

std::vector<int8_t> run_reference(const IntegerModel& model, const std::vector<int8_t>& inputs,
                                  int64_t samples) {
  return ReferenceExecutor(model).run_batch(inputs, samples);
}

// Moves every requantization factor of the last layer by `direction` * 2^-16 relative.
void nudge_requant(IntegerModel& model, int direction) {
  const auto nudge = [&](int32_t& multiplier) {
    const int64_t moved = int64_t{multiplier} + direction * (int64_t{multiplier} >> 16);
    multiplier =
        static_cast<int32_t>(std::clamp<int64_t>(moved, 1, std::numeric_limits<int32_t>::max()));
  };
  std::visit(
      [&](auto& op) {
        for (int32_t* m : OpTraits<std::decay_t<decltype(op)>>::multipliers(op)) nudge(*m);
      },
      model.layers.back().op);
}

// Whether each output of an average pool is an exact .5 of the mean of its window's codes.
std::vector<bool> average_pool_ties(const Pool& pool, const std::vector<int8_t>& x,
                                    int64_t samples) {
  const int64_t oh = pool.out_height();
  const int64_t ow = pool.out_width();
  const int64_t in_size = pool.channels * pool.in_height * pool.in_width;
  std::vector<bool> ties;
  for (int64_t s = 0; s < samples; ++s) {
    for (int64_t c = 0; c < pool.channels; ++c) {
      for (int64_t y = 0; y < oh; ++y) {
        for (int64_t xo = 0; xo < ow; ++xo) {
          int64_t sum = 0;
          int64_t count = 0;
          for (int64_t ky = 0; ky < pool.kernel_h; ++ky) {
            for (int64_t kx = 0; kx < pool.kernel_w; ++kx) {
              const int64_t iy = y * pool.stride_h - pool.pad_top + ky;
              const int64_t ix = xo * pool.stride_w - pool.pad_left + kx;
              if (iy < 0 || iy >= pool.in_height || ix < 0 || ix >= pool.in_width) continue;
              sum += x[static_cast<size_t>(s * in_size + (c * pool.in_height + iy) * pool.in_width +
                                           ix)];
              ++count;
            }
          }
          ties.push_back((2 * std::abs(sum)) % (2 * count) == count);
        }
      }
    }
  }
  return ties;
}

// Whether each output code of layer `index` lies on a rounding boundary of the reference.
std::vector<bool> boundaries(const IntegerModel& model, size_t index,
                             const std::vector<int8_t>& inputs, int64_t samples,
                             const std::vector<std::vector<int8_t>>& reference) {
  const Layer& layer = model.layers[index];
  if (const auto* pool = std::get_if<Pool>(&layer.op)) {
    if (!pool->average) return {};
    const int producer = layer.inputs[0];
    return average_pool_ties(
        *pool, producer == kModelInput ? inputs : reference[static_cast<size_t>(producer)],
        samples);
  }
  IntegerModel up = truncated(model, index);
  IntegerModel down = up;
  nudge_requant(up, +1);
  nudge_requant(down, -1);
  const std::vector<int8_t> a = run_reference(up, inputs, samples);
  const std::vector<int8_t> b = run_reference(down, inputs, samples);
  std::vector<bool> result(a.size());
  for (size_t i = 0; i < a.size(); ++i) result[i] = a[i] != b[i];
  return result;
}

}  // namespace

namespace {

template <class F>
int64_t sum_of(const std::vector<OnnxLayerAgreement>& layers, F field) {
  int64_t total = 0;
  for (const OnnxLayerAgreement& layer : layers) total += field(layer);
  return total;
}

template <class F>
int max_of(const std::vector<OnnxLayerAgreement>& layers, F field) {
  int largest = 0;
  for (const OnnxLayerAgreement& layer : layers) largest = std::max(largest, field(layer));
  return largest;
}

}  // namespace

int64_t OnnxAgreement::mismatches() const {
  return sum_of(layers, [](const OnnxLayerAgreement& l) { return l.mismatches; });
}

int64_t OnnxAgreement::own_mismatches() const {
  return sum_of(layers, [](const OnnxLayerAgreement& l) { return l.own_mismatches; });
}

int64_t OnnxAgreement::own_at_boundary() const {
  return sum_of(layers, [](const OnnxLayerAgreement& l) { return l.own_at_boundary; });
}

int OnnxAgreement::max_abs_diff() const {
  return max_of(layers, [](const OnnxLayerAgreement& l) { return l.max_abs_diff; });
}

int OnnxAgreement::max_own_diff() const {
  return max_of(layers, [](const OnnxLayerAgreement& l) { return l.max_own_diff; });
}

std::string OnnxAgreement::describe() const {
  std::ostringstream out;
  out << onnx_format_name(format) << " under ONNX Runtime (optimisations " << optimize << "), "
      << samples << " samples: " << mismatches() << " codes differ, max |diff| " << max_abs_diff()
      << "; own (inputs agreed) " << own_mismatches() << ", " << own_at_boundary()
      << " of them at a rounding boundary, max |diff| " << max_own_diff() << "\n";
  for (const OnnxLayerAgreement& l : layers) {
    out << "  " << l.layer << ": " << l.mismatches << " of " << l.values
        << " codes differ, max |diff| " << l.max_abs_diff << "; own " << l.own_mismatches << " ("
        << l.own_at_boundary << " at a boundary), max |diff| " << l.max_own_diff << "\n";
  }
  return out.str();
}

OnnxAgreement compare_onnx_with_reference(const IntegerModel& model,
                                          const std::vector<int8_t>& inputs, int64_t samples,
                                          const std::string& work_folder, OnnxOptions options,
                                          const OrtRunOptions& run) {
  const std::vector<Shape> shapes = validate(model);
  const int64_t input_size = model.input_shape.size();
  if (samples < 1 || static_cast<int64_t>(inputs.size()) != samples * input_size) {
    throw std::invalid_argument("onnx agreement: expected " + std::to_string(samples) + " x " +
                                std::to_string(input_size) + " input codes, got " +
                                std::to_string(inputs.size()));
  }
  options.expose_layer_outputs = true;
  if (options.format == OnnxFormat::kQonnx) options.runnable_functions = true;
  fs::create_directories(work_folder);
  const std::string path =
      (fs::path(work_folder) / (std::string(onnx_format_name(options.format)) + ".onnx")).string();
  util::write_text_atomically(path, onnx_model_bytes(model, options));

  std::vector<float> x(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    x[i] = static_cast<float>(model.input_scale * (inputs[i] - model.input_zero_point));
  }
  const OnnxRanks ranks = onnx_ranks(model);
  std::vector<int64_t> dims = {samples};
  for (int64_t d : onnx_dims(model.input_shape, ranks.input)) dims.push_back(d);
  const std::vector<OrtOutput> outputs = run_onnx_runtime(
      path, x, dims, (fs::path(work_folder) / std::string(run.optimize)).string(), run);

  // Graph outputs: "output", then the computed layers in order (QDQ: all of them as uint8 codes;
  // QONNX: all but the last, whose Quant output is "output").
  std::vector<size_t> computed;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    if (onnx_layer_computes(model.layers[i])) computed.push_back(i);
  }
  const bool qdq = options.format == OnnxFormat::kQdq;
  const size_t last_layer = model.layers.size() - 1;
  const bool last_computes = computed.back() == last_layer;
  const size_t exposed = qdq || !last_computes ? computed.size() : computed.size() - 1;
  if (outputs.size() != exposed + 1) {
    throw std::runtime_error("onnx agreement: " + path + " has " + std::to_string(outputs.size()) +
                             " outputs, expected " + std::to_string(exposed + 1));
  }

  // Each layer's reference output for the whole batch: computed layers by the executor on the
  // model cut after them, views (which cannot end a model) from their producer's.
  std::vector<std::vector<int8_t>> reference(model.layers.size());
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const Layer& layer = model.layers[i];
    if (onnx_layer_computes(layer)) {
      reference[i] = run_reference(truncated(model, i), inputs, samples);
      continue;
    }
    const int p = layer.inputs[0];
    const std::vector<int8_t>& x = p == kModelInput ? inputs : reference[static_cast<size_t>(p)];
    const auto* slice = std::get_if<Slice>(&layer.op);
    if (slice == nullptr) {
      reference[i] = x;
      continue;
    }
    const int64_t in_size = static_cast<int64_t>(x.size()) / samples;
    for (int64_t s = 0; s < samples; ++s) {
      const auto begin = x.begin() + s * in_size + slice->offset;
      reference[i].insert(reference[i].end(), begin, begin + slice->length);
    }
  }

  OnnxAgreement agreement;
  agreement.format = options.format;
  agreement.optimize = run.optimize;
  agreement.samples = samples;
  // Per layer and sample: whether the ONNX output differed somewhere (views pass it on).
  std::vector<std::vector<bool>> differs(model.layers.size(),
                                         std::vector<bool>(static_cast<size_t>(samples), false));
  size_t k = 0;
  for (size_t index = 0; index < model.layers.size(); ++index) {
    const Layer& layer = model.layers[index];
    std::vector<bool> input_differs(static_cast<size_t>(samples), false);
    for (int p : layer.inputs) {
      if (p == kModelInput) continue;
      for (size_t s = 0; s < input_differs.size(); ++s) {
        input_differs[s] = input_differs[s] || differs[static_cast<size_t>(p)][s];
      }
    }
    if (!onnx_layer_computes(layer)) {
      differs[index] = input_differs;
      continue;
    }
    const OrtOutput& out = !qdq && index == last_layer ? outputs[0] : outputs[k + 1];
    ++k;
    const std::vector<int8_t>& expected = reference[index];
    if (out.values.size() != expected.size()) {
      throw std::runtime_error("onnx agreement: output '" + out.name + "' of layer '" + layer.name +
                               "' has " + std::to_string(out.values.size()) + " values, expected " +
                               std::to_string(expected.size()));
    }
    const std::vector<bool> boundary = boundaries(model, index, inputs, samples, reference);
    const size_t per_sample = expected.size() / static_cast<size_t>(samples);
    OnnxLayerAgreement result;
    result.layer = layer.name;
    result.values = static_cast<int64_t>(expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      const double v = out.values[i];
      const long code =
          out.type == "uint8"
              ? std::lround(v) - 128
              : std::lround(std::nearbyint(v / static_cast<float>(layer.output_scale)) +
                            layer.output_zero_point);
      const int diff = static_cast<int>(std::abs(code - expected[i]));
      if (diff == 0) continue;
      const size_t sample = i / per_sample;
      differs[index][sample] = true;
      ++result.mismatches;
      result.max_abs_diff = std::max(result.max_abs_diff, diff);
      if (input_differs[sample]) continue;
      ++result.own_mismatches;
      if (!boundary.empty() && boundary[i]) ++result.own_at_boundary;
      result.max_own_diff = std::max(result.max_own_diff, diff);
    }
    agreement.layers.push_back(result);
  }
  return agreement;
}

}  // namespace lowbit::exporter

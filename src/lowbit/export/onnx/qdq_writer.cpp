#include "lowbit/export/onnx/qdq_writer.h"

#include <stdexcept>

#include "lowbit/export/onnx/onnx_graph.h"
#include "lowbit/export/onnx/onnx_lowering.h"
#include "lowbit/export/onnx/onnx_value_views.h"

namespace lowbit::exporter {

namespace {

// ONNX TensorProto data type of INT4 (ONNX 1.16, opset 21); Debian's libonnx 1.12 predates it,
// but data_type is a plain int32 field.
constexpr int32_t kOnnxInt4 = 22;

[[noreturn]] void fail(const std::string& what) {
  throw std::invalid_argument("qdq export: " + what);
}

// Activations travel as uint8 codes: the integer model's int8 code q is q + 128 with zero point
// zp + 128, the same real values. uint8 activations with int8 weights (U8S8) is the pairing ONNX
// Runtime fuses into integer kernels on x86 (docs/export.md, "ONNX").
uint8_t to_u8(int32_t code) {
  return static_cast<uint8_t>(code + 128);
}

// A quantized value of the graph: uint8 codes with the scale and zero point of its producer.
struct QValue {
  std::string name;  // uint8 tensor
  int rank = 2;      // 2: [N, F], 4: [N, C, H, W]
  Shape shape;
  double scale = 1;
  int32_t zero_point = 0;  // int8 zero point of the integer model
};

class QdqWriter {
 public:
  QdqWriter(const IntegerModel& model, const OnnxOptions& options)
      : model_(model),
        options_(options),
        shapes_(validate(model)),
        ranks_(onnx_ranks(model)),
        proto_(make_model_proto(model.name.empty() ? "lowbit" : model.name,
                                options.opset >= 21 ? 10 : 7, options.opset)),
        g_(proto_.mutable_graph()) {}

  std::string write() {
    const std::string input = g_.unique(kOnnxInputName);
    g_.add_input(input, ::onnx::TensorProto::FLOAT, onnx_dims(model_.input_shape, ranks_.input));
    QValue x{g_.unique("input_q"), ranks_.input, model_.input_shape, model_.input_scale,
             model_.input_zero_point};
    quantize(input, x, "input_quantize");
    std::vector<QValue> values;
    for (size_t i = 0; i < model_.layers.size(); ++i) {
      values.push_back(write_layer(static_cast<int>(i), x, values));
    }
    const QValue& last = values.back();
    const std::string output = g_.unique(kOnnxOutputName);
    dequantize_into(last, output, "output_dequantize");
    g_.add_output(output, ::onnx::TensorProto::FLOAT, onnx_dims(last.shape, last.rank));
    if (options_.expose_layer_outputs) {
      for (size_t i = 0; i < values.size(); ++i) {
        if (!onnx_layer_computes(model_.layers[i])) continue;
        g_.add_output(values[i].name, ::onnx::TensorProto::UINT8,
                      onnx_dims(values[i].shape, values[i].rank));
      }
    }
    add_provenance(proto_, model_.name, options_);
    return serialize_model(proto_);
  }

 private:
  std::string scale_scalar(const std::string& name, double scale) {
    return g_.add_float_scalar(name, scale);
  }

  std::string zero_point_u8(const std::string& name, int32_t zero_point) {
    return g_.add_uint8(name, {}, {to_u8(zero_point)});
  }

  // QuantizeLinear of float `input` into `out` (its name, scale and zero point).
  void quantize(const std::string& input, const QValue& out, const std::string& node) {
    g_.add_node("QuantizeLinear", node,
                {input, scale_scalar(out.name + "_scale", out.scale),
                 zero_point_u8(out.name + "_zero_point", out.zero_point)},
                {out.name});
  }

  void dequantize_into(const QValue& value, const std::string& output, const std::string& node) {
    g_.add_node("DequantizeLinear", node,
                {value.name, scale_scalar(value.name + "_scale", value.scale),
                 zero_point_u8(value.name + "_zero_point", value.zero_point)},
                {output});
  }

  std::string dequantize(const QValue& value) {
    const std::string output = g_.unique(value.name + "_dq");
    dequantize_into(value, output, value.name + "_dequantize");
    return output;
  }

  // Requantization of a float accumulator (already in real units) into the layer's output: the
  // hard-sigmoid's /6 (the +3 is in the bias), QuantizeLinear, and a Clip of the codes when the
  // activation or a grid narrower than 8 bits clamps tighter than uint8 does.
  void requantize(const std::string& accumulator, const Layer& layer, const Requant& requant,
                  Activation activation, QValue& out) {
    std::string real = accumulator;
    if (activation == Activation::kHardSigmoid) {
      real = g_.unique(layer.name + "_hard_sigmoid");
      g_.add_node("Div", layer.name + "_div6",
                  {accumulator, g_.add_float_scalar(layer.name + "_six", 6.0)}, {real});
    }
    const bool clip = requant.act_min > -128 || requant.act_max < 127;
    const std::string codes = out.name;
    if (clip) out.name = g_.unique(layer.name + "_unclipped");
    quantize(real, out, layer.name + "_quantize");
    if (clip) {
      g_.add_node("Clip", layer.name + "_clamp",
                  {out.name, g_.add_uint8(layer.name + "_act_min", {}, {to_u8(requant.act_min)}),
                   g_.add_uint8(layer.name + "_act_max", {}, {to_u8(requant.act_max)})},
                  {codes});
      out.name = codes;
    }
  }

  // DequantizeLinear of constant weight codes: per-axis (axis 0) scales when per channel.
  std::string weights(const Layer& layer, WeightFormat format, const std::vector<int8_t>& codes,
                      const std::vector<int64_t>& dims, const std::vector<double>& scales) {
    const bool per_channel = scales.size() > 1;
    const std::vector<int64_t> scale_dims =
        per_channel ? std::vector<int64_t>{static_cast<int64_t>(scales.size())}
                    : std::vector<int64_t>{};
    const std::vector<float> scale_values(scales.begin(), scales.end());
    const std::string scale = g_.add_float(layer.name + "_w_scale", scale_dims, scale_values);
    std::string code_name;
    std::string zero_point;
    if (options_.int4_weights && format_bits(format) <= 4) {
      code_name = add_int4(layer.name + "_w", dims, codes);
      zero_point = add_int4(layer.name + "_w_zero_point", scale_dims,
                            std::vector<int8_t>(scale_values.size(), 0));
    } else {
      code_name = g_.add_int8(layer.name + "_w", dims, codes);
      zero_point = g_.add_int8(layer.name + "_w_zero_point", scale_dims,
                               std::vector<int8_t>(scale_values.size(), 0));
    }
    const std::string real = g_.unique(layer.name + "_w_dq");
    std::vector<OnnxAttribute> attributes;
    if (per_channel) attributes.push_back(attr_int("axis", 0));
    g_.add_node("DequantizeLinear", layer.name + "_w_dequantize", {code_name, scale, zero_point},
                {real}, attributes);
    return real;
  }

  // INT4 initializer: two codes per byte, the first in the low nibble (ONNX's packing).
  std::string add_int4(const std::string& name, const std::vector<int64_t>& dims,
                       const std::vector<int8_t>& codes) {
    const std::string unique_name = g_.unique(name);
    ::onnx::TensorProto& t = *proto_.mutable_graph()->add_initializer();
    t.set_name(unique_name);
    t.set_data_type(kOnnxInt4);
    for (int64_t d : dims) t.add_dims(d);
    std::string packed((codes.size() + 1) / 2, '\0');
    for (size_t i = 0; i < codes.size(); ++i) {
      const auto nibble = static_cast<unsigned char>(codes[i] & 0x0F);
      packed[i / 2] = static_cast<char>(static_cast<unsigned char>(packed[i / 2]) |
                                        (i % 2 == 0 ? nibble : nibble << 4));
    }
    t.set_raw_data(packed);
    return unique_name;
  }

  // The int32 bias through DequantizeLinear with scale input_scale * weight_scale[c], so the
  // float sum equals the integer accumulator times that scale.
  std::string bias(const Layer& layer, const std::vector<int32_t>& values, double input_scale,
                   const std::vector<double>& scales) {
    if (values.empty()) return "";
    const bool per_channel = scales.size() > 1;
    const std::vector<int64_t> dims =
        per_channel ? std::vector<int64_t>{static_cast<int64_t>(scales.size())}
                    : std::vector<int64_t>{};
    std::vector<float> bias_scales;
    for (double s : scales) bias_scales.push_back(static_cast<float>(input_scale * s));
    const std::string codes =
        g_.add_int32(layer.name + "_b", {static_cast<int64_t>(values.size())}, values);
    const std::string scale = g_.add_float(layer.name + "_b_scale", dims, bias_scales);
    const std::string zero_point = g_.add_int32(layer.name + "_b_zero_point", dims,
                                                std::vector<int32_t>(bias_scales.size(), 0));
    const std::string real = g_.unique(layer.name + "_b_dq");
    std::vector<OnnxAttribute> attributes;
    if (per_channel) attributes.push_back(attr_int("axis", 0));
    g_.add_node("DequantizeLinear", layer.name + "_b_dequantize", {codes, scale, zero_point},
                {real}, attributes);
    return real;
  }

  // The integer path's average pool on the codes: mean of the int8 codes (uint8 - 128), rounded
  // half away from zero as floor(|v| + 0.5 + 2^-10) * sign(v). The mean's float error is far
  // below 2^-10, and a mean that is no tie lies at least 1 / (2 * count) from one, so this is
  // exact for windows of up to 512 values.
  void exact_average_pool(const Layer& layer, const QValue& image,
                          const std::vector<OnnxAttribute>& attributes, const QValue& out) {
    const auto tensor = [&](const std::string& what) { return g_.unique(layer.name + "_" + what); };
    const std::string codes = tensor("codes");
    g_.add_node("Cast", layer.name + "_to_float", {image.name}, {codes},
                {attr_int("to", ::onnx::TensorProto::FLOAT)});
    const std::string mean = tensor("mean");
    g_.add_node("AveragePool", layer.name, {codes}, {mean}, attributes);
    const std::string offset = g_.add_float_scalar(layer.name + "_u8_offset", 128.0);
    const std::string v = tensor("int8_mean");
    g_.add_node("Sub", layer.name + "_to_int8", {mean, offset}, {v});
    const std::string magnitude = tensor("magnitude");
    g_.add_node("Abs", layer.name + "_abs", {v}, {magnitude});
    const std::string sign = tensor("sign");
    g_.add_node("Sign", layer.name + "_sign", {v}, {sign});
    const std::string half_up = tensor("half_up");
    g_.add_node("Add", layer.name + "_add_half",
                {magnitude, g_.add_float_scalar(layer.name + "_half", 0.5 + 1.0 / 1024)},
                {half_up});
    const std::string floored = tensor("floor");
    g_.add_node("Floor", layer.name + "_floor", {half_up}, {floored});
    const std::string rounded = tensor("rounded");
    g_.add_node("Mul", layer.name + "_signed", {floored, sign}, {rounded});
    const std::string shifted = tensor("u8_mean");
    g_.add_node("Add", layer.name + "_to_u8", {rounded, offset}, {shifted});
    g_.add_node("Cast", layer.name + "_to_codes", {shifted}, {out.name},
                {attr_int("to", ::onnx::TensorProto::UINT8)});
  }

  const QValue& producer(int index, const QValue& input, const std::vector<QValue>& values) {
    return index == kModelInput ? input : values[static_cast<size_t>(index)];
  }

  QValue write_layer(int index, const QValue& input, const std::vector<QValue>& values) {
    const Layer& layer = model_.layers[static_cast<size_t>(index)];
    const QValue& x = producer(layer.inputs[0], input, values);
    QValue out{g_.unique(layer.name), ranks_.layers[static_cast<size_t>(index)],
               shapes_[static_cast<size_t>(index)], layer.output_scale, layer.output_zero_point};
    std::visit(
        OpVisitor{
            [&](const FullyConnected& fc) {
              const std::vector<double> scales = onnx_weight_scales(model_, index);
              const std::string a = dequantize(as_rank2(g_, x));
              const std::string w =
                  weights(layer, fc.format, fc.weights, {fc.out_features, fc.in_features}, scales);
              const std::string b = bias(layer, fc.bias, x.scale, scales);
              const std::string acc = g_.unique(layer.name + "_acc");
              g_.add_node("Gemm", layer.name, {a, w, b}, {acc}, {attr_int("transB", 1)});
              requantize(acc, layer, fc.requant, fc.activation, out);
            },
            [&](const Conv2d& conv) {
              const std::vector<double> scales = onnx_weight_scales(model_, index);
              const Shape in_shape{conv.in_channels, conv.in_height, conv.in_width};
              const std::string a = dequantize(as_rank4(g_, x, in_shape));
              const std::string w = weights(
                  layer, conv.format, conv.weights,
                  {conv.out_channels, conv.in_channels / conv.groups, conv.kernel_h, conv.kernel_w},
                  scales);
              const std::string b = bias(layer, conv.bias, x.scale, scales);
              const std::string acc = g_.unique(layer.name + "_acc");
              g_.add_node("Conv", layer.name, {a, w, b}, {acc},
                          {attr_ints("kernel_shape", {conv.kernel_h, conv.kernel_w}),
                           attr_ints("strides", {conv.stride_h, conv.stride_w}),
                           attr_ints("pads", {conv.pad_top, conv.pad_left, conv.pad_bottom,
                                              conv.pad_right}),
                           attr_int("group", conv.groups)});
              requantize(acc, layer, conv.requant, conv.activation, out);
            },
            [&](const Pool& pool) {
              const Shape in_shape{pool.channels, pool.in_height, pool.in_width};
              const QValue image = as_rank4(g_, x, in_shape);
              const std::vector<OnnxAttribute> window = {
                  attr_ints("kernel_shape", {pool.kernel_h, pool.kernel_w}),
                  attr_ints("strides", {pool.stride_h, pool.stride_w}),
                  attr_ints("pads", {pool.pad_top, pool.pad_left, pool.pad_bottom, pool.pad_right}),
              };
              if (!pool.average) {
                // Max pooling commutes with the monotonic dequantization: on the codes, exact.
                g_.add_node("MaxPool", layer.name, {image.name}, {out.name}, window);
                return;
              }
              std::vector<OnnxAttribute> attributes = window;
              attributes.push_back(attr_int("count_include_pad", 0));
              if (options_.exact_average_pool) {
                exact_average_pool(layer, image, attributes, out);
                return;
              }
              const std::string mean = g_.unique(layer.name + "_mean");
              g_.add_node("AveragePool", layer.name, {dequantize(image)}, {mean}, attributes);
              quantize(mean, out, layer.name + "_quantize");
            },
            [&](const Flatten&) {
              const QValue flat = as_rank2(g_, x);
              out.name = flat.name;
            },
            [&](const Slice& slice) {
              const QValue flat = as_rank2(g_, x);
              g_.add_node("Slice", layer.name,
                          {flat.name, g_.add_int64(layer.name + "_starts", {1}, {slice.offset}),
                           g_.add_int64(layer.name + "_ends", {1}, {slice.offset + slice.length}),
                           g_.add_int64(layer.name + "_axes", {1}, {1})},
                          {out.name});
            },
            [&](const Concat&) {
              std::vector<std::string> parts;
              for (int p : layer.inputs) {
                const QValue& part = producer(p, input, values);
                parts.push_back(dequantize(out.rank == 4 ? part : as_rank2(g_, part)));
              }
              const std::string joined = g_.unique(layer.name + "_joined");
              g_.add_node("Concat", layer.name, parts, {joined}, {attr_int("axis", 1)});
              quantize(joined, out, layer.name + "_quantize");
            },
            [&](const auto& op) { onnx_unwritten(layer, op); },
        },
        layer.op);
    return out;
  }

  const IntegerModel& model_;
  const OnnxOptions& options_;
  std::vector<Shape> shapes_;
  OnnxRanks ranks_;
  ::onnx::ModelProto proto_;
  OnnxGraphBuilder g_;
};

}  // namespace

std::string write_qdq_model(const IntegerModel& model, const OnnxOptions& options) {
  if (options.opset < 13 || options.opset > 21) {
    fail("opset " + std::to_string(options.opset) +
         " is not supported (13..21: per-axis weight scales need DequantizeLinear-13)");
  }
  if (options.int4_weights && options.opset < 21) {
    fail("int4 weights need opset 21 or later, got opset " + std::to_string(options.opset));
  }
  if (model.layers.empty()) fail("model '" + model.name + "' has no layers");
  return QdqWriter(model, options).write();
}

}  // namespace lowbit::exporter

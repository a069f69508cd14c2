#include "lowbit/export/onnx/qonnx_writer.h"

#include <algorithm>
#include <stdexcept>

#include "lowbit/export/onnx/onnx_graph.h"
#include "lowbit/export/onnx/onnx_lowering.h"
#include "lowbit/export/onnx/onnx_value_views.h"

namespace lowbit::exporter {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::invalid_argument("qonnx export: " + what);
}

int32_t pow2(int bits) {
  return int32_t{1} << bits;
}

// A float value of the graph and the Quant that produced it.
struct FValue {
  std::string name;
  int rank = 2;
  Shape shape;
  double scale = 1;
  int32_t zero_point = 0;
  QonnxQuant quant;
};

// One node of a FunctionProto body.
void body_node(::onnx::FunctionProto& function, const std::string& op_type,
               const std::vector<std::string>& inputs, const std::string& output,
               const std::vector<OnnxAttribute>& attributes = {}) {
  ::onnx::NodeProto& node = *function.add_node();
  node.set_op_type(op_type);
  for (const std::string& input : inputs) node.add_input(input);
  node.add_output(output);
  set_attributes(node, attributes);
}

OnnxAttribute attr_ref_int(const std::string& name, const std::string& ref) {
  OnnxAttribute a = attr_int(name, 0);
  a.ref_attr_name = ref;
  return a;
}

::onnx::FunctionProto& new_function(::onnx::ModelProto& model, const std::string& name, int opset) {
  ::onnx::FunctionProto& f = *model.add_functions();
  f.set_name(name);
  f.set_domain(kQonnxDomain);
  f.set_doc_string("lowbit: QONNX " + name + " from standard ops, so that ONNX Runtime can run it");
  ::onnx::OperatorSetIdProto& standard = *f.add_opset_import();
  standard.set_domain("");
  standard.set_version(opset);
  return f;
}

// Quant as standard ops: the clamp bounds from the signed/narrow attributes and the bit width,
// then round half to even (QONNX's ROUND), clamp, and back to real values.
void add_quant_function(::onnx::ModelProto& model, int opset) {
  ::onnx::FunctionProto& f = new_function(model, "Quant", opset);
  for (const char* input : {"X", "scale", "zeropt", "bitwidth"}) f.add_input(input);
  f.add_output("Y");
  for (const char* attribute : {"signed", "narrow", "rounding_mode"}) f.add_attribute(attribute);
  const int64_t kFloat = ::onnx::TensorProto::FLOAT;
  body_node(f, "Constant", {}, "signed_i", {attr_ref_int("value_int", "signed")});
  body_node(f, "Constant", {}, "narrow_i", {attr_ref_int("value_int", "narrow")});
  body_node(f, "Cast", {"signed_i"}, "signed_f", {attr_int("to", kFloat)});
  body_node(f, "Cast", {"narrow_i"}, "narrow_f", {attr_int("to", kFloat)});
  body_node(f, "Constant", {}, "one", {attr_float("value_float", 1.0f)});
  body_node(f, "Constant", {}, "two", {attr_float("value_float", 2.0f)});
  body_node(f, "Pow", {"two", "bitwidth"}, "levels");
  body_node(f, "Div", {"levels", "two"}, "half");
  body_node(f, "Sub", {"narrow_f", "half"}, "signed_min");
  body_node(f, "Sub", {"half", "one"}, "signed_max");
  body_node(f, "Sub", {"levels", "one"}, "levels_1");
  body_node(f, "Sub", {"levels_1", "narrow_f"}, "unsigned_max");
  body_node(f, "Sub", {"one", "signed_f"}, "unsigned_f");
  body_node(f, "Mul", {"signed_f", "signed_min"}, "lo");
  body_node(f, "Mul", {"signed_f", "signed_max"}, "hi_signed");
  body_node(f, "Mul", {"unsigned_f", "unsigned_max"}, "hi_unsigned");
  body_node(f, "Add", {"hi_signed", "hi_unsigned"}, "hi");
  body_node(f, "Div", {"X", "scale"}, "scaled");
  body_node(f, "Add", {"scaled", "zeropt"}, "shifted");
  body_node(f, "Round", {"shifted"}, "rounded");
  body_node(f, "Min", {"rounded", "hi"}, "below");
  body_node(f, "Max", {"below", "lo"}, "clamped");
  body_node(f, "Sub", {"clamped", "zeropt"}, "centred");
  body_node(f, "Mul", {"centred", "scale"}, "Y");
}

// BipolarQuant as standard ops: +scale where x >= 0, -scale elsewhere.
void add_bipolar_function(::onnx::ModelProto& model, int opset) {
  ::onnx::FunctionProto& f = new_function(model, "BipolarQuant", opset);
  f.add_input("X");
  f.add_input("scale");
  f.add_output("Y");
  body_node(f, "Constant", {}, "zero", {attr_float("value_float", 0.0f)});
  body_node(f, "Constant", {}, "one", {attr_float("value_float", 1.0f)});
  body_node(f, "Constant", {}, "minus_one", {attr_float("value_float", -1.0f)});
  body_node(f, "GreaterOrEqual", {"X", "zero"}, "positive");
  body_node(f, "Where", {"positive", "one", "minus_one"}, "sign");
  body_node(f, "Mul", {"sign", "scale"}, "Y");
}

class QonnxWriter {
 public:
  QonnxWriter(const IntegerModel& model, const OnnxOptions& options)
      : model_(model),
        options_(options),
        shapes_(validate(model)),
        ranks_(onnx_ranks(model)),
        proto_(make_model_proto(model.name.empty() ? "lowbit" : model.name,
                                options.runnable_functions ? 8 : 7, options.opset, {kQonnxDomain})),
        g_(proto_.mutable_graph()) {}

  std::string write() {
    const std::string input = g_.unique(kOnnxInputName);
    output_name_ = g_.unique(kOnnxOutputName);
    g_.add_input(input, ::onnx::TensorProto::FLOAT, onnx_dims(model_.input_shape, ranks_.input));
    FValue x{g_.unique("input_quant"), ranks_.input,
             model_.input_shape,       model_.input_scale,
             model_.input_zero_point,  qonnx_activation_quant(model_.input_zero_point, -128, 127)};
    quant(input, x, "input_quant");
    std::vector<FValue> values;
    for (size_t i = 0; i < model_.layers.size(); ++i) {
      values.push_back(write_layer(static_cast<int>(i), x, values));
    }
    const FValue& last = values.back();
    if (last.name != output_name_) {
      g_.add_node("Identity", "output_identity", {last.name}, {output_name_});
    }
    g_.add_output(output_name_, ::onnx::TensorProto::FLOAT, onnx_dims(last.shape, last.rank));
    if (options_.expose_layer_outputs) {
      // Every computed layer but the last, whose Quant writes "output".
      for (size_t i = 0; i + 1 < values.size(); ++i) {
        if (!onnx_layer_computes(model_.layers[i])) continue;
        g_.add_output(values[i].name, ::onnx::TensorProto::FLOAT,
                      onnx_dims(values[i].shape, values[i].rank));
      }
    }
    if (options_.runnable_functions) {
      add_quant_function(proto_, options_.opset);
      add_bipolar_function(proto_, options_.opset);
    }
    add_provenance(proto_, model_.name, options_);
    return serialize_model(proto_);
  }

 private:
  // A Quant node: `input` -> value.name at value.scale with value.quant.
  void quant(const std::string& input, const FValue& value, const std::string& node) {
    quant_with(input, value.name, g_.add_float_scalar(value.name + "_scale", value.scale),
               value.quant, node);
  }

  void quant_with(const std::string& input, const std::string& output, const std::string& scale,
                  const QonnxQuant& q, const std::string& node) {
    g_.add_node("Quant", node,
                {input, scale, g_.add_float_scalar(output + "_zeropt", q.zeropt),
                 g_.add_float_scalar(output + "_bitwidth", q.bits)},
                {output},
                {attr_int("signed", q.is_signed ? 1 : 0), attr_int("narrow", q.narrow ? 1 : 0),
                 attr_string("rounding_mode", "ROUND")},
                kQonnxDomain);
  }

  // The quantized weights: a float initializer of the real values code * scale (dims `dims`,
  // codes given [out][rest] and written transposed to [rest][out] for MatMul) through Quant
  // (scale shaped `scale_dims` to broadcast over output channels) or BipolarQuant.
  std::string weights(const Layer& layer, WeightFormat format, const std::vector<int8_t>& codes,
                      int64_t out, bool transpose, const std::vector<int64_t>& dims,
                      const std::vector<int64_t>& scale_dims, const std::vector<double>& scales) {
    const int64_t rest = static_cast<int64_t>(codes.size()) / out;
    std::vector<float> real(codes.size());
    for (int64_t o = 0; o < out; ++o) {
      const double s = scales[scales.size() == 1 ? 0 : static_cast<size_t>(o)];
      for (int64_t r = 0; r < rest; ++r) {
        const size_t to = static_cast<size_t>(transpose ? r * out + o : o * rest + r);
        real[to] = static_cast<float>(codes[static_cast<size_t>(o * rest + r)] * s);
      }
    }
    const std::string w = g_.add_float(layer.name + "_w", dims, real);
    const std::vector<float> scale_values(scales.begin(), scales.end());
    const std::string scale =
        g_.add_float(layer.name + "_w_scale",
                     scales.size() == 1 ? std::vector<int64_t>{} : scale_dims, scale_values);
    const std::string quantized = g_.unique(layer.name + "_w_quant");
    if (format == WeightFormat::kBinary) {
      g_.add_node("BipolarQuant", layer.name + "_w_quant", {w, scale}, {quantized}, {},
                  kQonnxDomain);
    } else {
      quant_with(w, quantized, scale, qonnx_weight_quant(format, codes), layer.name + "_w_quant");
    }
    return quantized;
  }

  // The real bias bias[c] * input_scale * weight_scale[c] as a float initializer.
  std::string bias(const Layer& layer, const std::vector<int32_t>& values, double input_scale,
                   const std::vector<double>& scales) {
    std::vector<float> real;
    for (size_t c = 0; c < values.size(); ++c) {
      real.push_back(
          static_cast<float>(values[c] * input_scale * scales[scales.size() == 1 ? 0 : c]));
    }
    return g_.add_float(layer.name + "_b", {static_cast<int64_t>(real.size())}, real);
  }

  // The activation of a layer and its output Quant: HardSigmoid (the +3 is in the bias), a Clip
  // where the integer clamp is narrower than the Quant's range, else Relu after ReLU-like
  // activations (redundant with the unsigned Quant, but the pattern hls4ml and FINN expect).
  void activate(const std::string& pre, const Layer& layer, const Requant& requant,
                Activation activation, FValue& out) {
    out.quant = qonnx_activation_quant(layer.output_zero_point, requant.act_min, requant.act_max);
    std::string v = pre;
    if (activation == Activation::kHardSigmoid) {
      const std::string hs = g_.unique(layer.name + "_hard_sigmoid");
      g_.add_node("HardSigmoid", layer.name + "_hard_sigmoid", {v}, {hs},
                  {attr_float("alpha", 1.0f / 6.0f), attr_float("beta", 0.0f)});
      v = hs;
    }
    if (out.quant.clip) {
      const std::string clipped = g_.unique(layer.name + "_clip");
      g_.add_node("Clip", layer.name + "_clip",
                  {v, g_.add_float_scalar(layer.name + "_clip_min", out.quant.clip_lo * out.scale),
                   g_.add_float_scalar(layer.name + "_clip_max", out.quant.clip_hi * out.scale)},
                  {clipped});
      v = clipped;
    } else if (activation == Activation::kRelu || activation == Activation::kRelu6) {
      const std::string relu = g_.unique(layer.name + "_relu");
      g_.add_node("Relu", layer.name + "_relu", {v}, {relu});
      v = relu;
    }
    quant(v, out, layer.name + "_act_quant");
  }

  const FValue& producer(int index, const FValue& input, const std::vector<FValue>& values) {
    return index == kModelInput ? input : values[static_cast<size_t>(index)];
  }

  FValue write_layer(int index, const FValue& input, const std::vector<FValue>& values) {
    const Layer& layer = model_.layers[static_cast<size_t>(index)];
    const bool last = static_cast<size_t>(index) + 1 == model_.layers.size();
    const FValue& x = producer(layer.inputs[0], input, values);
    FValue out{last ? output_name_ : g_.unique(layer.name),
               ranks_.layers[static_cast<size_t>(index)],
               shapes_[static_cast<size_t>(index)],
               layer.output_scale,
               layer.output_zero_point,
               x.quant};
    std::visit(
        OpVisitor{
            [&](const FullyConnected& fc) {
              const std::vector<double> scales = onnx_weight_scales(model_, index);
              const FValue a = as_rank2(g_, x);
              const std::string w =
                  weights(layer, fc.format, fc.weights, fc.out_features, true,
                          {fc.in_features, fc.out_features}, {1, fc.out_features}, scales);
              std::string acc = g_.unique(layer.name + "_matmul");
              g_.add_node("MatMul", layer.name + "_matmul", {a.name, w}, {acc});
              if (!fc.bias.empty()) {
                const std::string sum = g_.unique(layer.name + "_add");
                g_.add_node("Add", layer.name + "_add",
                            {acc, bias(layer, fc.bias, x.scale, scales)}, {sum});
                acc = sum;
              }
              activate(acc, layer, fc.requant, fc.activation, out);
            },
            [&](const Conv2d& conv) {
              const std::vector<double> scales = onnx_weight_scales(model_, index);
              const FValue a = as_rank4(g_, x, {conv.in_channels, conv.in_height, conv.in_width});
              const std::string w = weights(
                  layer, conv.format, conv.weights, conv.out_channels, false,
                  {conv.out_channels, conv.in_channels / conv.groups, conv.kernel_h, conv.kernel_w},
                  {conv.out_channels, 1, 1, 1}, scales);
              const std::string b =
                  conv.bias.empty() ? "" : bias(layer, conv.bias, x.scale, scales);
              const std::string acc = g_.unique(layer.name + "_conv");
              g_.add_node("Conv", layer.name + "_conv", {a.name, w, b}, {acc},
                          {attr_ints("kernel_shape", {conv.kernel_h, conv.kernel_w}),
                           attr_ints("strides", {conv.stride_h, conv.stride_w}),
                           attr_ints("pads", {conv.pad_top, conv.pad_left, conv.pad_bottom,
                                              conv.pad_right}),
                           attr_int("group", conv.groups)});
              activate(acc, layer, conv.requant, conv.activation, out);
            },
            [&](const Pool& pool) {
              const FValue a = as_rank4(g_, x, {pool.channels, pool.in_height, pool.in_width});
              std::vector<OnnxAttribute> attributes = {
                  attr_ints("kernel_shape", {pool.kernel_h, pool.kernel_w}),
                  attr_ints("strides", {pool.stride_h, pool.stride_w}),
                  attr_ints("pads", {pool.pad_top, pool.pad_left, pool.pad_bottom, pool.pad_right}),
              };
              if (!pool.average) {
                g_.add_node("MaxPool", layer.name, {a.name}, {out.name}, attributes);
                return;
              }
              // The mean of values in the grid's range stays in it: the producer's Quant, no Clip.
              attributes.push_back(attr_int("count_include_pad", 0));
              const std::string mean = g_.unique(layer.name + "_mean");
              g_.add_node("AveragePool", layer.name, {a.name}, {mean}, attributes);
              out.quant.clip = false;
              quant(mean, out, layer.name + "_quant");
            },
            [&](const Flatten&) {
              if (x.rank == 2) {
                out.name = x.name;
                return;
              }
              g_.add_node("Flatten", layer.name, {x.name}, {out.name}, {attr_int("axis", 1)});
            },
            [&](const Slice& slice) {
              const FValue a = as_rank2(g_, x);
              g_.add_node("Slice", layer.name,
                          {a.name, g_.add_int64(layer.name + "_starts", {1}, {slice.offset}),
                           g_.add_int64(layer.name + "_ends", {1}, {slice.offset + slice.length}),
                           g_.add_int64(layer.name + "_axes", {1}, {1})},
                          {out.name});
            },
            [&](const Concat&) {
              std::vector<std::string> parts;
              for (int p : layer.inputs) {
                const FValue& part = producer(p, input, values);
                parts.push_back(out.rank == 4 ? part.name : as_rank2(g_, part).name);
              }
              const std::string joined = g_.unique(layer.name + "_joined");
              g_.add_node("Concat", layer.name, parts, {joined}, {attr_int("axis", 1)});
              out.quant = qonnx_activation_quant(layer.output_zero_point, -128, 127);
              quant(joined, out, layer.name + "_quant");
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
  std::string output_name_;
};

}  // namespace

int32_t QonnxQuant::min() const {
  return is_signed ? -pow2(bits - 1) + (narrow ? 1 : 0) : 0;
}

int32_t QonnxQuant::max() const {
  return is_signed ? pow2(bits - 1) - 1 : pow2(bits) - 1 - (narrow ? 1 : 0);
}

QonnxQuant qonnx_activation_quant(int32_t zero_point, int32_t act_min, int32_t act_max) {
  const int32_t lo = act_min - zero_point;
  const int32_t hi = act_max - zero_point;
  QonnxQuant q;
  q.clip_lo = lo;
  q.clip_hi = hi;
  // Zero point 0, the range exactly [lo, hi]: unsigned after a ReLU, signed around 0.
  for (int bits = 1; bits <= 8; ++bits) {
    for (const bool is_signed : {false, true}) {
      for (const bool narrow : {false, true}) {
        if (is_signed && bits < 2) continue;
        q.bits = bits;
        q.is_signed = is_signed;
        q.narrow = narrow;
        if (q.min() == lo && q.max() == hi) return q;
      }
    }
  }
  // The integer model's zero point, the range exactly [act_min, act_max].
  for (int bits = 2; bits <= 8; ++bits) {
    if (act_min == -pow2(bits - 1) && act_max == pow2(bits - 1) - 1) {
      return QonnxQuant{bits, true, false, zero_point, lo, hi, false};
    }
  }
  // A Clip before a wider Quant: unsigned from 0 when lo >= 0, else 8-bit at the zero point.
  if (lo >= 0) {
    int bits = 1;
    while (pow2(bits) - 1 < hi) ++bits;
    return QonnxQuant{bits, false, false, 0, lo, hi, true};
  }
  return QonnxQuant{8, true, false, zero_point, lo, hi, true};
}

QonnxQuant qonnx_weight_quant(WeightFormat format, const std::vector<int8_t>& codes) {
  QonnxQuant q;
  switch (format) {
    case WeightFormat::kBinary:
      throw std::logic_error("qonnx: binary weights are written with BipolarQuant");
    case WeightFormat::kSym2:
    case WeightFormat::kSym4:
      // Odd codes +-1, +-3 (, ..., +-15) at the halved scale: a narrow signed grid one bit wider.
      q.bits = format_bits(format) + 1;
      q.narrow = true;
      break;
    default: {
      q.bits = format_bits(format);
      const int most_negative = format_code_min(format);
      q.narrow =
          std::none_of(codes.begin(), codes.end(), [&](int8_t c) { return c == most_negative; });
    }
  }
  q.clip_lo = q.min();
  q.clip_hi = q.max();
  return q;
}

std::string write_qonnx_model(const IntegerModel& model, const OnnxOptions& options) {
  if (options.opset < 13 || options.opset > 17) {
    fail("opset " + std::to_string(options.opset) +
         " is not supported (13..17: Slice and Clip take their bounds as inputs from 13)");
  }
  if (options.int4_weights) fail("int4_weights is a QDQ option");
  if (model.layers.empty()) fail("model '" + model.name + "' has no layers");
  return QonnxWriter(model, options).write();
}

}  // namespace lowbit::exporter

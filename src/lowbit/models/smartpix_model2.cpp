#include "lowbit/models/smartpix_model2.h"

#include <torch/nn/options/dropout.h>

#include <stdexcept>

namespace lowbit::models {

namespace {

nn::QLinearOptions dense(int64_t in, int64_t out, const SmartpixModel2Options& options) {
  return nn::QLinearOptions(in, out)
      .weight_quant(options.weight_quant())
      .bias_quant(options.bias_quant())
      .kernel_initializer(options.kernel_initializer())
      .bias_initializer(options.bias_initializer())
      .fit_kernel_to_grid(options.fit_kernel_to_grid());
}

}  // namespace

SmartpixModel2Impl::SmartpixModel2Impl(const SmartpixModel2Options& options_) : options(options_) {
  reset();
}

void SmartpixModel2Impl::reset() {
  const auto& o = options;
  const std::string& act_q = o.activation_quant();
  // Registration order is the order of forward, so walkers (export, reports) see the graph.
  input_act = register_module(
      "input_act", nn::QActivation(nn::QActivationOptions("none").output_quant(o.input_quant())));
  xz_dense1 =
      register_module("xz_dense1", nn::QLinear(dense(kBranch1Features, o.branch_width(), o)));
  xz_act1 = register_module("xz_act1",
                            nn::QActivation(nn::QActivationOptions("relu").output_quant(act_q)));
  yl_dense1 =
      register_module("yl_dense1", nn::QLinear(dense(kBranch2Features, o.branch_width(), o)));
  yl_act1 = register_module("yl_act1",
                            nn::QActivation(nn::QActivationOptions("relu").output_quant(act_q)));
  merged_dense1 = register_module("merged_dense1",
                                  nn::QLinear(dense(2 * o.branch_width(), o.merged_width1(), o)));
  merged_act1 = register_module(
      "merged_act1", nn::QActivation(nn::QActivationOptions("relu").output_quant(act_q)));
  merged_drop1 = register_module("merged_drop1", torch::nn::Dropout(o.dropout()));
  merged_dense2 =
      register_module("merged_dense2", nn::QLinear(dense(o.merged_width1(), o.merged_width2(), o)));
  merged_act2 = register_module(
      "merged_act2", nn::QActivation(nn::QActivationOptions("relu").output_quant(act_q)));
  const double later_dropout = o.dropout_first_only() ? 0.0 : o.dropout();
  merged_drop2 = register_module("merged_drop2", torch::nn::Dropout(later_dropout));
  merged_dense3 =
      register_module("merged_dense3", nn::QLinear(dense(o.merged_width2(), o.merged_width3(), o)));
  merged_act3 = register_module(
      "merged_act3", nn::QActivation(nn::QActivationOptions("relu").output_quant(act_q)));
  merged_drop3 = register_module("merged_drop3", torch::nn::Dropout(later_dropout));
  output = register_module("output", nn::QLinear(dense(o.merged_width3(), 1, o)));
  output_activation = register_module(
      "output_activation",
      nn::QActivation(nn::QActivationOptions("sigmoid").output_quant(o.output_quant())));
}

torch::Tensor SmartpixModel2Impl::forward_logits(const torch::Tensor& input) {
  if (input.dim() != 2 || input.size(1) != kInputFeatures) {
    throw std::invalid_argument("smartpix_model2: expected input {N, 36}, got " +
                                c10::str(input.sizes()));
  }
  const torch::Tensor x = input_act->forward(input);
  const torch::Tensor xz = xz_act1->forward(xz_dense1->forward(x.narrow(1, 0, kBranch1Features)));
  const torch::Tensor yl =
      yl_act1->forward(yl_dense1->forward(x.narrow(1, kBranch1Features, kBranch2Features)));
  torch::Tensor h = torch::cat({xz, yl}, 1);
  h = merged_drop1->forward(merged_act1->forward(merged_dense1->forward(h)));
  h = merged_drop2->forward(merged_act2->forward(merged_dense2->forward(h)));
  h = merged_drop3->forward(merged_act3->forward(merged_dense3->forward(h)));
  return output->forward(h);
}

torch::Tensor SmartpixModel2Impl::forward(const torch::Tensor& input) {
  return output_activation->forward(forward_logits(input));
}

ModelGraph SmartpixModel2Impl::graph() {
  auto node = [](const std::string& name, std::shared_ptr<torch::nn::Module> module) {
    GraphNode n;
    n.name = name;
    n.module = std::move(module);
    return n;
  };
  auto slice = [](const std::string& name, int64_t offset, int64_t length) {
    GraphNode n;
    n.name = name;
    n.kind = NodeKind::kSlice;
    n.inputs = {"input_act"};
    n.offset = offset;
    n.length = length;
    return n;
  };
  GraphNode concat;
  concat.name = "concat";
  concat.kind = NodeKind::kConcat;
  concat.inputs = {"xz_act1", "yl_act1"};
  GraphNode out_act = node("output_activation", output_activation.ptr());
  out_act.host = output_activation->options.function() == "sigmoid";
  return {node("input_act", input_act.ptr()),
          slice("xz_slice", 0, kBranch1Features),
          node("xz_dense1", xz_dense1.ptr()),
          node("xz_act1", xz_act1.ptr()),
          slice("yl_slice", kBranch1Features, kBranch2Features),
          node("yl_dense1", yl_dense1.ptr()),
          node("yl_act1", yl_act1.ptr()),
          concat,
          node("merged_dense1", merged_dense1.ptr()),
          node("merged_act1", merged_act1.ptr()),
          node("merged_drop1", merged_drop1.ptr()),
          node("merged_dense2", merged_dense2.ptr()),
          node("merged_act2", merged_act2.ptr()),
          node("merged_drop2", merged_drop2.ptr()),
          node("merged_dense3", merged_dense3.ptr()),
          node("merged_act3", merged_act3.ptr()),
          node("merged_drop3", merged_drop3.ptr()),
          node("output", output.ptr()),
          out_act};
}

}  // namespace lowbit::models

#include "lowbit/train/regularizers/builtin_regularizers.h"

#include "lowbit/train/regularizers/bin_regularization.h"
#include "lowbit/train/regularizers/compression.h"
#include "lowbit/train/regularizers/quant_error.h"

namespace lowbit::train {
namespace {

// `{type: bin, lambda, lambda_act, detach_weight_step, detach_act_step, start_epoch}`.
class BinRegularizationTerm : public Regularizer {
 public:
  BinRegularizationTerm(BinRegularizerOptions options, int64_t start_epoch)
      : options_(options), start_epoch_(start_epoch) {}

  void attach(torch::nn::Module& model) override {
    model_ = &model;
    regularizer_ = std::make_unique<BinRegularizer>(model, options_);
    // Activation BR needs the inputs of the activation quantizers of each forward.
    if (options_.lambda_activation > 0.0) regularizer_->set_activation_recording(true);
  }

  torch::Tensor penalty(torch::nn::Module& model, int64_t epoch) override {
    if (model_ != &model) attach(model);
    if (epoch < start_epoch_) return torch::zeros({});
    torch::Tensor loss = regularizer_->weight_loss();
    if (options_.lambda_activation > 0.0) loss = loss + regularizer_->recorded_activation_loss();
    return loss;
  }

  std::string name() const override { return "bin"; }

 private:
  BinRegularizerOptions options_;
  int64_t start_epoch_;
  torch::nn::Module* model_ = nullptr;
  std::unique_ptr<BinRegularizer> regularizer_;
};

// A weighted penalty computed by one library function of the model.
class WeightedTerm : public Regularizer {
 public:
  WeightedTerm(std::string name, double weight, int64_t start_epoch,
               std::function<torch::Tensor(torch::nn::Module&)> term)
      : name_(std::move(name)),
        weight_(weight),
        start_epoch_(start_epoch),
        term_(std::move(term)) {}

  torch::Tensor penalty(torch::nn::Module& model, int64_t epoch) override {
    if (epoch < start_epoch_ || weight_ == 0.0) return torch::zeros({});
    return weight_ * term_(model);
  }

  std::string name() const override { return name_; }

 private:
  std::string name_;
  double weight_;
  int64_t start_epoch_;
  std::function<torch::Tensor(torch::nn::Module&)> term_;
};

int64_t start_epoch(const config::ConfigNode& node) {
  return node.get_in_range<int64_t>("start_epoch", 0, 0, INT64_MAX);
}

}  // namespace

void add_builtin_regularizers(std::map<std::string, RegularizerFactory>& registry) {
  registry["bin"] = [](const config::ConfigNode& node) -> std::shared_ptr<Regularizer> {
    BinRegularizerOptions options;
    options.lambda_weight = node.get_in_range<double>("lambda", 1.0, 0.0, 1e6);
    options.lambda_activation = node.get_in_range<double>("lambda_act", 0.0, 0.0, 1e6);
    options.detach_weight_step = node.get<bool>("detach_weight_step", false);
    options.detach_activation_step = node.get<bool>("detach_act_step", true);
    return std::make_shared<BinRegularizationTerm>(options, start_epoch(node));
  };
  registry["quant_error"] = [](const config::ConfigNode& node) -> std::shared_ptr<Regularizer> {
    return std::make_shared<WeightedTerm>("quant_error",
                                          node.get_in_range<double>("weight", 1.0, 0.0, 1e6),
                                          start_epoch(node), quantization_error);
  };
  registry["compression"] = [](const config::ConfigNode& node) -> std::shared_ptr<Regularizer> {
    return std::make_shared<WeightedTerm>("compression",
                                          node.get_in_range<double>("weight", 0.01, 0.0, 1e6),
                                          start_epoch(node), compression_bits);
  };
}

}  // namespace lowbit::train

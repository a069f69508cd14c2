#include "lowbit/train/report/flow_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "lowbit/data/events/event_flow.h"
#include "lowbit/nn/qconv2d.h"
#include "lowbit/train/checkpoint/best_metric_tracker.h"
#include "lowbit/train/checkpoint/checkpoint.h"
#include "lowbit/train/loss.h"
#include "lowbit/train/report/evaluation.h"
#include "lowbit/util/atomic_file.h"
#include "train/train_fixtures.h"

namespace lowbit::train {
namespace {

// Targets [1, 3, 1, 4]: flow (u, v) per pixel and valid.
torch::Tensor targets(const std::vector<float>& u, const std::vector<float>& v,
                      const std::vector<float>& valid) {
  const int64_t w = static_cast<int64_t>(u.size());
  return torch::stack({torch::tensor(u), torch::tensor(v), torch::tensor(valid)})
      .reshape({1, 3, 1, w});
}

torch::Tensor flow(const std::vector<float>& u, const std::vector<float>& v) {
  const int64_t w = static_cast<int64_t>(u.size());
  return torch::stack({torch::tensor(u), torch::tensor(v)}).reshape({1, 2, 1, w});
}

TEST(FlowMetrics, EndpointErrorAndOutliersByHand) {
  // Pixel errors: (3, 4) -> 5 px, |gt| = 10: an outlier (> 3 px and > 0.5 px);
  // (0, 2.9) -> 2.9 px: not (<= 3 px); (100 + 4, 0) vs gt 100 -> 4 px but 4% of |gt|: not;
  // pixel 3 is wrong by 50 px but its ground truth is invalid; pixel 1 has no events below.
  const torch::Tensor gt = targets({6, 1, 100, 0}, {8, 0, 0, 0}, {1, 1, 1, 0});
  const torch::Tensor pred = flow({9, 1, 104, 50}, {12, 2.9f, 0, 0});
  FlowMetrics all = compute_flow_metrics(pred, gt, torch::Tensor());
  EXPECT_EQ(all.pixels, 3);
  EXPECT_NEAR(all.aee, (5.0 + 2.9 + 4.0) / 3.0, 1e-6);
  EXPECT_NEAR(all.outlier_share, 1.0 / 3.0, 1e-12);

  const torch::Tensor events = torch::tensor({1.0f, 0.0f, 2.0f, 1.0f}).reshape({1, 1, 4});
  FlowMetrics masked = compute_flow_metrics(pred, gt, events);
  EXPECT_EQ(masked.pixels, 2);
  EXPECT_NEAR(masked.aee, (5.0 + 4.0) / 2.0, 1e-6);
  EXPECT_NEAR(masked.outlier_share, 0.5, 1e-12);

  // 5% relative: an error of 6 px at |gt| = 100 is an outlier, at |gt| = 130 it is not.
  EXPECT_NEAR(compute_flow_metrics(flow({106}, {0}), targets({100}, {0}, {1}), {}).outlier_share,
              1.0, 0);
  EXPECT_NEAR(compute_flow_metrics(flow({136}, {0}), targets({130}, {0}, {1}), {}).outlier_share,
              0.0, 0);

  // The zero-flow prediction: AEE = mean |gt| over the measured pixels.
  FlowMetrics zero = compute_flow_metrics(torch::zeros({1, 2, 1, 4}), gt, torch::Tensor());
  EXPECT_NEAR(zero.aee, (10.0 + 1.0 + 100.0) / 3.0, 1e-6);

  // No pixel: NaN, and combining ignores it.
  FlowMetrics none = compute_flow_metrics(pred, gt, torch::zeros({1, 1, 4}));
  EXPECT_EQ(none.pixels, 0);
  EXPECT_TRUE(std::isnan(none.aee));
  FlowMetrics both = combine_flow_metrics(masked, combine_flow_metrics(none, all));
  EXPECT_EQ(both.pixels, 5);
  EXPECT_NEAR(both.aee, (5.0 + 4.0 + 5.0 + 2.9 + 4.0) / 5.0, 1e-6);
  EXPECT_NEAR(both.outlier_share, 2.0 / 5.0, 1e-12);

  EXPECT_THROW(compute_flow_metrics(torch::zeros({1, 3, 1, 4}), gt, {}), std::invalid_argument);
  EXPECT_THROW(compute_flow_metrics(pred, gt, torch::ones({1, 4})), std::invalid_argument);
}

LossConfig flow_loss(LossType type, double smoothness = 0.0) {
  LossConfig c;
  c.type = type;
  c.smoothness = smoothness;
  return c;
}

TEST(FlowLoss, EndpointErrorAndCharbonnierOverValidPixels) {
  const torch::Tensor gt = targets({6, 1, 100, 0}, {8, 0, 0, 0}, {1, 1, 1, 0});
  const torch::Tensor pred = flow({9, 1, 104, 50}, {12, 2.9f, 0, 0});
  EXPECT_NEAR(compute_loss(flow_loss(LossType::kFlowEpe), pred, gt).item<double>(),
              (5.0 + 2.9 + 4.0) / 3.0, 1e-4);
  LossConfig c = flow_loss(LossType::kCharbonnier);
  c.charbonnier_epsilon = 0.1;
  c.charbonnier_alpha = 0.5;
  auto rho = [](double x) { return std::sqrt(x * x + 0.01); };
  const double expected =
      ((rho(3) + rho(4)) / 2 + (rho(0) + rho(2.9)) / 2 + (rho(4) + rho(0)) / 2) / 3.0;
  EXPECT_NEAR(compute_loss(c, pred, gt).item<double>(), expected, 1e-5);

  // Smoothness: differences between horizontal neighbours of the prediction (one row here).
  c.smoothness = 2.0;
  double smooth = 0.0;
  const std::vector<double> u = {9, 1, 104, 50}, v = {12, 2.9, 0, 0};
  for (int i = 0; i < 3; ++i) smooth += rho(u[i + 1] - u[i]) + rho(v[i + 1] - v[i]);
  EXPECT_NEAR(compute_loss(c, pred, gt).item<double>(), expected + 2.0 * smooth / 6.0, 1e-4);

  // Invalid pixels get no gradient; a perfect prediction has a finite gradient.
  torch::Tensor p = pred.clone().requires_grad_(true);
  compute_loss(flow_loss(LossType::kFlowEpe), p, gt).backward();
  EXPECT_EQ(p.grad().select(3, 3).abs().sum().item<double>(), 0.0);
  torch::Tensor exact = gt.slice(1, 0, 2).clone().requires_grad_(true);
  compute_loss(flow_loss(LossType::kFlowEpe), exact, gt).backward();
  EXPECT_TRUE(torch::isfinite(exact.grad()).all().item<bool>());

  EXPECT_THROW(compute_loss(flow_loss(LossType::kFlowEpe), pred, gt.slice(1, 0, 2)),
               std::invalid_argument);
}

TEST(FlowLoss, ConfigKeys) {
  LossConfig c = parse_loss(config::ConfigNode::parse(
      "{type: charbonnier, epsilon: 0.01, alpha: 0.5, smoothness: 0.1}", "l.yaml"));
  EXPECT_EQ(c.type, LossType::kCharbonnier);
  EXPECT_DOUBLE_EQ(c.charbonnier_epsilon, 0.01);
  EXPECT_DOUBLE_EQ(c.charbonnier_alpha, 0.5);
  EXPECT_DOUBLE_EQ(c.smoothness, 0.1);
  EXPECT_TRUE(is_flow_loss(c.type));
  EXPECT_THROW(parse_loss(config::ConfigNode::parse("{type: flow_epe, epsilon: 0.1}", "l.yaml")),
               config::ConfigError);
  EXPECT_THROW(
      parse_loss(config::ConfigNode::parse("{type: flow_epe, label_smoothing: 0.1}", "l.yaml")),
      config::ConfigError);
}

TEST(FlowBestMetric, ErrorsAreMinimized) {
  EXPECT_EQ(infer_metric_mode("val_aee"), MetricMode::kMin);
  EXPECT_EQ(infer_metric_mode("val_outliers"), MetricMode::kMin);
  BestMetricTracker tracker("val_aee", infer_metric_mode("val_aee"));
  EXPECT_TRUE(tracker.update(0, {{"val_aee", 2.0}}));
  EXPECT_FALSE(tracker.update(1, {{"val_aee", 2.5}}));
  EXPECT_TRUE(tracker.update(2, {{"val_aee", 1.5}}));
  EXPECT_FALSE(tracker.update(3, {{"val_aee", std::nan("")}}));
  EXPECT_EQ(tracker.best_epoch(), 2);
}

// A flow model for the trainer tests: events summed over time, one 3x3 QConv2d to (u, v).
class TinyFlowImpl : public torch::nn::Module {
 public:
  TinyFlowImpl() {
    conv = register_module("conv", nn::QConv2d(nn::QConv2dOptions(2, 2, 3).padding(1)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return conv->forward(x.sum(1)); }
  nn::QConv2d conv{nullptr};
};
TORCH_MODULE(TinyFlow);

// Samples whose flow is a fixed linear function of the event counts, so a 3x3 conv learns it.
data::Dataset linear_flow(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor inputs = torch::rand({n, 2, 2, 6, 6}).gt(0.6).to(torch::kFloat32);
  torch::Tensor counts = inputs.sum(1);
  torch::Tensor u = 2.0 * counts.select(1, 0) - counts.select(1, 1);
  torch::Tensor v = counts.select(1, 1);
  torch::Tensor valid = torch::rand({n, 6, 6}).gt(0.1);
  return data::flow_dataset(inputs, torch::stack({u, v}, 1), valid, "linear_flow");
}

class FlowTrainerTest : public testing::TrainingTest {};

TEST_F(FlowTrainerTest, BestCheckpointHasTheLowestAeeAlsoWhenResumed) {
  const StageData data{linear_flow(64, 1), linear_flow(32, 2), linear_flow(32, 3)};
  const StageConfig stage = parse_stage(config::ConfigNode::parse(R"(name: s
epochs: 6
batch_size: 16
optimizer: {type: adam, lr: 0.3}
loss: {type: flow_epe}
best: {metric: val_aee}
)",
                                                                  "s.yaml"),
                                        {});
  EXPECT_EQ(stage.best_mode, MetricMode::kMin);
  torch::manual_seed(5);
  torch::nn::AnyModule model(TinyFlow{});
  TrainerOptions first = training_options("run", 3);
  int epochs = 0;
  first.stop_requested = [&] { return ++epochs == 3; };
  StageResult stopped = Trainer(model, stage, first).run(data);
  EXPECT_TRUE(stopped.interrupted);
  TrainerOptions second = training_options("run", 3);
  second.resume = true;
  torch::manual_seed(6);
  torch::nn::AnyModule fresh(TinyFlow{});
  StageResult result = Trainer(fresh, stage, second).run(data);
  ASSERT_TRUE(result.completed) << log_.str();

  // metrics.csv has the flow columns; the best epoch is the one with the lowest val_aee of all
  // six, across the resume.
  const std::string csv = util::read_file(path("run/metrics.csv"));
  ASSERT_EQ(csv.rfind("stage,epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,val_auc,"
                      "val_aee,val_outliers,seconds\n",
                      0),
            0u)
      << csv;
  std::vector<double> aee;
  size_t line = csv.find('\n') + 1;
  while (line < csv.size()) {
    const size_t end = csv.find('\n', line);
    std::vector<std::string> cells;
    std::string row = csv.substr(line, end - line), cell;
    for (size_t a = 0, b; a <= row.size(); a = b + 1) {
      b = row.find(',', a);
      if (b == std::string::npos) b = row.size();
      cells.push_back(row.substr(a, b - a));
    }
    aee.push_back(std::stod(cells.at(8)));
    line = end + 1;
  }
  ASSERT_EQ(aee.size(), 6u);
  const auto lowest = std::min_element(aee.begin(), aee.end());
  EXPECT_LT(*lowest, aee.front()) << "training did not lower the AEE";
  EXPECT_EQ(result.best_epoch, lowest - aee.begin());
  EXPECT_NEAR(result.best_metric, *lowest, 1e-4 * *lowest);
  EXPECT_EQ(load_checkpoint(path("run/s/best.pt")).epoch, result.best_epoch);
  // The final evaluation reports the flow errors on the test split.
  EXPECT_FALSE(std::isnan(result.test.aee));
  EXPECT_GE(result.test.outliers, 0.0);
  EXPECT_TRUE(std::isnan(result.test.accuracy));
}

TEST_F(FlowTrainerTest, EvaluationMasksPixelsWithoutEvents) {
  data::Dataset d = linear_flow(8, 4);
  torch::manual_seed(1);
  torch::nn::AnyModule model(TinyFlow{});
  EvalResult r = evaluate(model, d, flow_loss(LossType::kFlowEpe), 3);
  torch::NoGradGuard no_grad;
  const torch::Tensor out = model.forward(d.inputs);
  const torch::Tensor events = d.inputs.abs().sum({1, 2}).gt(0);
  FlowMetrics expected = compute_flow_metrics(out, d.targets, events);
  EXPECT_NEAR(r.aee, expected.aee, 1e-5);
  EXPECT_NEAR(r.outliers, expected.outlier_share, 1e-9);
  EXPECT_LT(expected.pixels, compute_flow_metrics(out, d.targets, {}).pixels);
}

}  // namespace
}  // namespace lowbit::train

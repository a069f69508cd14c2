#include "lowbit/train/optim/lr_curve.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

namespace lowbit::train {
namespace {

using ::testing::HasSubstr;

constexpr double kPi = 3.14159265358979323846;

LrScheduleConfig make(LrScheduleType type) {
  LrScheduleConfig config;
  config.type = type;
  return config;
}

// Fractional epochs 0, 0.25, ..., last: covers both per-epoch and per-step use.
std::vector<double> times(double last) {
  std::vector<double> out;
  for (double t = 0.0; t <= last; t += 0.25) out.push_back(t);
  return out;
}

TEST(LrSchedule, Constant) {
  for (double t : times(20))
    EXPECT_DOUBLE_EQ(scheduled_lr(make(LrScheduleType::kConstant), t, 20, 0.1), 0.1);
}

TEST(LrSchedule, StepMatchesFormula) {
  auto config = make(LrScheduleType::kStep);
  config.step_size = 7;
  config.gamma = 0.5;
  for (double t : times(40)) {
    EXPECT_DOUBLE_EQ(scheduled_lr(config, t, 40, 0.2), 0.2 * std::pow(0.5, std::floor(t / 7))) << t;
  }
  EXPECT_DOUBLE_EQ(scheduled_lr(config, 6.75, 40, 0.2), 0.2);
  EXPECT_DOUBLE_EQ(scheduled_lr(config, 7, 40, 0.2), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_lr(config, 14, 40, 0.2), 0.05);
}

TEST(LrSchedule, MultiStepMatchesFormula) {
  auto config = make(LrScheduleType::kMultiStep);
  config.milestones = {10, 25, 30};
  config.gamma = 0.1;
  for (double t : times(40)) {
    const int passed = (t >= 10) + (t >= 25) + (t >= 30);
    EXPECT_DOUBLE_EQ(scheduled_lr(config, t, 40, 1.0), std::pow(0.1, passed)) << t;
  }
}

TEST(LrSchedule, PolynomialIsKerasPolynomialDecay) {
  auto config = make(LrScheduleType::kPolynomial);
  config.power = 2;
  config.end_lr = 1e-4;
  for (double t : times(50)) {
    const double expected = (1e-3 - 1e-4) * std::pow(1 - t / 50, 2) + 1e-4;
    EXPECT_NEAR(scheduled_lr(config, t, 50, 1e-3), expected, 1e-15) << t;
  }
  EXPECT_NEAR(scheduled_lr(config, 25, 50, 1e-3), 3.25e-4, 1e-15);  // 0.9e-3 / 4 + 1e-4
  EXPECT_NEAR(scheduled_lr(config, 50, 50, 1e-3), 1e-4, 1e-15);
  EXPECT_NEAR(scheduled_lr(config, 60, 50, 1e-3), 1e-4, 1e-15);  // clamped past the end
  config.decay_epochs = 10;
  EXPECT_NEAR(scheduled_lr(config, 5, 50, 1e-3), 0.9e-3 * 0.25 + 1e-4, 1e-15);
  EXPECT_NEAR(scheduled_lr(config, 30, 50, 1e-3), 1e-4, 1e-15);
}

TEST(LrSchedule, CosineMatchesFormula) {
  auto config = make(LrScheduleType::kCosine);
  config.eta_min = 0.001;
  for (double t : times(30)) {
    const double expected = 0.001 + (0.1 - 0.001) * (1 + std::cos(kPi * t / 30)) / 2;
    EXPECT_NEAR(scheduled_lr(config, t, 30, 0.1), expected, 1e-15) << t;
  }
  EXPECT_NEAR(scheduled_lr(config, 15, 30, 0.1), 0.0505, 1e-15);
  EXPECT_NEAR(scheduled_lr(config, 30, 30, 0.1), 0.001, 1e-15);
}

TEST(LrSchedule, CosineRestartsFollowSgdrPeriods) {
  auto config = make(LrScheduleType::kCosineRestarts);
  config.t_0 = 10;
  config.t_mult = 2;
  // Periods [0,10), [10,30), [30,70), [70,150).
  const double starts[] = {0, 10, 30, 70, 150};
  for (double t : times(149)) {
    int k = 0;
    while (t >= starts[k + 1]) ++k;
    const double length = starts[k + 1] - starts[k];
    const double expected = 0.5 * (1 + std::cos(kPi * (t - starts[k]) / length)) / 2;
    EXPECT_NEAR(scheduled_lr(config, t, 150, 0.5), expected, 1e-14) << t;
  }
  EXPECT_DOUBLE_EQ(scheduled_lr(config, 10, 150, 0.5), 0.5);
  EXPECT_DOUBLE_EQ(scheduled_lr(config, 30, 150, 0.5), 0.5);
  EXPECT_DOUBLE_EQ(scheduled_lr(config, 70, 150, 0.5), 0.5);
  EXPECT_NEAR(scheduled_lr(config, 20, 150, 0.5), 0.25, 1e-15);

  config.t_mult = 1;
  config.t_0 = 4;
  config.eta_min = 0.1;
  for (double t : times(20)) {
    const double expected = 0.1 + (0.5 - 0.1) * (1 + std::cos(kPi * std::fmod(t, 4) / 4)) / 2;
    EXPECT_NEAR(scheduled_lr(config, t, 20, 0.5), expected, 1e-14) << t;
  }
}

// BitNetMCU: CosineAnnealingLR(T_max=epochs, eta_min=0) stepped once per epoch, and after the
// scheduler step of epoch e, `if e + 1 == halve_lr_epoch: lr *= 0.5`. PyTorch's recursive cosine
// update is multiplicative when eta_min = 0, so the halving persists.
TEST(LrSchedule, TwoStepMatchesBitNetMcuLoop) {
  auto config = make(LrScheduleType::kTwoStep);
  config.halve_epoch = 30;
  const int epochs = 60;
  double lr = 0.003;  // the LR used in epoch 0
  for (int epoch = 0; epoch < epochs; ++epoch) {
    EXPECT_NEAR(scheduled_lr(config, epoch, epochs, 0.003), lr, 1e-15) << epoch;
    lr = lr * (1 + std::cos(kPi * (epoch + 1) / epochs)) / (1 + std::cos(kPi * epoch / epochs));
    if (epoch + 1 == 30) lr *= 0.5;
  }
  EXPECT_NEAR(scheduled_lr(config, 30, epochs, 0.003), 0.00075, 1e-15);
  config.halve_epoch = -1;  // default: half of the decay
  EXPECT_NEAR(scheduled_lr(config, 29, epochs, 0.003), 0.003 * (1 + std::cos(kPi * 29 / 60)) / 2,
              1e-15);
  EXPECT_NEAR(scheduled_lr(config, 30, epochs, 0.003), 0.00075, 1e-15);
}

TEST(LrSchedule, LinearWarmupThenShiftedSchedule) {
  auto config = make(LrScheduleType::kCosine);
  config.warmup_epochs = 5;
  config.warmup_start_factor = 0.1;
  for (double t : times(45)) {
    double expected;
    if (t < 5) {
      expected = 0.2 * (0.1 + 0.9 * t / 5);
    } else {
      expected = 0.2 * (1 + std::cos(kPi * (t - 5) / 40)) / 2;
    }
    EXPECT_NEAR(scheduled_lr(config, t, 45, 0.2), expected, 1e-15) << t;
  }
  EXPECT_NEAR(scheduled_lr(config, 0, 45, 0.2), 0.02, 1e-15);
  EXPECT_NEAR(scheduled_lr(config, 2.5, 45, 0.2), 0.11, 1e-15);
  EXPECT_NEAR(scheduled_lr(config, 5, 45, 0.2), 0.2, 1e-15);

  auto step = make(LrScheduleType::kStep);
  step.step_size = 10;
  step.gamma = 0.1;
  step.warmup_epochs = 3;
  EXPECT_NEAR(scheduled_lr(step, 1, 30, 1.0), 1.0 / 3, 1e-15);
  EXPECT_NEAR(scheduled_lr(step, 12.75, 30, 1.0), 1.0, 1e-15);  // 9.75 epochs after warm-up
  EXPECT_NEAR(scheduled_lr(step, 13, 30, 1.0), 0.1, 1e-15);
}

TEST(LrSchedule, RejectsImpossibleParameters) {
  auto config = make(LrScheduleType::kPolynomial);
  config.power = 0;
  EXPECT_THROW(scheduled_lr(config, 0, 10, 0.1), std::invalid_argument);
  auto warm = make(LrScheduleType::kConstant);
  warm.warmup_epochs = 10;
  try {
    scheduled_lr(warm, 0, 10, 0.1);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& error) {
    EXPECT_THAT(error.what(), HasSubstr("lr_schedule.warmup_epochs"));
  }
  auto multi = make(LrScheduleType::kMultiStep);
  multi.milestones = {5, 5};
  EXPECT_THROW(scheduled_lr(multi, 0, 10, 0.1), std::invalid_argument);
  auto restarts = make(LrScheduleType::kCosineRestarts);
  restarts.t_mult = 0.5;
  EXPECT_THROW(scheduled_lr(restarts, 0, 10, 0.1), std::invalid_argument);
  EXPECT_THROW(scheduled_lr(make(LrScheduleType::kConstant), -1, 10, 0.1), std::invalid_argument);
}

TEST(LrScheduleParse, ReadsEveryType) {
  auto parse = [](const std::string& text) {
    return parse_lr_schedule(config::ConfigNode::parse(text, "s.yaml"));
  };
  auto poly = parse("{type: polynomial, power: 2, end_lr: 1.0e-4, update: step}");
  EXPECT_EQ(poly.type, LrScheduleType::kPolynomial);
  EXPECT_EQ(poly.update, LrUpdate::kStep);
  EXPECT_EQ(poly.power, 2);
  EXPECT_EQ(poly.end_lr, 1e-4);
  auto multi = parse("{type: multistep, milestones: [30, 60], gamma: 0.2}");
  EXPECT_EQ(multi.milestones, (std::vector<double>{30, 60}));
  EXPECT_EQ(multi.gamma, 0.2);
  auto sgdr = parse("{type: cosine_restarts, t_0: 10, t_mult: 2, eta_min: 1.0e-5}");
  EXPECT_EQ(sgdr.type, LrScheduleType::kCosineRestarts);
  EXPECT_EQ(sgdr.t_0, 10);
  EXPECT_EQ(sgdr.t_mult, 2);
  auto two = parse("{type: two_step, halve_epoch: 30, warmup_epochs: 2, warmup_start_factor: 0.5}");
  EXPECT_EQ(two.type, LrScheduleType::kTwoStep);
  EXPECT_EQ(two.halve_epoch, 30);
  EXPECT_EQ(two.factor, 0.5);
  EXPECT_EQ(two.warmup_epochs, 2);
  EXPECT_EQ(two.warmup_start_factor, 0.5);
  EXPECT_EQ(parse("{}").type, LrScheduleType::kConstant);
  EXPECT_EQ(parse("{type: step, step_size: 3}").step_size, 3);
}

TEST(LrScheduleParse, StrictErrors) {
  auto message = [](const std::string& text) -> std::string {
    try {
      parse_lr_schedule(config::ConfigNode::parse(text, "s.yaml"));
    } catch (const config::ConfigError& error) {
      return error.what();
    }
    return "";
  };
  EXPECT_THAT(message("type: cosin\n"),
              HasSubstr("expected one of constant, step, multistep, polynomial, cosine, "
                        "cosine_restarts, two_step; got 'cosin'"));
  // A key of another type is unknown here, and the accepted keys are listed.
  EXPECT_THAT(message("type: cosine\npower: 2\n"), HasSubstr("s.yaml:2:1: `power`: unknown key"));
  EXPECT_THAT(message("type: polynomial\npower: -1\n"), HasSubstr("`power`: expected a value > 0"));
  EXPECT_THAT(message("type: step\n"), HasSubstr("`step_size`: missing required key"));
  EXPECT_THAT(message("type: multistep\nmilestones: [5, 3]\n"),
              HasSubstr("`milestones`: expected increasing epochs"));
  EXPECT_THAT(message("type: cosine_restarts\nt_0: 5\nt_mult: 0.5\n"),
              HasSubstr("`t_mult`: expected a value in [1,"));
  EXPECT_THAT(message("update: batch\n"), HasSubstr("expected one of epoch, step"));
}

}  // namespace
}  // namespace lowbit::train

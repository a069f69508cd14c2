// Every quantizer declares whether its scale is static (the lowering to an integer model trusts
// the declaration); here the declaration is held against what integer_form does with inputs
// 1000x apart, for every registered type and role, fresh, after training and once frozen.
#include <gtest/gtest.h>
#include <torch/types.h>

#include <string>

#include "lowbit/quant/registry.h"
#include "lowbit/quant/spec.h"

namespace lowbit::quant {
namespace {

// Whether two inputs of very different magnitude get the same scale and zero point.
bool same_grid_for(QuantizerImpl& q, const torch::Tensor& x) {
  const IntegerForm small = q.integer_form(x);
  const IntegerForm large = q.integer_form(x * 1000.0);
  return torch::equal(small.scale, large.scale) && torch::equal(small.zero_point, large.zero_point);
}

TEST(ScaleIsStatic, EveryTypeDeclaresWhatItsIntegerFormDoes) {
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({4, 16});
  int checked = 0;
  int static_seen = 0;
  int dynamic_seen = 0;
  for (const QuantizerType& type : quantizer_types()) {
    for (Role role : type.roles) {
      Quantizer q;
      try {
        q = make_quantizer(type.name, role);
      } catch (const SpecError&) {
        continue;  // a type with a required key; its own tests cover it
      }
      for (int state = 0; state < 3; ++state) {
        if (state >= 1) {  // after a training forward (records statistics, initializes steps)
          q->train();
          q->forward(x);
        }
        if (state == 2) q->set_frozen(true);
        q->eval();
        const bool declared = q->scale_is_static();
        EXPECT_EQ(declared, same_grid_for(*q, x))
            << type.name << " as " << role_name(role) << ", state " << state
            << (declared ? ": declared static but its scale follows the input"
                         : ": declared data-dependent but its scale is fixed");
        ++checked;
        (declared ? static_seen : dynamic_seen) += 1;
      }
    }
  }
  EXPECT_GT(checked, 30);
  EXPECT_GT(static_seen, 10);
  EXPECT_GT(dynamic_seen, 5);
}

TEST(ScaleIsStatic, EmaRangeIsStaticOnceObservedAndMinMaxNever) {
  const torch::Tensor x = torch::randn({8, 8});
  Quantizer ema = make_quantizer("uniform:bits=8,scale=ema", Role::kActivation);
  ema->eval();
  EXPECT_FALSE(ema->scale_is_static());
  ema->train();
  ema->forward(x);
  ema->eval();
  EXPECT_TRUE(ema->scale_is_static());
  Quantizer minmax = make_quantizer("uniform:bits=8,scale=minmax", Role::kActivation);
  minmax->train();
  minmax->forward(x);
  minmax->set_frozen(true);
  minmax->eval();
  EXPECT_FALSE(minmax->scale_is_static());
}

}  // namespace
}  // namespace lowbit::quant

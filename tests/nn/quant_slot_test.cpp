#include "lowbit/nn/quant_slot.h"

#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include "lowbit/quant/spec.h"

namespace lowbit::nn {
namespace {

TEST(QuantSlot, InstallsReplacesAndRemoves) {
  torch::nn::Module owner;
  const torch::Device cpu(torch::kCPU);
  quant::Quantizer q = install_quantizer(owner, "w", "lsq:bits=3", quant::Role::kWeight, cpu);
  ASSERT_TRUE(q);
  EXPECT_EQ(owner.named_children()["w"].get(), q.get());
  quant::Quantizer r = install_quantizer(owner, "w", "lsq:bits=2", quant::Role::kWeight, cpu);
  EXPECT_EQ(owner.named_children()["w"].get(), r.get());
  EXPECT_EQ(owner.named_children().size(), 1u);
  EXPECT_THROW(install_quantizer(owner, "w", "nonesuch", quant::Role::kWeight, cpu),
               quant::SpecError);
  EXPECT_EQ(owner.named_children()["w"].get(), r.get());
  EXPECT_FALSE(install_quantizer(owner, "w", "", quant::Role::kWeight, cpu));
  EXPECT_TRUE(owner.named_children().is_empty());
}

TEST(QuantSlot, ApplyWithoutQuantizerIsIdentity) {
  const torch::Tensor x = torch::randn({3});
  EXPECT_TRUE(torch::equal(apply_quantizer(nullptr, x), x));
  quant::Quantizer q = quant::Quantizer(nullptr);
  EXPECT_EQ(apply_quantizer(q, x).data_ptr(), x.data_ptr());
}

}  // namespace
}  // namespace lowbit::nn

// The base every quantizer derives from. A quantizer is a torch::nn::Module so that learned
// step sizes, clipping levels and observer statistics are saved and loaded with the model.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <string>

#include "lowbit/quant/integer_form.h"
#include "lowbit/quant/spec.h"

namespace lowbit::quant {

/// What a quantizer is applied to. It picks defaults (signedness, per-channel axis, observers).
enum class Role { kWeight, kBias, kActivation };

/// A quantizer: fake quantization for training and the integer form for export, from one path.
class QuantizerImpl : public torch::nn::Module {
 public:
  ~QuantizerImpl() override = default;

  /// Fake-quantized x with the training gradient (straight-through or learned step).
  /// In training mode it may update observers; in eval mode it reads them only.
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;

  /// The integer form of x. integer_form(x).dequantize() equals forward(x) bit for bit when
  /// called in the same mode with the same state; it never updates observers.
  virtual IntegerForm integer_form(const torch::Tensor& x) = 0;

  /// Bits one code needs.
  virtual int bits() const = 0;

  /// Changes the bit width (epoch events). Throws SpecError for types whose width is fixed.
  virtual void set_bits(int bits);

  /// Freezes (true) or releases learned parameters (step size, clipping level) and observers.
  virtual void set_frozen(bool frozen) { frozen_ = frozen; }

  /// Whether learned parameters and observers are frozen.
  bool frozen() const { return frozen_; }

  /// Whether integer_form's scale and zero point are the same for every input in the current
  /// state (fixed, learned, or a recorded statistic), so an integer model can fix them at export.
  /// False while they follow the data (a statistic of x, or one not yet recorded).
  virtual bool scale_is_static() const = 0;

  /// The SPEC that rebuilds this quantizer with its current settings.
  virtual QuantSpec spec() const = 0;

  /// The values the grid can produce for x's current scale, ascending, as a 1-D float tensor
  /// (per-tensor grids) or {C, L} (per-channel grids). Used by bin regularization and reports.
  virtual torch::Tensor levels(const torch::Tensor& x) = 0;

 protected:
  bool frozen_ = false;
};

/// Shared handle to a quantizer, the form layers hold and register.
using Quantizer = std::shared_ptr<QuantizerImpl>;

}  // namespace lowbit::quant

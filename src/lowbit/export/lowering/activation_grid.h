// The int8 grid of an activation quantizer, as the integer model fixes it at export, and the
// error every lowering step throws.
#pragma once

#include <cstdint>
#include <string>

#include "lowbit/export/integer_model.h"
#include "lowbit/nn/qactivation.h"
#include "lowbit/quant/quantizer.h"

namespace lowbit::exporter::lowering {

/// Throws std::invalid_argument "convert: layer '<layer>': <what>".
[[noreturn]] void fail(const std::string& layer, const std::string& what);

/// An activation grid in int8 terms: real = scale * (q - zero_point), q in [q_min, q_max].
struct Grid {
  double scale = 1;        ///< Real value of one code step.
  int32_t zero_point = 0;  ///< Code of real 0.
  int32_t q_min = -128;    ///< Smallest code of the grid.
  int32_t q_max = 127;     ///< Largest code of the grid.
  /// The scale follows each sample (a dynshift output): `scale` is only the accumulator's unit,
  /// so nothing that needs the real scale (a bias, a fixed requantization) can follow.
  bool per_sample = false;
};

/// Reads the grid of an activation quantizer. Its scale must not depend on the data (a static,
/// learned or observed range), since the integer model fixes it at export time; fails naming
/// `layer` otherwise, and for codebooks, per-channel grids, more than 256 codes.
Grid activation_grid(const quant::Quantizer& quantizer, const Shape& shape,
                     const std::string& layer);

/// The activation a QActivation merges into requantization; fails for functions without one.
Activation activation_of(const nn::QActivationImpl& act, const std::string& layer);

}  // namespace lowbit::exporter::lowering

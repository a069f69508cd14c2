#include "lowbit/quant/quantizer.h"

namespace lowbit::quant {

void QuantizerImpl::set_bits(int bits) {
  throw SpecError("quantizer '" + spec().str() +
                  "' has a fixed bit width; cannot set bits=" + std::to_string(bits));
}

}  // namespace lowbit::quant

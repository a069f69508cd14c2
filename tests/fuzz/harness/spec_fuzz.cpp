// libFuzzer target: the quantizer SPEC grammar (quant::QuantSpec::parse) and the registry that
// builds a quantizer from it. Documented errors are quant::SpecError; a spec that parses must
// print to text that parses back equal, and a quantizer that builds must give finite outputs for
// finite inputs.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "fuzz_input.h"
#include "lowbit/quant/registry.h"
#include "lowbit/quant/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  lowbit::quant::QuantSpec spec;
  try {
    spec = lowbit::quant::QuantSpec::parse(text);
  } catch (const lowbit::quant::SpecError&) {
    return 0;
  } catch (const std::exception& e) {
    lowbit::fuzz::undocumented("spec", e);
  }
  try {
    if (!(lowbit::quant::QuantSpec::parse(spec.str()) == spec)) {
      std::fprintf(stderr, "spec: '%s' does not parse back to an equal spec\n", spec.str().c_str());
      std::abort();
    }
  } catch (const std::exception& e) {
    lowbit::fuzz::undocumented("spec round trip", e);
  }
  static const torch::Tensor x = torch::linspace(-3.0, 3.0, 16).reshape({4, 4});
  for (const auto role : {lowbit::quant::Role::kWeight, lowbit::quant::Role::kActivation}) {
    try {
      const lowbit::quant::Quantizer q = lowbit::quant::make_quantizer(spec, role);
      const torch::Tensor y = q->forward(x);
      if (!torch::isfinite(y).all().item<bool>()) {
        std::fprintf(stderr, "spec: '%s' gives non-finite outputs for finite inputs\n",
                     spec.str().c_str());
        std::abort();
      }
    } catch (const lowbit::quant::SpecError&) {
    } catch (const std::exception& e) {
      lowbit::fuzz::undocumented("spec quantizer", e);
    }
  }
  return 0;
}

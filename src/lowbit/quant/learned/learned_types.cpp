// Registry entries of the learned-step quantizers.
#include "lowbit/quant/learned/lsq.h"
#include "lowbit/quant/learned/pact.h"
#include "lowbit/quant/registry.h"

namespace lowbit::quant {

void add_learned_types(std::vector<QuantizerType>& types) {
  types.push_back(QuantizerType{
      "lsq",
      "learned step size (Esser et al. 2020): the step is trained with gradient scale "
      "1/sqrt(N*Qp), initialised to 2*mean|x|/sqrt(Qp)",
      {{"bits", "4", "code width: 2..16 signed, 1..16 unsigned"},
       {"signed", "by role",
        "1: codes -2^(b-1)..2^(b-1)-1; 0: codes 0..2^b-1 (default 1 for weights and biases, "
        "0 for activations)"},
       {"per_channel", "0", "1: one step per output channel (weights) or channel (activations)"},
       {"clip", "0",
        "> 0: inputs are clipped to [-clip, clip] (unsigned: at most clip) before quantizing, "
        "e.g. ReLU6 = clip=6; 0: no clip"}},
      {Role::kWeight, Role::kBias, Role::kActivation},
      [](const QuantSpec& spec, Role role) -> Quantizer {
        LsqOptions options;
        options.is_signed = spec.get_bool("signed", role != Role::kActivation);
        options.bits = spec.get_int_in("bits", 4, options.is_signed ? 2 : 1, 16);
        options.per_channel = spec.get_bool("per_channel", false);
        options.clip = spec.get_double("clip", 0.0);
        if (!(options.clip >= 0.0)) {
          throw SpecError("quantizer spec '" + spec.str() + "': parameter 'clip' = '" +
                          spec.get("clip", "") + "': expected 0 (none) or a positive number");
        }
        return std::make_shared<LsqImpl>(options, role);
      }});
  types.push_back(QuantizerType{
      "pact",
      "learned clipping level (Choi et al. 2018): clip(x, 0, alpha) quantized on [0, alpha], "
      "alpha trained with the loss",
      {{"bits", "4", "code width 1..16; codes 0..2^b-1"},
       {"alpha", "6", "initial clipping level, > 0"}},
      {Role::kActivation},
      [](const QuantSpec& spec, Role /*role*/) -> Quantizer {
        PactOptions options;
        options.bits = spec.get_int_in("bits", 4, 1, 16);
        options.alpha = spec.get_double("alpha", 6.0);
        if (!(options.alpha > 0.0)) {
          throw SpecError("quantizer spec '" + spec.str() + "': parameter 'alpha' = '" +
                          spec.get("alpha", "") + "': expected a positive number");
        }
        return std::make_shared<PactImpl>(options);
      }});
}

}  // namespace lowbit::quant

/* Minimal main around BitNetMCU's inference engine for bench/mcu/peers.sh. Reads from stdin one
 * byte (how many inferences to run, 0 or 1 for the instruction count) and the 256-byte int8
 * 16x16 sample, runs the four fully connected layers of a 256-64-64-64-10 model with BitNetMCU's
 * processfclayer/ReLUNorm and writes the predicted class as one byte. The engine is included as
 * one translation unit after the model header, as BitNetMCU's own MCU demo builds it, so the
 * compiler sees the constant bit width; the model header and the engine come from the user's
 * BitNetMCU checkout (include paths set by peers.sh). */
#include <stdint.h>

#include BITNETMCU_MODEL_HEADER
#include "BitNetMCU_inference.c"
#include "peer_io.h"

#if !defined(MODEL_FCMNIST) || NUM_LAYERS != 4 || L1_incoming_weights != 256 || \
    L4_outgoing_weights != 10
#error "bench/mcu/peers: expected a 4-layer fully connected BitNetMCU model with 256 inputs"
#endif

// One inference; layer outputs are 32-bit sums, ReLUNorm rescales them to int8 for the next.
static uint32_t infer(int8_t* input) {
  int32_t sums[MAX_N_ACTIVATIONS];
  int8_t activations[MAX_N_ACTIVATIONS];
  processfclayer(input, L1_weights, L1_bitperweight, L1_incoming_weights, L1_outgoing_weights,
                 sums);
  ReLUNorm(sums, activations, L1_outgoing_weights);
  processfclayer(activations, L2_weights, L2_bitperweight, L2_incoming_weights, L2_outgoing_weights,
                 sums);
  ReLUNorm(sums, activations, L2_outgoing_weights);
  processfclayer(activations, L3_weights, L3_bitperweight, L3_incoming_weights, L3_outgoing_weights,
                 sums);
  ReLUNorm(sums, activations, L3_outgoing_weights);
  processfclayer(activations, L4_weights, L4_bitperweight, L4_incoming_weights, L4_outgoing_weights,
                 sums);
  return ReLUNorm(sums, activations, L4_outgoing_weights);
}

int main(void) {
  uint8_t runs = 0;
  int8_t input[L1_incoming_weights];
  if (peer_read_full(&runs, 1) != 0 || peer_read_full(input, (int)sizeof(input)) != 0) return 2;
  uint8_t prediction = 0xff;
  for (uint8_t i = 0; i < runs; ++i) prediction = (uint8_t)infer(input);
  return peer_sys_write(1, &prediction, 1) == 1 ? 0 : 3;
}

/* Minimal main around CMSIS-NN's arm_fully_connected_s4 for bench/mcu/peers.sh: a 256-64-64-64-10
 * fully connected model with int4 weights, int8 activations and per-tensor quantization (the
 * model header comes from gen_cmsis_s4_model.c). Reads from stdin one byte (how many inferences
 * to run, 0 or 1 for the instruction count) and the 256-byte int8 input, writes the 10 int8
 * outputs of the last layer. The hidden layers use a ReLU folded into the clamp (zero point
 * -128); CMSIS-NN's sources and headers come from the user's checkout. */
#include <stdint.h>

#include "arm_nnfunctions.h"
#include "cmsis_s4_model.h"
#include "peer_io.h"

// One fully connected layer: input zero point `input_zero`, output zero point `output_zero`,
// outputs clamped to [`lowest`, 127].
static void layer(const int8_t* input, int inputs, const int8_t* weights, const int32_t* bias,
                  int outputs, int32_t multiplier, int32_t shift, int32_t input_zero,
                  int32_t output_zero, int32_t lowest, int8_t* output) {
  const cmsis_nn_context context = {0, 0};
  const cmsis_nn_fc_params params = {-input_zero, 0, output_zero, {lowest, 127}};
  const cmsis_nn_per_tensor_quant_params quant = {multiplier, shift};
  const cmsis_nn_dims input_dims = {1, 1, 1, inputs};
  const cmsis_nn_dims filter_dims = {inputs, 1, 1, outputs};
  const cmsis_nn_dims bias_dims = {1, 1, 1, outputs};
  const cmsis_nn_dims output_dims = {1, 1, 1, outputs};
  arm_fully_connected_s4(&context, &params, &quant, &input_dims, input, &filter_dims, weights,
                         &bias_dims, bias, &output_dims, output);
}

static void infer(const int8_t* input, int8_t* logits) {
  int8_t a[64];
  int8_t b[64];
  layer(input, 256, l1_weights, l1_bias, 64, L1_MULTIPLIER, L1_SHIFT, 0, -128, -128, a);
  layer(a, 64, l2_weights, l2_bias, 64, L2_MULTIPLIER, L2_SHIFT, -128, -128, -128, b);
  layer(b, 64, l3_weights, l3_bias, 64, L3_MULTIPLIER, L3_SHIFT, -128, -128, -128, a);
  layer(a, 64, l4_weights, l4_bias, 10, L4_MULTIPLIER, L4_SHIFT, -128, 0, -128, logits);
}

int main(void) {
  uint8_t runs = 0;
  int8_t input[256];
  static int8_t logits[10];  // static: zeroed by the loader, no memset call
  if (peer_read_full(&runs, 1) != 0 || peer_read_full(input, (int)sizeof(input)) != 0) return 2;
  for (uint8_t i = 0; i < runs; ++i) infer(input, logits);
  return peer_sys_write(1, logits, (int)sizeof(logits)) == (int)sizeof(logits) ? 0 : 3;
}

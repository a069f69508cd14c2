/* Channel / feature concatenation with a rescale of every input to the output scale. */
#include "lowbit_internal.h"

lowbit_status_t lowbit_concat_s8(const lowbit_concat_input_t* inputs, size_t num_inputs,
                                 int32_t output_zero_point, int8_t* output, size_t output_length) {
  size_t total = 0;
  size_t n;
  size_t i;
  if (inputs == NULL || output == NULL || num_inputs == 0 || output_length == 0) {
    return LOWBIT_ERR_ARG;
  }
  if (!lowbit_zero_point_ok(output_zero_point)) return LOWBIT_ERR_RANGE;
  /* Check everything before writing so a failed call leaves output untouched. */
  for (n = 0; n < num_inputs; ++n) {
    if (inputs[n].data == NULL || inputs[n].length == 0) return LOWBIT_ERR_ARG;
    if (!lowbit_zero_point_ok(inputs[n].zero_point) || inputs[n].multiplier < 0 ||
        inputs[n].shift < LOWBIT_SHIFT_MIN || inputs[n].shift > LOWBIT_SHIFT_MAX) {
      return LOWBIT_ERR_RANGE;
    }
    if (inputs[n].length > SIZE_MAX - total) return LOWBIT_ERR_BUFFER;
    total += inputs[n].length;
  }
  if (total != output_length) return LOWBIT_ERR_BUFFER;
  for (n = 0; n < num_inputs; ++n) {
    /* Locals: stores through int8_t may alias the inputs' fields. */
    const int8_t* const data = inputs[n].data;
    const size_t length = inputs[n].length;
    const int32_t zero_point = inputs[n].zero_point;
    const int32_t multiplier = inputs[n].multiplier;
    const int32_t shift = inputs[n].shift;
    if (multiplier == LOWBIT_IDENTITY_MULTIPLIER && shift == LOWBIT_IDENTITY_SHIFT) {
      /* The identity rescale is exactly q - zero_point + output_zero_point, saturated. */
      const int32_t offset = output_zero_point - zero_point;
      for (i = 0; i < length; ++i) {
        const int32_t v = (int32_t)data[i] + offset;
        output[i] = (int8_t)(v < LOWBIT_INT8_MIN_I32   ? LOWBIT_INT8_MIN_I32
                             : v > LOWBIT_INT8_MAX_I32 ? LOWBIT_INT8_MAX_I32
                                                       : v);
      }
    } else {
      for (i = 0; i < length; ++i) {
        output[i] =
            lowbit_requantize_inline((int32_t)data[i] - zero_point, multiplier, shift,
                                     output_zero_point, LOWBIT_INT8_MIN_I32, LOWBIT_INT8_MAX_I32);
      }
    }
    output += length;
  }
  return LOWBIT_OK;
}

/* Fully connected layer over packed weights with per-layer or per-channel requantization. */
#include "lowbit_internal.h"

/* Weights are decoded and summed in chunks of this many inputs: a fixed trip count lets compilers
 * vectorize the dot product, and |x - zp| * |w| <= 255 * 128 keeps a chunk's sum far inside int32
 * (256 * 32640 < 2^23), so each chunk is exact before it joins the 64-bit accumulator. */
#define LOWBIT_FC_CHUNK 256
/* Inputs per vectorizable block inside a chunk. */
#define LOWBIT_FC_BLOCK 16

/* Decodes the codes of packed bytes [first_byte, first_byte + bytes) of a row into codes, byte by
 * byte with one loop per format (the generic field reader costs several operations per weight). */
static void lowbit_fc_decode(const lowbit_format_traits_t* traits, const uint8_t* row,
                             size_t first_byte, size_t bytes, int8_t* codes) {
  const uint8_t* p = row + first_byte;
  size_t k;
  int j;
  switch (traits->format) {
    case LOWBIT_FORMAT_INT8:
      for (k = 0; k < bytes; ++k) codes[k] = (int8_t)(((int)p[k] ^ 128) - 128);
      break;
    case LOWBIT_FORMAT_INT4:
      for (k = 0; k < bytes; ++k) {
        codes[2 * k] = (int8_t)(((p[k] & 15) ^ 8) - 8);
        codes[2 * k + 1] = (int8_t)(((p[k] >> 4) ^ 8) - 8);
      }
      break;
    case LOWBIT_FORMAT_SYM4:
      for (k = 0; k < bytes; ++k) {
        codes[2 * k] = (int8_t)(2 * (p[k] & 15) - 15);
        codes[2 * k + 1] = (int8_t)(2 * (p[k] >> 4) - 15);
      }
      break;
    case LOWBIT_FORMAT_INT2:
      for (k = 0; k < bytes; ++k) {
        for (j = 0; j < 4; ++j)
          codes[4 * k + (size_t)j] = (int8_t)((((p[k] >> (2 * j)) & 3) ^ 2) - 2);
      }
      break;
    case LOWBIT_FORMAT_SYM2:
      for (k = 0; k < bytes; ++k) {
        for (j = 0; j < 4; ++j)
          codes[4 * k + (size_t)j] = (int8_t)(2 * ((p[k] >> (2 * j)) & 3) - 3);
      }
      break;
    default: /* LOWBIT_FORMAT_BINARY: bit 1 = +1, bit 0 = -1 */
      for (k = 0; k < bytes; ++k) {
        for (j = 0; j < 8; ++j) codes[8 * k + (size_t)j] = (int8_t)(2 * ((p[k] >> j) & 1) - 1);
      }
      break;
  }
}

/* Sum of (x[i] - zp) * w[i] over one row, exact. */
static int64_t lowbit_fc_row_dot(const lowbit_format_traits_t* traits, const uint8_t* row,
                                 const int8_t* x, size_t n, int32_t zp) {
  /* Room for a whole chunk plus the codes of a partly used last byte. */
  int8_t codes[LOWBIT_FC_CHUNK + 8];
  int64_t acc = 0;
  size_t start;
  size_t i;
  for (start = 0; start < n; start += LOWBIT_FC_CHUNK) {
    const size_t count = n - start < LOWBIT_FC_CHUNK ? n - start : LOWBIT_FC_CHUNK;
    const size_t first_byte = start / traits->codes_per_byte;
    const size_t bytes = (count + traits->codes_per_byte - 1) / traits->codes_per_byte;
    const int8_t* xs = x + start;
    int32_t sum = 0;
    lowbit_fc_decode(traits, row, first_byte, bytes, codes);
    /* Blocks of 16 with a constant inner trip count vectorize at -O2 for any row length (layers
     * of 64 inputs too); the scalar tail takes the rest. Integer sums, so the order is free. */
    for (i = 0; i + LOWBIT_FC_BLOCK <= count; i += LOWBIT_FC_BLOCK) {
      size_t j;
      for (j = 0; j < LOWBIT_FC_BLOCK; ++j) {
        sum += ((int32_t)xs[i + j] - zp) * (int32_t)codes[i + j];
      }
    }
    for (; i < count; ++i) sum += ((int32_t)xs[i] - zp) * (int32_t)codes[i];
    acc += sum;
  }
  return acc;
}

lowbit_status_t lowbit_fully_connected_s8(const lowbit_fc_params_t* params, const int8_t* input,
                                          const uint8_t* weights, size_t weights_size,
                                          const int32_t* bias, int8_t* output) {
  const lowbit_format_traits_t* traits;
  lowbit_status_t status;
  size_t row_bytes;
  size_t b;
  size_t o;
  if (params == NULL || input == NULL || weights == NULL || output == NULL) return LOWBIT_ERR_ARG;
  if (params->batch == 0 || params->in_features == 0 || params->out_features == 0) {
    return LOWBIT_ERR_ARG;
  }
  traits = lowbit_format_traits(params->weight_format);
  if (traits == NULL) return LOWBIT_ERR_FORMAT;
  if (!lowbit_zero_point_ok(params->input_zero_point)) return LOWBIT_ERR_RANGE;
  status = lowbit_requant_check(&params->requant, params->out_features);
  if (status != LOWBIT_OK) return status;
  if (weights_size == 0 ||
      weights_size !=
          lowbit_packed_size(params->weight_format, params->out_features, params->in_features)) {
    return LOWBIT_ERR_BUFFER;
  }
  row_bytes = weights_size / params->out_features;
  for (b = 0; b < params->batch; ++b) {
    const int8_t* x = input + b * params->in_features;
    int8_t* y = output + b * params->out_features;
    for (o = 0; o < params->out_features; ++o) {
      const uint8_t* row = weights + o * row_bytes;
      const size_t c = params->requant.count == 1 ? 0 : o;
      /* Exact 64-bit sum, saturated once at the end, so the result never depends on order. */
      int64_t acc = bias != NULL ? (int64_t)bias[o] : 0;
      acc += lowbit_fc_row_dot(traits, row, x, params->in_features, params->input_zero_point);
      y[o] = lowbit_requantize(lowbit_saturate_i32(acc), params->requant.multiplier[c],
                               params->requant.shift[c], params->requant.output_zero_point,
                               params->requant.act_min, params->requant.act_max);
    }
  }
  return LOWBIT_OK;
}

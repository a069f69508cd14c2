/* Fully connected layer over packed weights with per-layer or per-channel requantization.
 *
 * The weights are never unpacked. A packed byte holds cpb = 8 / bits fields, field j of byte k
 * being weight k * cpb + j. The input is prepared once per sample into cpb int16 "lanes" in
 * scratch, lane j holding x[k * cpb + j] - zero_point at index k (0 past the end), so byte k of
 * every row meets lane j at the same index k: a row's dot product is cpb element-wise products of
 * contiguous streams, which compilers vectorize at -O2 (int16 * int16 summed into int32, pmaddwd
 * on x86), in blocks of a constant 32 (then 16) bytes.
 *
 * The fields are read as g = ((byte ^ flip) >> (j * bits)) & mask, and every format's code is
 * affine in g: two's complement flips each field's top bit (flip = 0x80, 0x88 or 0xAA), giving
 * w = g - 2^(bits - 1); the odd grid reads the field as is, w = 2 g - (2^bits - 1). So
 *   sum_i (x_i - zp) w_i = scale * sum_i (x_i - zp) g_i - offset * sum_i (x_i - zp),
 * exactly, with the second sum formed once per sample. */
#include "lowbit_internal.h"

/* Packed bytes per vectorized block: a constant trip count that gcc's -O2 cost model accepts,
 * above the 16 iterations gcc -O3 unrolls completely (which leaves scalar code behind). Rows take
 * blocks of 32, then at most one of 16, then single bytes. */
#define LOWBIT_FC_BLOCK 32

/* The affine view of a format's fields: code = scale * g - offset, g read after XOR with flip. */
typedef struct {
  uint8_t flip;
  int32_t scale;
  int32_t offset;
} lowbit_fc_fields_t;

static lowbit_fc_fields_t lowbit_fc_fields(const lowbit_format_traits_t* traits) {
  lowbit_fc_fields_t f;
  const uint32_t top = UINT32_C(1) << (traits->bits - 1u);
  uint32_t j;
  f.flip = 0;
  if (traits->encoding == LOWBIT_ENCODING_ODD_GRID) {
    f.scale = 2;
    f.offset = (int32_t)((UINT32_C(1) << traits->bits) - 1u);
  } else {
    for (j = 0; j < traits->codes_per_byte; ++j) {
      f.flip = (uint8_t)(f.flip | (top << (j * traits->bits)));
    }
    f.scale = 1;
    f.offset = (int32_t)top;
  }
  return f;
}

/* int16 values per lane: the packed row bytes, ceil(n / cpb), rounded up to a multiple of 16 so
 * that a row's last bytes can be summed as one block of 16 (the lanes are 0 past the row, so the
 * bytes read beyond it add nothing). 0 on overflow. */
static size_t lowbit_fc_lane_stride(size_t per_lane) {
  const size_t block = LOWBIT_FC_BLOCK / 2;
  return per_lane > SIZE_MAX - block ? 0 : (per_lane + block - 1) / block * block;
}

/* Bytes of lanes for a row of n inputs: cpb lanes of lowbit_fc_lane_stride int16 each. */
static size_t lowbit_fc_lane_bytes(const lowbit_format_traits_t* traits, size_t n) {
  const size_t per_lane = n / traits->codes_per_byte + (n % traits->codes_per_byte != 0 ? 1 : 0);
  return lowbit_mul_size(lowbit_mul_size(lowbit_fc_lane_stride(per_lane), traits->codes_per_byte),
                         sizeof(int16_t));
}

size_t lowbit_fc_scratch_size(const lowbit_fc_params_t* params) {
  const lowbit_format_traits_t* traits;
  size_t bytes;
  if (params == NULL || params->in_features == 0) return 0;
  traits = lowbit_format_traits(params->weight_format);
  if (traits == NULL) return 0;
  bytes = lowbit_fc_lane_bytes(traits, params->in_features);
  if (bytes == 0 || bytes > SIZE_MAX - LOWBIT_SCRATCH_SLACK) return 0;
  return bytes + LOWBIT_SCRATCH_SLACK;
}

/* Writes x - zp into the lanes (lane j at lanes + j * stride; 0 past the end of x, up to the
 * stride); returns the sum of x - zp. Inlined per bit width, so the lane loop is constant. */
LOWBIT_FORCE_INLINE int64_t lowbit_fc_prepare(const int8_t* x, size_t n, int32_t zp, uint32_t cpb,
                                              size_t stride, int16_t* lanes) {
  const size_t whole = n / cpb;
  int64_t sum = 0;
  size_t k;
  uint32_t j;
  for (k = 0; k < whole; ++k) {
    for (j = 0; j < cpb; ++j) {
      const int16_t value = (int16_t)((int32_t)x[k * cpb + j] - zp);
      lanes[j * stride + k] = value;
      sum += value;
    }
  }
  for (j = 0; j < cpb; ++j) {
    for (k = whole; k < stride; ++k) {
      const size_t i = k * cpb + j;
      const int16_t value = (int16_t)(i < n ? (int32_t)x[i] - zp : 0);
      lanes[j * stride + k] = value;
      sum += value;
    }
  }
  return sum;
}

/* sum_k lane[k] * g(p[k]) over one block of `count` bytes, g the field at `shift`. One product per
 * iteration, with the field computed in the loop, is the dot-product shape compilers map to
 * pmaddwd (vpdpwssd with AVX-512 VNNI); a field array in between would cost a store-forwarding
 * stall when the two loops use different vector widths. |sum| <= 32 * 255 * 255 < 2^31. */
LOWBIT_FORCE_INLINE int32_t lowbit_fc_lane(const uint8_t* p, const int16_t* lane, uint32_t shift,
                                           uint32_t mask, uint8_t flip, int count) {
  int32_t sum = 0;
  int k;
  LOWBIT_KEEP_LOOP
  for (k = 0; k < count; ++k) {
    sum += (int32_t)lane[k] * (int32_t)(int16_t)(((uint32_t)(p[k] ^ flip) >> shift) & mask);
  }
  return sum;
}

/* All lanes of one block. The lanes are spelled out per bit width rather than looped over: the
 * shifts must be constants, and gcc does not unroll a loop around vectorized loops. */
LOWBIT_FORCE_INLINE int32_t lowbit_fc_block(const uint8_t* p, const int16_t* l, size_t n,
                                            uint32_t bits, uint8_t flip, int c) {
  switch (bits) {
    case 8:
      return lowbit_fc_lane(p, l, 0, 0xFF, flip, c);
    case 4:
      return lowbit_fc_lane(p, l, 0, 15, flip, c) + lowbit_fc_lane(p, l + n, 4, 15, flip, c);
    case 2:
      return lowbit_fc_lane(p, l, 0, 3, flip, c) + lowbit_fc_lane(p, l + n, 2, 3, flip, c) +
             lowbit_fc_lane(p, l + 2 * n, 4, 3, flip, c) +
             lowbit_fc_lane(p, l + 3 * n, 6, 3, flip, c);
    default: /* binary is an odd-grid format: flip is 0 */
      return lowbit_fc_lane(p, l, 0, 1, 0, c) + lowbit_fc_lane(p, l + n, 1, 1, 0, c) +
             lowbit_fc_lane(p, l + 2 * n, 2, 1, 0, c) + lowbit_fc_lane(p, l + 3 * n, 3, 1, 0, c) +
             lowbit_fc_lane(p, l + 4 * n, 4, 1, 0, c) + lowbit_fc_lane(p, l + 5 * n, 5, 1, 0, c) +
             lowbit_fc_lane(p, l + 6 * n, 6, 1, 0, c) + lowbit_fc_lane(p, l + 7 * n, 7, 1, 0, c);
  }
}

/* sum_i (x_i - zp) g_i over one packed row of per_lane bytes: blocks of 32, one of 16, then the
 * last bytes as one more block of 16. That block reads past the row into the next row, which its
 * zero lanes cancel; only near the end of the weights (`end`), where reading on would leave the
 * array, are the last bytes copied into a zero-padded block instead. */
LOWBIT_FORCE_INLINE int64_t lowbit_fc_row(const uint8_t* row, const uint8_t* end,
                                          const int16_t* lanes, size_t per_lane, size_t stride,
                                          uint32_t bits, uint8_t flip) {
  const size_t half = LOWBIT_FC_BLOCK / 2;
  int64_t acc = 0;
  size_t k = 0;
  for (; k + LOWBIT_FC_BLOCK <= per_lane; k += LOWBIT_FC_BLOCK) {
    acc += lowbit_fc_block(row + k, lanes + k, stride, bits, flip, LOWBIT_FC_BLOCK);
  }
  if (k + half <= per_lane) {
    acc += lowbit_fc_block(row + k, lanes + k, stride, bits, flip, (int)half);
    k += half;
  }
  if (k < per_lane) {
    if ((size_t)(end - (row + k)) >= half) {
      acc += lowbit_fc_block(row + k, lanes + k, stride, bits, flip, (int)half);
    } else {
      uint8_t tail[LOWBIT_FC_BLOCK / 2];
      size_t t;
      for (t = 0; t < half; ++t) tail[t] = k + t < per_lane ? row[k + t] : 0;
      acc += lowbit_fc_block(tail, lanes + k, stride, bits, flip, (int)half);
    }
  }
  return acc;
}

/* All samples and rows of a validated layer, for one bit width (a constant after inlining). */
LOWBIT_FORCE_INLINE void lowbit_fc_layer(const lowbit_fc_params_t* params, const int8_t* input,
                                         const uint8_t* weights, size_t row_bytes,
                                         const int32_t* bias, int8_t* output, int16_t* lanes,
                                         uint32_t bits) {
  const lowbit_fc_fields_t f = lowbit_fc_fields(lowbit_format_traits(params->weight_format));
  /* Locals, not params fields: stores through int8_t may alias anything, so fields would be
   * reloaded after every output. */
  const int32_t* const multiplier = params->requant.multiplier;
  const int32_t* const shift = params->requant.shift;
  const int per_channel = params->requant.count != 1;
  const int32_t zero_point = params->requant.output_zero_point;
  const int32_t act_min = params->requant.act_min;
  const int32_t act_max = params->requant.act_max;
  const size_t in_features = params->in_features;
  const size_t out_features = params->out_features;
  const size_t stride = lowbit_fc_lane_stride(row_bytes);
  const uint8_t* const end = weights + row_bytes * out_features;
  size_t b;
  size_t o;
  for (b = 0; b < params->batch; ++b) {
    const int64_t x_sum = lowbit_fc_prepare(input + b * in_features, in_features,
                                            params->input_zero_point, 8u / bits, stride, lanes);
    int8_t* y = output + b * out_features;
    for (o = 0; o < out_features; ++o) {
      const size_t c = per_channel ? o : 0;
      /* Exact 64-bit sum, saturated once at the end, so the result never depends on order. */
      int64_t acc = bias != NULL ? (int64_t)bias[o] : 0;
      acc += f.scale * lowbit_fc_row(weights + o * row_bytes, end, lanes, row_bytes, stride, bits,
                                     f.flip) -
             f.offset * x_sum;
      y[o] = lowbit_requantize_inline(lowbit_saturate_i32(acc), multiplier[c], shift[c], zero_point,
                                      act_min, act_max);
    }
  }
}

lowbit_status_t lowbit_fully_connected_s8(const lowbit_fc_params_t* params, const int8_t* input,
                                          const uint8_t* weights, size_t weights_size,
                                          const int32_t* bias, int8_t* output, void* scratch,
                                          size_t scratch_size) {
  const lowbit_format_traits_t* traits;
  lowbit_status_t status;
  int16_t* lanes;
  size_t row_bytes;
  if (params == NULL || input == NULL || weights == NULL || output == NULL || scratch == NULL) {
    return LOWBIT_ERR_ARG;
  }
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
  if (scratch_size < lowbit_fc_scratch_size(params)) return LOWBIT_ERR_BUFFER;
  lanes = (int16_t*)lowbit_align_scratch(scratch, scratch_size,
                                         lowbit_fc_lane_bytes(traits, params->in_features));
  if (lanes == NULL) return LOWBIT_ERR_BUFFER;
  row_bytes = weights_size / params->out_features;
  /* One specialized copy per bit width: constant shifts and lane counts vectorize. */
  switch (traits->bits) {
    case 8:
      lowbit_fc_layer(params, input, weights, row_bytes, bias, output, lanes, 8);
      break;
    case 4:
      lowbit_fc_layer(params, input, weights, row_bytes, bias, output, lanes, 4);
      break;
    case 2:
      lowbit_fc_layer(params, input, weights, row_bytes, bias, output, lanes, 2);
      break;
    default:
      lowbit_fc_layer(params, input, weights, row_bytes, bias, output, lanes, 1);
      break;
  }
  return LOWBIT_OK;
}

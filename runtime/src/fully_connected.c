/* Fully connected layer over packed weights with per-layer or per-channel requantization. The
 * weights are never unpacked: see fully_connected_internal.h for the lanes and fields, and
 * fully_connected_simd.h for the kernels x86 uses; this file holds the portable kernel and picks
 * the kernel of a call. */
#include "fully_connected_internal.h"

size_t lowbit_internal_fc_lane_bytes(const lowbit_format_traits_t* traits, size_t n) {
  return lowbit_mul_size(
      lowbit_mul_size(lowbit_fc_lane_stride(n, traits->bits), 2u * traits->codes_per_byte),
      sizeof(int16_t));
}

size_t lowbit_fc_scratch_size(const lowbit_fc_params_t* params) {
  const lowbit_format_traits_t* traits;
  size_t bytes;
  if (params == NULL || params->in_features == 0) return 0;
  traits = lowbit_format_traits(params->weight_format);
  if (traits == NULL) return 0;
  bytes = lowbit_internal_fc_lane_bytes(traits, params->in_features);
  if (bytes == 0 || bytes > SIZE_MAX - LOWBIT_SCRATCH_SLACK) return 0;
  return bytes + LOWBIT_SCRATCH_SLACK;
}

/* sum_m lane[m] * g(word m) over the 8 words of one block, g the field at `shift`: one product
 * per iteration, the shape compilers vectorize as int16 multiply-adds. */
LOWBIT_FORCE_INLINE int32_t lowbit_fc_lane(const uint8_t* p, const int16_t* lane, uint32_t shift,
                                           uint32_t mask, uint32_t flip) {
  int32_t sum = 0;
  int m;
  LOWBIT_KEEP_LOOP
  for (m = 0; m < (int)LOWBIT_FC_BLOCK_BYTES / 2; ++m) {
    const uint32_t word = ((uint32_t)p[2 * m] | (uint32_t)p[2 * m + 1] << 8) ^ flip;
    sum += (int32_t)lane[m] * (int32_t)((word >> shift) & mask);
  }
  return sum;
}

/* sum_f sum_m lane_f[m] * g_f(word m) over one block; |sum| <= 128 * 255 * 255. */
LOWBIT_FORCE_INLINE int32_t lowbit_fc_block(const uint8_t* p, const int16_t* lanes, size_t stride,
                                            uint32_t bits, uint32_t flip) {
  const uint32_t mask = (UINT32_C(1) << bits) - 1u;
  int32_t sum = 0;
  uint32_t f;
  for (f = 0; f < 16u / bits; ++f) {
    sum += lowbit_fc_lane(p, lanes + f * stride, f * bits, mask, flip);
  }
  return sum;
}

/* sum_i (x_i - zp) g_i over one packed row, block by block (see fully_connected_internal.h for
 * the last block). */
LOWBIT_FORCE_INLINE int64_t lowbit_fc_row(const uint8_t* row, const uint8_t* end,
                                          const int16_t* lanes, size_t stride, uint32_t bits,
                                          uint32_t flip) {
  int64_t acc = 0;
  size_t m;
  for (m = 0; m < stride; m += LOWBIT_FC_BLOCK_BYTES / 2) {
    const uint8_t* p = row + 2 * m;
    const size_t available = (size_t)(end - p);
    if (available >= LOWBIT_FC_BLOCK_BYTES) {
      acc += lowbit_fc_block(p, lanes + m, stride, bits, flip);
    } else {
      uint8_t tail[LOWBIT_FC_BLOCK_BYTES];
      lowbit_fc_tail_bytes(p, available, tail, sizeof tail);
      acc += lowbit_fc_block(tail, lanes + m, stride, bits, flip);
    }
  }
  return acc;
}

/* All samples and rows of a validated layer, for one bit width (a constant after inlining). */
LOWBIT_FORCE_INLINE void lowbit_fc_layer(const lowbit_fc_params_t* params, const int8_t* input,
                                         const uint8_t* weights, size_t row_bytes,
                                         const int32_t* bias, int8_t* output, int16_t* lanes,
                                         uint32_t bits) {
  const lowbit_fc_fields_t f =
      lowbit_fc_fields(bits, lowbit_format_traits(params->weight_format)->encoding);
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
  const size_t stride = lowbit_fc_lane_stride(in_features, bits);
  const uint8_t* const end = weights + row_bytes * out_features;
  size_t b;
  size_t o;
  for (b = 0; b < params->batch; ++b) {
    const int64_t x_sum = lowbit_fc_prepare(input + b * in_features, in_features,
                                            params->input_zero_point, bits, stride, 0, lanes);
    int8_t* y = output + b * out_features;
    for (o = 0; o < out_features; ++o) {
      const size_t c = per_channel ? o : 0;
      /* Exact 64-bit sum, saturated once at the end, so the result never depends on order. */
      int64_t acc = bias != NULL ? (int64_t)bias[o] : 0;
      acc += f.scale * lowbit_fc_row(weights + o * row_bytes, end, lanes, stride, bits, f.flip) -
             f.offset * x_sum;
      y[o] = lowbit_requantize_inline(lowbit_saturate_i32(acc), multiplier[c], shift[c], zero_point,
                                      act_min, act_max);
    }
  }
}

/* The saturated sums of one sample, for one bit width (a constant after inlining). */
LOWBIT_FORCE_INLINE void lowbit_fc_sums(const int8_t* x, size_t in_features, size_t out_features,
                                        int32_t zero_point, lowbit_encoding_t encoding,
                                        const uint8_t* weights, size_t row_bytes,
                                        const int32_t* bias, int32_t* sums, int16_t* lanes,
                                        uint32_t bits) {
  const lowbit_fc_fields_t f = lowbit_fc_fields(bits, encoding);
  const size_t stride = lowbit_fc_lane_stride(in_features, bits);
  const uint8_t* const end = weights + row_bytes * out_features;
  const int64_t x_sum = lowbit_fc_prepare(x, in_features, zero_point, bits, stride, 0, lanes);
  size_t o;
  for (o = 0; o < out_features; ++o) {
    int64_t acc = bias != NULL ? (int64_t)bias[o] : 0;
    acc += f.scale * lowbit_fc_row(weights + o * row_bytes, end, lanes, stride, bits, f.flip) -
           f.offset * x_sum;
    sums[o] = lowbit_saturate_i32(acc);
  }
}

void lowbit_internal_fc_sums(const lowbit_format_traits_t* traits, const int8_t* x,
                             size_t in_features, size_t out_features, int32_t zero_point,
                             const uint8_t* weights, size_t row_bytes, const int32_t* bias,
                             int32_t* sums, int16_t* lanes) {
  switch (traits->bits) {
    case 8:
      lowbit_fc_sums(x, in_features, out_features, zero_point, traits->encoding, weights, row_bytes,
                     bias, sums, lanes, 8);
      break;
    case 4:
      lowbit_fc_sums(x, in_features, out_features, zero_point, traits->encoding, weights, row_bytes,
                     bias, sums, lanes, 4);
      break;
    case 2:
      lowbit_fc_sums(x, in_features, out_features, zero_point, traits->encoding, weights, row_bytes,
                     bias, sums, lanes, 2);
      break;
    default:
      lowbit_fc_sums(x, in_features, out_features, zero_point, traits->encoding, weights, row_bytes,
                     bias, sums, lanes, 1);
      break;
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
  lanes = (int16_t*)lowbit_align_scratch(
      scratch, scratch_size, lowbit_internal_fc_lane_bytes(traits, params->in_features));
  if (lanes == NULL) return LOWBIT_ERR_BUFFER;
  row_bytes = weights_size / params->out_features;
#if LOWBIT_SSE2
  if (params->in_features <= LOWBIT_FC_INT32_INPUTS) {
#if LOWBIT_AVX2
    if (lowbit_internal_has_avx2()) {
      lowbit_internal_fc_layer_avx2(params, input, weights, row_bytes, bias, output, lanes);
      return LOWBIT_OK;
    }
#endif
    lowbit_internal_fc_layer_sse2(params, input, weights, row_bytes, bias, output, lanes);
    return LOWBIT_OK;
  }
#endif
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

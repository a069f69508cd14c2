/* Transposed 2-D convolution (groups 1) in CHW layout, cropped to a given output size: the
 * decoder's upsampling layer.
 *
 * Computed by scattering rather than gathering: for each output channel, every nonzero kernel tap
 * (i, ky, kx) adds w * (x - zp) of input rows iy and columns ix to output (iy * stride_h + ky -
 * pad_top, ix * stride_w + kx - pad_left). The ranges of iy and ix that land inside the crop are
 * worked out once per tap, so the inner loop has no stride test and no bounds test, and each tap's
 * code is decoded once per output channel. The int32 sums of one output channel live in scratch;
 * they are exact because an output receives at most row_length products of magnitude 255 * 128
 * (the limit of conv2d), and the bias is added with saturation when they are requantized. */
#include "lowbit_requant_sums.h"

/* Largest row_length (in_channels * kernel_h * kernel_w) with exact int32 sums, as conv2d:
 * 65793 * 255 * 128 < 2^31. */
#define LOWBIT_CONVT_MAX_TAPS 65793u

/* Validates the geometry (everything but the buffers and the values). */
static lowbit_status_t lowbit_convt_check(const lowbit_conv_transpose2d_params_t* p) {
  if (p == NULL) return LOWBIT_ERR_ARG;
  if (p->in_channels == 0 || p->in_height == 0 || p->in_width == 0 || p->out_channels == 0 ||
      p->out_height == 0 || p->out_width == 0 || p->kernel_h == 0 || p->kernel_w == 0 ||
      p->stride_h == 0 || p->stride_w == 0) {
    return LOWBIT_ERR_ARG;
  }
  /* The loops form out + pad and in * stride + kernel in size_t. */
  if (p->pad_top > SIZE_MAX - p->out_height || p->pad_left > SIZE_MAX - p->out_width ||
      lowbit_mul_size(p->in_height, p->stride_h) == 0 ||
      lowbit_mul_size(p->in_width, p->stride_w) == 0 ||
      lowbit_mul_size(p->out_height, p->out_width) == 0) {
    return LOWBIT_ERR_ARG;
  }
  return LOWBIT_OK;
}

size_t lowbit_conv_transpose2d_scratch_size(const lowbit_conv_transpose2d_params_t* params) {
  size_t sums;
  if (lowbit_convt_check(params) != LOWBIT_OK) return 0;
  sums = lowbit_mul_size(lowbit_mul_size(params->out_height, params->out_width), sizeof(int32_t));
  if (sums == 0 || sums > SIZE_MAX - LOWBIT_SCRATCH_SLACK) return 0;
  return sums + LOWBIT_SCRATCH_SLACK;
}

/* The input indices [*first, *end) whose tap at kernel offset k lands in [0, out) of the output:
 * 0 <= index * stride + k - pad < out. */
static void lowbit_convt_range(size_t k, size_t pad, size_t stride, size_t in_size, size_t out,
                               size_t* first, size_t* end) {
  const size_t limit = out + pad; /* index * stride + k < limit */
  *first = k >= pad ? 0 : (pad - k + stride - 1) / stride;
  *end = limit > k ? (limit - k + stride - 1) / stride : 0;
  if (*end > in_size) *end = in_size;
}

/* sums[j * stride] += w * (src[j] - zp) for j < count. */
static void lowbit_convt_tap(int32_t* sums, size_t stride, const int8_t* src, size_t count,
                             int32_t w, int32_t zp) {
  size_t j;
  if (stride == 1) {
    for (j = 0; j < count; ++j) sums[j] += w * ((int32_t)src[j] - zp);
  } else {
    for (j = 0; j < count; ++j) sums[j * stride] += w * ((int32_t)src[j] - zp);
  }
}

/* The int32 sums (without bias) of output channel o, whose packed kernel row is `row`. */
static void lowbit_convt_channel(const lowbit_conv_transpose2d_params_t* p,
                                 const lowbit_format_traits_t* traits, const int8_t* input,
                                 const uint8_t* row, int32_t* sums) {
  const size_t out_w = p->out_width;
  const size_t in_plane = p->in_height * p->in_width;
  const int32_t zp = p->input_zero_point;
  size_t t = 0;
  size_t i;
  for (i = 0; i < p->out_height * out_w; ++i) sums[i] = 0;
  for (i = 0; i < p->in_channels; ++i) {
    const int8_t* const plane = input + i * in_plane;
    size_t ky;
    for (ky = 0; ky < p->kernel_h; ++ky) {
      size_t iy_first;
      size_t iy_end;
      size_t kx;
      lowbit_convt_range(ky, p->pad_top, p->stride_h, p->in_height, p->out_height, &iy_first,
                         &iy_end);
      for (kx = 0; kx < p->kernel_w; ++kx, ++t) {
        const int32_t w = lowbit_decode_field(traits, lowbit_field_at(row, t, traits->bits));
        size_t ix_first;
        size_t ix_end;
        size_t iy;
        if (w == 0 || iy_first >= iy_end) continue;
        lowbit_convt_range(kx, p->pad_left, p->stride_w, p->in_width, out_w, &ix_first, &ix_end);
        if (ix_first >= ix_end) continue;
        for (iy = iy_first; iy < iy_end; ++iy) {
          const size_t y = iy * p->stride_h + ky - p->pad_top;
          const size_t x = ix_first * p->stride_w + kx - p->pad_left;
          lowbit_convt_tap(sums + y * out_w + x, p->stride_w, plane + iy * p->in_width + ix_first,
                           ix_end - ix_first, w, zp);
        }
      }
    }
  }
}

lowbit_status_t lowbit_conv_transpose2d_s8(const lowbit_conv_transpose2d_params_t* params,
                                           const int8_t* input, const uint8_t* weights,
                                           size_t weights_size, const int32_t* bias, int8_t* output,
                                           void* scratch, size_t scratch_size) {
  const lowbit_format_traits_t* traits;
  lowbit_status_t status;
  int32_t* sums;
  size_t row_length;
  size_t row_bytes;
  size_t own_bytes;
  size_t plane;
  int32_t widest;
  size_t o;
  status = lowbit_convt_check(params);
  if (status != LOWBIT_OK) return status;
  if (input == NULL || weights == NULL || output == NULL || scratch == NULL) return LOWBIT_ERR_ARG;
  traits = lowbit_format_traits(params->weight_format);
  if (traits == NULL) return LOWBIT_ERR_FORMAT;
  if (!lowbit_zero_point_ok(params->input_zero_point)) return LOWBIT_ERR_RANGE;
  status = lowbit_requant_check(&params->requant, params->out_channels);
  if (status != LOWBIT_OK) return status;
  row_length =
      lowbit_mul_size(lowbit_mul_size(params->in_channels, params->kernel_h), params->kernel_w);
  if (row_length == 0 || row_length > LOWBIT_CONVT_MAX_TAPS) return LOWBIT_ERR_RANGE;
  own_bytes = lowbit_conv_transpose2d_scratch_size(params);
  if (own_bytes == 0) return LOWBIT_ERR_ARG; /* overflow */
  if (scratch_size < own_bytes) return LOWBIT_ERR_BUFFER;
  if (weights_size == 0 ||
      weights_size != lowbit_packed_size(params->weight_format, params->out_channels, row_length)) {
    return LOWBIT_ERR_BUFFER;
  }
  sums = (int32_t*)lowbit_align_scratch(scratch, scratch_size, own_bytes - LOWBIT_SCRATCH_SLACK);
  if (sums == NULL) return LOWBIT_ERR_BUFFER;
  row_bytes = weights_size / params->out_channels;
  plane = params->out_height * params->out_width;
  widest = -(int32_t)traits->code_min > (int32_t)traits->code_max ? -(int32_t)traits->code_min
                                                                  : (int32_t)traits->code_max;
  for (o = 0; o < params->out_channels; ++o) {
    const size_t c = params->requant.count == 1 ? 0 : o;
    lowbit_channel_requant_t rq;
    lowbit_convt_channel(params, traits, input, weights + o * row_bytes, sums);
    rq = lowbit_channel_requant(&params->requant, c, bias != NULL ? bias[o] : 0,
                                (int64_t)row_length * 255 * widest);
    lowbit_requantize_sums(&rq, sums, output + o * plane, plane);
  }
  return LOWBIT_OK;
}

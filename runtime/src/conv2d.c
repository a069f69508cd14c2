/* Grouped 2-D convolution in CHW layout; groups == in_channels gives depthwise. */
#include "lowbit_internal.h"

/* Validates everything that does not depend on the buffers; writes the output size. */
static lowbit_status_t lowbit_conv2d_check(const lowbit_conv2d_params_t* p, size_t* out_h,
                                           size_t* out_w) {
  lowbit_status_t status;
  if (p == NULL || out_h == NULL || out_w == NULL) return LOWBIT_ERR_ARG;
  if (p->in_channels == 0 || p->out_channels == 0 || p->groups == 0) return LOWBIT_ERR_ARG;
  if (p->in_channels % p->groups != 0 || p->out_channels % p->groups != 0) return LOWBIT_ERR_ARG;
  status = lowbit_internal_window_shape(p->in_height, p->kernel_h, p->stride_h, p->pad_top,
                                        p->pad_bottom, out_h);
  if (status != LOWBIT_OK) return status;
  return lowbit_internal_window_shape(p->in_width, p->kernel_w, p->stride_w, p->pad_left,
                                      p->pad_right, out_w);
}

lowbit_status_t lowbit_conv2d_output_shape(const lowbit_conv2d_params_t* params, size_t* out_height,
                                           size_t* out_width) {
  size_t h;
  size_t w;
  const lowbit_status_t status = lowbit_conv2d_check(params, &h, &w);
  if (status != LOWBIT_OK) return status;
  if (out_height == NULL || out_width == NULL) return LOWBIT_ERR_ARG;
  *out_height = h;
  *out_width = w;
  return LOWBIT_OK;
}

size_t lowbit_conv2d_scratch_size(const lowbit_conv2d_params_t* params) {
  size_t h;
  size_t w;
  if (lowbit_conv2d_check(params, &h, &w) != LOWBIT_OK) return 0;
  return lowbit_mul_size(lowbit_mul_size(params->in_channels / params->groups, params->kernel_h),
                         params->kernel_w);
}

lowbit_status_t lowbit_conv2d_s8(const lowbit_conv2d_params_t* params, const int8_t* input,
                                 const uint8_t* weights, size_t weights_size, const int32_t* bias,
                                 int8_t* output, int8_t* scratch, size_t scratch_size) {
  const lowbit_format_traits_t* traits;
  lowbit_status_t status;
  size_t out_h;
  size_t out_w;
  size_t row_length;
  size_t row_bytes;
  size_t group_in;
  size_t group_out;
  size_t o;
  status = lowbit_conv2d_check(params, &out_h, &out_w);
  if (status != LOWBIT_OK) return status;
  if (input == NULL || weights == NULL || output == NULL || scratch == NULL) return LOWBIT_ERR_ARG;
  traits = lowbit_format_traits(params->weight_format);
  if (traits == NULL) return LOWBIT_ERR_FORMAT;
  if (!lowbit_zero_point_ok(params->input_zero_point)) return LOWBIT_ERR_RANGE;
  status = lowbit_requant_check(&params->requant, params->out_channels);
  if (status != LOWBIT_OK) return status;
  row_length = lowbit_conv2d_scratch_size(params);
  if (row_length == 0 || scratch_size < row_length) return LOWBIT_ERR_BUFFER;
  if (weights_size == 0 ||
      weights_size != lowbit_packed_size(params->weight_format, params->out_channels, row_length)) {
    return LOWBIT_ERR_BUFFER;
  }
  row_bytes = weights_size / params->out_channels;
  group_in = params->in_channels / params->groups;
  group_out = params->out_channels / params->groups;
  for (o = 0; o < params->out_channels; ++o) {
    const size_t first_in = (o / group_out) * group_in;
    const size_t c = params->requant.count == 1 ? 0 : o;
    size_t oy;
    /* Each kernel is reused at every output position, so decode it once into scratch. */
    lowbit_internal_unpack_row(traits, weights + o * row_bytes, row_length, scratch);
    for (oy = 0; oy < out_h; ++oy) {
      size_t ox;
      for (ox = 0; ox < out_w; ++ox) {
        int64_t acc = bias != NULL ? (int64_t)bias[o] : 0;
        size_t ci;
        for (ci = 0; ci < group_in; ++ci) {
          const int8_t* plane = input + (first_in + ci) * params->in_height * params->in_width;
          const int8_t* kernel = scratch + ci * params->kernel_h * params->kernel_w;
          size_t ky;
          for (ky = 0; ky < params->kernel_h; ++ky) {
            const size_t row = oy * params->stride_h + ky;
            size_t iy;
            size_t kx;
            /* Padding positions hold the input zero point, so they would add exactly 0. */
            if (row < params->pad_top) continue;
            iy = row - params->pad_top;
            if (iy >= params->in_height) continue;
            for (kx = 0; kx < params->kernel_w; ++kx) {
              const size_t col = ox * params->stride_w + kx;
              size_t ix;
              if (col < params->pad_left) continue;
              ix = col - params->pad_left;
              if (ix >= params->in_width) continue;
              acc +=
                  (int64_t)((int32_t)plane[iy * params->in_width + ix] - params->input_zero_point) *
                  kernel[ky * params->kernel_w + kx];
            }
          }
        }
        output[(o * out_h + oy) * out_w + ox] = lowbit_requantize(
            lowbit_saturate_i32(acc), params->requant.multiplier[c], params->requant.shift[c],
            params->requant.output_zero_point, params->requant.act_min, params->requant.act_max);
      }
    }
  }
  return LOWBIT_OK;
}

/* Average pooling over the in-bounds part of each window, rounding half away from zero. */
#include "lowbit_internal.h"

/* sum / count rounded half away from zero; count >= 1. */
static int32_t lowbit_rounded_mean(int64_t sum, int64_t count) {
  const int64_t magnitude = sum < 0 ? -sum : sum;
  const int64_t rounded = (2 * magnitude + count) / (2 * count);
  return (int32_t)(sum < 0 ? -rounded : rounded);
}

lowbit_status_t lowbit_avg_pool_s8(const lowbit_pool_params_t* params, const int8_t* input,
                                   int8_t* output) {
  size_t out_h;
  size_t out_w;
  size_t c;
  lowbit_status_t status;
  if (input == NULL || output == NULL) return LOWBIT_ERR_ARG;
  status = lowbit_pool_output_shape(params, &out_h, &out_w);
  if (status != LOWBIT_OK) return status;
  for (c = 0; c < params->channels; ++c) {
    const int8_t* plane = input + c * params->in_height * params->in_width;
    size_t oy;
    for (oy = 0; oy < out_h; ++oy) {
      size_t ox;
      for (ox = 0; ox < out_w; ++ox) {
        int64_t sum = 0;
        int64_t count = 0;
        size_t ky;
        for (ky = 0; ky < params->kernel_h; ++ky) {
          const size_t row = oy * params->stride_h + ky;
          size_t iy;
          size_t kx;
          /* Padding positions are excluded from the window, never read. */
          if (row < params->pad_top) continue;
          iy = row - params->pad_top;
          if (iy >= params->in_height) continue;
          for (kx = 0; kx < params->kernel_w; ++kx) {
            const size_t col = ox * params->stride_w + kx;
            size_t ix;
            if (col < params->pad_left) continue;
            ix = col - params->pad_left;
            if (ix >= params->in_width) continue;
            sum += plane[iy * params->in_width + ix];
            ++count;
          }
        }
        output[(c * out_h + oy) * out_w + ox] = (int8_t)lowbit_rounded_mean(sum, count);
      }
    }
  }
  return LOWBIT_OK;
}

/* Max pooling over the in-bounds part of each window. */
#include "lowbit_internal.h"

lowbit_status_t lowbit_max_pool_s8(const lowbit_pool_params_t* params, const int8_t* input,
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
        int32_t best = LOWBIT_INT8_MIN_I32;
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
            if (plane[iy * params->in_width + ix] > best) best = plane[iy * params->in_width + ix];
          }
        }
        output[(c * out_h + oy) * out_w + ox] = (int8_t)best;
      }
    }
  }
  return LOWBIT_OK;
}

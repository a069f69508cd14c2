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
      size_t y0;
      size_t y1;
      size_t ox;
      /* Padding positions are excluded from the window, never read. */
      lowbit_internal_window_range(oy, params->stride_h, params->pad_top, params->kernel_h,
                                   params->in_height, &y0, &y1);
      for (ox = 0; ox < out_w; ++ox) {
        /* int32, not int8: compilers select int32 maxima without branches. */
        int32_t best = LOWBIT_INT8_MIN_I32;
        size_t x0;
        size_t x1;
        size_t iy;
        lowbit_internal_window_range(ox, params->stride_w, params->pad_left, params->kernel_w,
                                     params->in_width, &x0, &x1);
        for (iy = y0; iy < y1; ++iy) {
          const int8_t* row = plane + iy * params->in_width;
          size_t ix;
          for (ix = x0; ix < x1; ++ix) {
            const int32_t v = row[ix];
            best = v > best ? v : best;
          }
        }
        output[(c * out_h + oy) * out_w + ox] = (int8_t)best;
      }
    }
  }
  return LOWBIT_OK;
}

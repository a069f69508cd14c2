/* Geometry checks shared by max and average pooling. */
#include "lowbit_internal.h"

lowbit_status_t lowbit_pool_output_shape(const lowbit_pool_params_t* params, size_t* out_height,
                                         size_t* out_width) {
  size_t h;
  size_t w;
  lowbit_status_t status;
  if (params == NULL || out_height == NULL || out_width == NULL) return LOWBIT_ERR_ARG;
  if (params->channels == 0) return LOWBIT_ERR_ARG;
  /* Padding narrower than the kernel guarantees every window holds at least one real element. */
  if (params->pad_top >= params->kernel_h || params->pad_bottom >= params->kernel_h ||
      params->pad_left >= params->kernel_w || params->pad_right >= params->kernel_w) {
    return LOWBIT_ERR_ARG;
  }
  status = lowbit_internal_window_shape(params->in_height, params->kernel_h, params->stride_h,
                                        params->pad_top, params->pad_bottom, &h);
  if (status != LOWBIT_OK) return status;
  status = lowbit_internal_window_shape(params->in_width, params->kernel_w, params->stride_w,
                                        params->pad_left, params->pad_right, &w);
  if (status != LOWBIT_OK) return status;
  *out_height = h;
  *out_width = w;
  return LOWBIT_OK;
}

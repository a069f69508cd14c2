/* Sliding-window geometry shared by conv2d and the pools. */
#include "lowbit_internal.h"

lowbit_status_t lowbit_internal_window_shape(size_t in_size, size_t kernel, size_t stride,
                                             size_t pad_before, size_t pad_after,
                                             size_t* out_size) {
  size_t padded;
  if (in_size == 0 || kernel == 0 || stride == 0) return LOWBIT_ERR_ARG;
  if (pad_before > SIZE_MAX - in_size || pad_after > SIZE_MAX - in_size - pad_before) {
    return LOWBIT_ERR_ARG;
  }
  padded = in_size + pad_before + pad_after;
  if (kernel > padded) return LOWBIT_ERR_ARG;
  *out_size = (padded - kernel) / stride + 1;
  return LOWBIT_OK;
}

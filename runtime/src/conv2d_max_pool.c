/* Conv2d fused with the max pooling of its output: the conv2d driver (conv2d.c) with the pooling
 * of its int32 sums (max_pool_sums.c), so only pooled sums are requantized. */
#include "conv2d_internal.h"

size_t lowbit_conv2d_max_pool_scratch_size(const lowbit_conv2d_params_t* conv,
                                           const lowbit_pool_params_t* pool) {
  size_t conv_bytes;
  size_t pool_bytes;
  if (conv == NULL || pool == NULL) return 0;
  conv_bytes = lowbit_conv2d_scratch_size(conv);
  pool_bytes = lowbit_internal_pool_sums_bytes(pool);
  if (conv_bytes == 0 || pool_bytes == 0 || conv_bytes > SIZE_MAX - pool_bytes) return 0;
  return conv_bytes + pool_bytes;
}

lowbit_status_t lowbit_conv2d_max_pool_s8(const lowbit_conv2d_params_t* conv,
                                          const lowbit_pool_params_t* pool, const int8_t* input,
                                          const uint8_t* weights, size_t weights_size,
                                          const int32_t* bias, int8_t* output, void* scratch,
                                          size_t scratch_size) {
  if (conv == NULL || pool == NULL) return LOWBIT_ERR_ARG;
  return lowbit_internal_conv2d(conv, pool, input, weights, weights_size, bias, output, scratch,
                                scratch_size);
}

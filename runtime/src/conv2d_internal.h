/* The conv2d driver (conv2d.c), shared with conv2d_max_pool.c, and the pooling of its int32 sums
 * (max_pool_sums.c) that it calls; internal to the runtime. */
#ifndef LOWBIT_CONV2D_INTERNAL_H_
#define LOWBIT_CONV2D_INTERNAL_H_

#include "lowbit_requant_sums.h"

/** Conv2d, optionally max-pooled (pool != NULL: the pooled output is written and scratch holds
 * lowbit_internal_pool_sums_bytes(pool) more bytes). Validates everything. */
lowbit_status_t lowbit_internal_conv2d(const lowbit_conv2d_params_t* params,
                                       const lowbit_pool_params_t* pool, const int8_t* input,
                                       const uint8_t* weights, size_t weights_size,
                                       const int32_t* bias, int8_t* output, void* scratch,
                                       size_t scratch_size);

/** Scratch bytes the fused pooling adds: one channel's int32 sums, one row of window maxima and
 * one row of pooled sums (0 on overflow or an invalid pool). */
size_t lowbit_internal_pool_sums_bytes(const lowbit_pool_params_t* pool);

/** Max-pools one channel's int32 conv sums (pool->in_height x pool->in_width, followed in
 * memory by the rows of maxima and pooled sums) into out_h x out_w (the pool's validated output
 * size) and requantizes each pooled sum into out. */
void lowbit_internal_max_pool_sums(const lowbit_pool_params_t* pool, size_t out_h, size_t out_w,
                                   int32_t* sums, const lowbit_channel_requant_t* rq, int8_t* out);

#endif /* LOWBIT_CONV2D_INTERNAL_H_ */

/* Case layouts of the runtime golden vectors (filled in by the generated golden_vectors.h). */
#ifndef LOWBIT_TESTS_RUNTIME_GOLDEN_TYPES_H_
#define LOWBIT_TESTS_RUNTIME_GOLDEN_TYPES_H_

#include <stddef.h>
#include <stdint.h>

#include "lowbit_runtime.h"

/** One call of lowbit_requantize() and its expected result. */
typedef struct {
  int32_t acc;               /**< Accumulator. */
  int32_t multiplier;        /**< Q31 multiplier. */
  int32_t shift;             /**< Shift. */
  int32_t output_zero_point; /**< Output zero point. */
  int32_t act_min;           /**< Lower clamp. */
  int32_t act_max;           /**< Upper clamp. */
  int32_t expected;          /**< Expected int8 result. */
} golden_requant_case_t;

/** One call of lowbit_activation_range() and its expected bounds. */
typedef struct {
  lowbit_activation_t activation; /**< Activation. */
  int32_t output_zero_point;      /**< Output zero point. */
  int32_t upper_q;                /**< Quantized upper limit. */
  int32_t act_min;                /**< Expected lower clamp. */
  int32_t act_max;                /**< Expected upper clamp. */
} golden_activation_case_t;

/** A code matrix and its packed bytes. */
typedef struct {
  const char* name;       /**< Case description. */
  lowbit_format_t format; /**< Weight format. */
  size_t rows;            /**< Rows. */
  size_t row_length;      /**< Codes per row. */
  const int8_t* codes;    /**< rows * row_length codes. */
  const uint8_t* packed;  /**< Expected packed bytes. */
  size_t packed_size;     /**< Bytes in packed. */
} golden_pack_case_t;

/** One fully connected call. */
typedef struct {
  const char* name;          /**< Case description. */
  lowbit_fc_params_t params; /**< Layer parameters. */
  const int8_t* input;       /**< Input [batch][in_features]. */
  const uint8_t* weights;    /**< Packed weights. */
  size_t weights_size;       /**< Bytes in weights. */
  const int32_t* bias;       /**< Bias or NULL. */
  const int8_t* expected;    /**< Expected output [batch][out_features]. */
  size_t output_size;        /**< Elements in expected. */
  size_t scratch_size;       /**< Expected scratch bytes. */
} golden_fc_case_t;

/** One conv2d call. */
typedef struct {
  const char* name;              /**< Case description. */
  lowbit_conv2d_params_t params; /**< Convolution parameters. */
  const int8_t* input;           /**< Input CHW. */
  const uint8_t* weights;        /**< Packed weights. */
  size_t weights_size;           /**< Bytes in weights. */
  const int32_t* bias;           /**< Bias or NULL. */
  const int8_t* expected;        /**< Expected output CHW. */
  size_t out_height;             /**< Expected output rows. */
  size_t out_width;              /**< Expected output columns. */
  size_t scratch_size;           /**< Expected scratch bytes. */
  size_t output_size;            /**< Elements in expected. */
} golden_conv_case_t;

/** One conv2d + max pool call. */
typedef struct {
  const char* name;            /**< Case description. */
  lowbit_conv2d_params_t conv; /**< Convolution parameters. */
  lowbit_pool_params_t pool;   /**< Pooling of the convolution's output. */
  const int8_t* input;         /**< Input CHW. */
  const uint8_t* weights;      /**< Packed weights. */
  size_t weights_size;         /**< Bytes in weights. */
  const int32_t* bias;         /**< Bias or NULL. */
  const int8_t* expected;      /**< Expected pooled output CHW. */
  size_t output_size;          /**< Elements in expected. */
  size_t scratch_size;         /**< Expected scratch bytes. */
} golden_conv_pool_case_t;

/** One max or average pooling call. */
typedef struct {
  const char* name;            /**< Case description. */
  int is_max;                  /**< 1 for max pooling, 0 for average pooling. */
  lowbit_pool_params_t params; /**< Pool parameters. */
  const int8_t* input;         /**< Input CHW. */
  const int8_t* expected;      /**< Expected output CHW. */
  size_t out_height;           /**< Expected output rows. */
  size_t out_width;            /**< Expected output columns. */
  size_t output_size;          /**< Elements in expected. */
} golden_pool_case_t;

/** One concat call. */
typedef struct {
  const char* name;                    /**< Case description. */
  const lowbit_concat_input_t* inputs; /**< Input descriptors. */
  size_t num_inputs;                   /**< Number of inputs. */
  int32_t output_zero_point;           /**< Output zero point. */
  const int8_t* expected;              /**< Expected output. */
  size_t output_size;                  /**< Elements in expected. */
} golden_concat_case_t;

/** One add call. */
typedef struct {
  const char* name;           /**< Case description. */
  lowbit_add_params_t params; /**< Zero points, rescales and clamp. */
  const int8_t* input_a;      /**< First input. */
  const int8_t* input_b;      /**< Second input. */
  const int8_t* expected;     /**< Expected output. */
  size_t length;              /**< Elements. */
} golden_add_case_t;

/** One argmax call. */
typedef struct {
  const char* name;     /**< Case description. */
  const int8_t* values; /**< Scores. */
  size_t length;        /**< Number of scores. */
  size_t expected;      /**< Expected index. */
} golden_argmax_case_t;

/** One transposed conv2d call. */
typedef struct {
  const char* name;                        /**< Case description. */
  lowbit_conv_transpose2d_params_t params; /**< Parameters. */
  const int8_t* input;                     /**< Input CHW. */
  const uint8_t* weights;                  /**< Packed weights. */
  size_t weights_size;                     /**< Bytes in weights. */
  const int32_t* bias;                     /**< Bias or NULL. */
  const int8_t* expected;                  /**< Expected output CHW. */
  size_t output_size;                      /**< Elements in expected. */
  size_t scratch_size;                     /**< Expected scratch bytes. */
} golden_convt_case_t;

/** A LIF layer run over several time steps, its state carried from step to step. */
typedef struct {
  const char* name;                /**< Case description. */
  lowbit_lif_params_t params;      /**< Layer parameters. */
  size_t steps;                    /**< Time steps. */
  size_t length;                   /**< Neurons: channels * plane. */
  const int32_t* initial_membrane; /**< Stored state before step 0, or NULL for reset_state. */
  const uint8_t* initial_pending;  /**< Stored pending resets before step 0, or NULL. */
  const int8_t* currents;          /**< Input codes [steps][length]. */
  const int8_t* spikes;            /**< Expected spikes [steps][length]. */
  const int32_t* membrane;         /**< Expected membranes after each step [steps][length]. */
  const uint8_t* pending;          /**< Expected pending resets [steps][length], or NULL. */
  size_t state_bytes;              /**< Expected lowbit_lif_state_bytes(). */
} golden_lif_case_t;

/** Time sums over several steps from a zeroed sum. */
typedef struct {
  const char* name;         /**< Case description. */
  int32_t input_zero_point; /**< Input zero point. */
  size_t steps;             /**< Time steps. */
  size_t length;            /**< Elements. */
  const int8_t* inputs;     /**< Inputs [steps][length]. */
  const int8_t* sums;       /**< Expected sums after each step [steps][length]. */
} golden_time_sum_case_t;

/** One leaky ReLU call. */
typedef struct {
  const char* name;       /**< Case description. */
  int32_t zero_point;     /**< Zero point in and out. */
  int32_t slope_q15;      /**< Negative slope in Q15. */
  const int8_t* input;    /**< Input. */
  const int8_t* expected; /**< Expected output. */
  size_t length;          /**< Elements. */
} golden_leaky_relu_case_t;

/** One call of the dense layer with a per-sample shift. */
typedef struct {
  const char* name;                   /**< Case description. */
  lowbit_fc_dynshift_params_t params; /**< Layer parameters. */
  const int8_t* input;                /**< int8 [in_features]. */
  const uint8_t* weights;             /**< Packed weights. */
  size_t weights_size;                /**< Their bytes. */
  const int32_t* bias;                /**< int32 [out_features] or NULL. */
  const int8_t* expected;             /**< Expected output. */
  int32_t shift;                      /**< Expected shift (negative: a left shift). */
} golden_fc_dynshift_case_t;

#endif /* LOWBIT_TESTS_RUNTIME_GOLDEN_TYPES_H_ */

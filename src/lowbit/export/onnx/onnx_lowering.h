// What both ONNX writers derive from an IntegerModel before writing nodes: the real weight scale
// of every output channel and the tensor rank of every value. No protobuf here.
#pragma once

#include <cstdint>
#include <vector>

#include "lowbit/export/integer_model.h"

namespace lowbit::exporter {

/// The real weight scale(s), 1 (per layer) or one per output channel, of a fully connected or
/// conv2d layer `layer_index` such that input_scale * w / output_scale (/ 6 for hard-sigmoid) is
/// the factor its fixed-point requantization applies. The layer's recorded weight_scales when
/// they agree with that factor to 1e-6 (they keep trained values such as powers of two exactly),
/// otherwise the scales implied by the multipliers (e.g. after limit_requant_precision). Throws
/// std::invalid_argument naming the layer for other ops.
std::vector<double> onnx_weight_scales(const IntegerModel& model, int layer_index);

/// ONNX tensor ranks (with the batch dimension) of the model input and of each layer's output:
/// 4 ([N, C, H, W]) for conv and pool outputs, concats of rank-4 values and an image input (H or
/// W > 1, or read by a conv or pool); 2 ([N, features]) otherwise.
struct OnnxRanks {
  int input = 2;            ///< Rank of the model input.
  std::vector<int> layers;  ///< Rank of each layer's output.
};

/// Throws the ONNX backends' std::invalid_argument for an op they do not write (OpTraits::kOnnx
/// false), naming the layer and why (OpTraits::onnx_refusal, or: decoders and spiking sequence
/// models are exported as C).
[[noreturn]] void onnx_refuse(const Layer& layer);

/// The handler of an ONNX writer's std::visit for every op it does not write: refuses the layer.
/// An op that declares kOnnx but has no handler of its own in a writer does not compile.
template <class T>
[[noreturn]] void onnx_unwritten(const Layer& layer, const T&) {
  static_assert(!OpTraits<T>::kOnnx,
                "an op the ONNX backends write (OpTraits::kOnnx) needs a handler in each writer");
  onnx_refuse(layer);
}

/// The ranks of a validated model.
OnnxRanks onnx_ranks(const IntegerModel& model);

/// The ONNX dims without the batch: {C, H, W} for rank 4, {C*H*W} for rank 2.
std::vector<int64_t> onnx_dims(const Shape& shape, int rank);

/// Whether a layer computes values (fully connected, conv2d, pool, concat) rather than being a
/// view of its producer (flatten, slice).
bool onnx_layer_computes(const Layer& layer);

}  // namespace lowbit::exporter

#include "lowbit/train/augmentation.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace lowbit::train {

std::optional<data::AugmentOptions> read_augment(const config::ConfigNode& data_node) {
  const std::optional<config::ConfigNode> node = data_node.optional_child("augment");
  if (!node) return std::nullopt;
  data::AugmentOptions options;
  options.flip_probability = node->get_in_range<double>("hflip", 0.0, 0.0, 1.0);
  options.crop_padding = node->get_in_range<int64_t>("crop_padding", 0, 0, 1024);
  if (const std::optional<config::ConfigNode> affine = node->optional_child("affine")) {
    data::AffineOptions& a = options.affine_options;
    options.affine = true;
    a.max_rotation_deg = affine->get_in_range<double>("degrees", a.max_rotation_deg, 0.0, 180.0);
    a.max_translate = affine->get_in_range<double>("translate", a.max_translate, 0.0, 1.0);
    const std::vector<double> scale =
        affine->get<std::vector<double>>("scale", {a.min_scale, a.max_scale});
    if (scale.size() != 2 || scale[0] <= 0.0 || scale[0] > scale[1]) {
      affine->fail("scale", "expected [min, max] with 0 < min <= max");
    }
    a.min_scale = scale[0];
    a.max_scale = scale[1];
    a.interpolation =
        affine->choice("interpolation", "bilinear", {"bilinear", "nearest"}) == "nearest"
            ? data::AffineInterpolation::kNearest
            : data::AffineInterpolation::kBilinear;
    affine->done();
  }
  options.fill = node->get<std::vector<double>>("fill", {0.0});
  if (options.fill.empty()) node->fail("fill", "expected one raw pixel value or one per channel");
  options.probability = node->get_in_range<double>("probability", 1.0, 0.0, 1.0);
  options.before_resize = node->get<bool>("before_resize", true);
  node->done();
  return options;
}

std::vector<double> normalized_fill(const std::vector<double>& raw, const std::vector<double>& mean,
                                    const std::vector<double>& std) {
  const size_t channels = std::max({raw.size(), mean.size(), std.size()});
  // One value stands for every channel, as in data::normalize.
  auto at = [](const std::vector<double>& v, size_t c) { return v.size() == 1 ? v[0] : v.at(c); };
  std::vector<double> out(channels);
  for (size_t c = 0; c < channels; ++c) out[c] = (at(raw, c) - at(mean, c)) / at(std, c);
  return out;
}

data::BatchTransform augment_transform(const data::AugmentOptions& options) {
  return [options](data::Batch batch, uint64_t seed) {
    torch::Generator generator = data::make_generator(seed);
    const int64_t n = batch.inputs.size(0);
    // With probability 1 no draw is made, so runs augmenting everything keep their old draws.
    torch::Tensor picked = torch::arange(n, torch::kInt64);
    if (options.probability < 1.0) {
      picked = (torch::rand({n}, generator) < options.probability).nonzero().flatten();
      if (picked.numel() == 0) return batch;
    }
    const torch::Device device = batch.inputs.device();
    torch::Tensor augmented;
    if (options.source_images.defined()) {
      const torch::Tensor positions = batch.indices.cpu().index_select(0, picked);
      const torch::Tensor source = options.source_images.index_select(0, positions);
      augmented = data::preprocess(data::augment(source, options, generator), options.preprocessing)
                      .to(device);
    } else {
      augmented =
          data::augment(batch.inputs.index_select(0, picked.to(device)), options, generator);
    }
    if (picked.numel() == n) {
      batch.inputs = augmented;
    } else {
      batch.inputs = batch.inputs.index_copy(0, picked.to(device), augmented);
    }
    return batch;
  };
}

}  // namespace lowbit::train

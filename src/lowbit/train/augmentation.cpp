#include "lowbit/train/augmentation.h"

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
    affine->done();
  }
  node->done();
  return options;
}

data::BatchTransform augment_transform(const data::AugmentOptions& options) {
  return [options](data::Batch batch, uint64_t seed) {
    torch::Generator generator = data::make_generator(seed);
    batch.inputs = data::augment(batch.inputs, options, generator);
    return batch;
  };
}

}  // namespace lowbit::train

#include "lowbit/train/data_source.h"

#include "lowbit/data/cifar.h"
#include "lowbit/data/csv.h"
#include "lowbit/data/idx.h"
#include "lowbit/data/smartpix.h"
#include "lowbit/data/transforms.h"

namespace lowbit::train {
namespace {

// The first `limit` samples (all when limit is 0 or larger than the set).
data::Dataset head(const data::Dataset& dataset, int64_t limit) {
  if (limit <= 0 || limit >= dataset.size()) return dataset;
  return dataset.subset(torch::arange(limit, torch::kInt64));
}

// Image preprocessing every split gets alike: resize (BitNetMCU trains on 16x16 Fashion-MNIST)
// and normalization with statistics of the training split only, so nothing leaks from test.
void apply_image_preprocessing(const ConfigNode& node, StageData& data) {
  const bool images = data.train.inputs.dim() == 4;
  if (node.has("resize")) {
    if (!images) node.fail("resize", "needs image data [N, C, H, W]");
    const std::vector<int64_t> size = node.get<std::vector<int64_t>>("resize", {});
    if (size.size() != 2 || size[0] < 1 || size[1] < 1) {
      node.fail("resize", "expected [height, width] with positive sizes");
    }
    const std::string mode = node.choice("resize_mode", "bilinear", {"bilinear", "area"});
    const data::ResizeMode resize_mode =
        mode == "area" ? data::ResizeMode::kArea : data::ResizeMode::kBilinear;
    for (data::Dataset* d : {&data.train, &data.val, &data.test}) {
      if (d->inputs.defined() && d->size() > 0) {
        d->inputs = data::resize(d->inputs, size[0], size[1], resize_mode);
      }
    }
  }
  if (node.get<bool>("normalize", false)) {
    if (!images) node.fail("normalize", "needs image data [N, C, H, W]");
    const auto stats = data::channel_mean_std(data.train.inputs);
    for (data::Dataset* d : {&data.train, &data.val, &data.test}) {
      if (d->inputs.defined() && d->size() > 0) {
        d->inputs = data::normalize(d->inputs, stats.first, stats.second);
      }
    }
  }
}

}  // namespace

const std::vector<std::string>& data_source_names() {
  static const std::vector<std::string> names = {"smartpix", "mnist_like", "cifar10", "csv"};
  return names;
}

StageData load_data(const ConfigNode& node, uint64_t seed) {
  const std::string source = node.require_choice("source", data_source_names());
  const double val_fraction = node.get_in_range<double>("val_fraction", 0.1, 0.0, 0.9);
  const int64_t limit = node.get_in_range<int64_t>("limit", 0, 0, INT64_MAX);
  data::Dataset all;
  data::Dataset test;
  bool has_test_split = false;
  if (source == "smartpix") {
    data::SmartpixOptions options;
    options.count = node.get_in_range<int64_t>("count", options.count, 4, INT64_MAX);
    options.seed = static_cast<uint64_t>(
        node.get_in_range<int64_t>("seed", static_cast<int64_t>(seed), 0, INT64_MAX));
    all = data::generate_smartpix(options).dataset;
  } else if (source == "mnist_like") {
    const std::string dir = node.get<std::string>("dir", data::kFashionMnistDir);
    all = data::load_mnist_like(dir, "train");
    test = data::load_mnist_like(dir, "test");
    has_test_split = true;
  } else if (source == "cifar10") {
    const std::string dir = node.require<std::string>("dir");
    all = data::load_cifar10(dir, "train");
    test = data::load_cifar10(dir, "test");
    has_test_split = true;
  } else {
    data::CsvOptions options;
    options.label_column = node.require<std::string>("label_column");
    options.feature_columns = node.get<std::vector<std::string>>("feature_columns", {});
    options.integer_labels = node.get<bool>("integer_labels", true);
    all = data::read_csv(node.require<std::string>("train"), options);
    if (auto test_file = node.optional<std::string>("test")) {
      test = data::read_csv(*test_file, options);
      has_test_split = true;
    }
  }
  const bool class_targets = all.targets.scalar_type() == torch::kInt64;
  const bool stratify = node.get<bool>("stratify", class_targets);
  if (stratify && !class_targets) node.fail("stratify", "needs class (integer) targets");
  StageData data;
  if (!has_test_split) {
    const double test_fraction = node.get_in_range<double>("test_fraction", 0.2, 0.0, 0.9);
    data::Split split = data::split_validation(all, test_fraction, seed + 1, stratify);
    all = split.train;
    test = split.val;
  }
  all = head(all, limit);
  data::Split split = data::split_validation(all, val_fraction, seed, stratify);
  data.train = split.train;
  data.val = split.val;
  data.test = test;
  apply_image_preprocessing(node, data);
  node.done();
  return data;
}

int64_t input_features(const data::Dataset& dataset) {
  int64_t features = 1;
  for (int64_t d = 1; d < dataset.inputs.dim(); ++d) features *= dataset.inputs.size(d);
  return features;
}

int64_t model_outputs(const data::Dataset& dataset) {
  return dataset.targets.scalar_type() == torch::kInt64 ? dataset.num_classes : 1;
}

}  // namespace lowbit::train

#include "lowbit/train/data_source.h"

#include <algorithm>

#include "lowbit/data/cifar.h"
#include "lowbit/data/csv.h"
#include "lowbit/data/idx.h"
#include "lowbit/data/npy.h"
#include "lowbit/data/npz.h"
#include "lowbit/data/smartpix.h"
#include "lowbit/data/transforms.h"
#include "lowbit/train/augmentation.h"

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

// An array named by `key`: a .npy path, or `archive.npz:member`.
torch::Tensor read_array(const ConfigNode& node, const std::string& key) {
  const std::string spec = node.require<std::string>(key);
  const size_t colon = spec.rfind(':');
  const size_t npz = spec.find(".npz:");
  if (npz != std::string::npos && colon == npz + 4) {
    return data::read_npz_member(spec.substr(0, colon), spec.substr(colon + 1));
  }
  return data::read_npy(spec);
}

// A data set from .npy arrays: inputs become float32; integer targets are class ids, floating
// targets binary labels or regression values.
data::Dataset npy_dataset(const ConfigNode& node, const std::string& inputs_key,
                          const std::string& targets_key) {
  data::Dataset d;
  d.name = node.require<std::string>(inputs_key);
  const torch::Tensor inputs = read_array(node, inputs_key);
  torch::Tensor targets = read_array(node, targets_key);
  if (inputs.dim() < 2)
    node.fail(inputs_key, "expected an array [N, ...] with 2 or more dimensions");
  if (targets.dim() == 2 && targets.size(1) == 1) targets = targets.flatten();
  if (targets.dim() != 1) node.fail(targets_key, "expected a 1-D array [N] (or [N, 1])");
  if (targets.size(0) != inputs.size(0)) {
    node.fail(targets_key, "has " + std::to_string(targets.size(0)) + " samples but " + inputs_key +
                               " has " + std::to_string(inputs.size(0)));
  }
  d.inputs = inputs.to(torch::kFloat32).contiguous();
  if (targets.is_floating_point()) {
    d.targets = targets.to(torch::kFloat32).contiguous();
  } else {
    d.targets = targets.to(torch::kInt64).contiguous();
    if (d.targets.numel() > 0 && d.targets.min().item<int64_t>() < 0) {
      node.fail(targets_key, "integer targets are class ids and must not be negative");
    }
  }
  return d;
}

// Real smart-pixel clusters (charge [N, 13, 21], z-global [N], y-local [N], labels [N]) through
// the same feature code as the synthetic generator, so models trained on either read alike.
data::Dataset smartpix_cluster_dataset(const ConfigNode& node) {
  const torch::Tensor charge = read_array(node, "charge");
  if (charge.dim() != 3 || charge.size(1) != data::kSmartpixRows ||
      charge.size(2) != data::kSmartpixCols) {
    node.fail("charge", "expected clusters [N, " + std::to_string(data::kSmartpixRows) + ", " +
                            std::to_string(data::kSmartpixCols) + "] (rows y, columns x)");
  }
  std::vector<torch::Tensor> columns;
  for (const char* key : {"z_global", "y_local", "labels"}) {
    torch::Tensor column = read_array(node, key);
    if (column.dim() == 2 && column.size(1) == 1) column = column.flatten();
    if (column.dim() != 1 || column.size(0) != charge.size(0)) {
      node.fail(key, "expected a 1-D array of " + std::to_string(charge.size(0)) +
                         " values, one per cluster");
    }
    columns.push_back(column.to(torch::kFloat32));
  }
  return data::smartpix_dataset(charge.to(torch::kFloat32), columns[0], columns[1], columns[2],
                                node.require<std::string>("charge"));
}

}  // namespace

const std::vector<std::string>& data_source_names() {
  static const std::vector<std::string> names = {
      "smartpix", "smartpix_clusters", "mnist_like", "cifar10", "csv", "npy"};
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
  } else if (source == "smartpix_clusters") {
    all = smartpix_cluster_dataset(node);
  } else if (source == "npy") {
    all = npy_dataset(node, "inputs", "targets");
    if (node.has("test_inputs") || node.has("test_targets")) {
      test = npy_dataset(node, "test_inputs", "test_targets");
      has_test_split = true;
      if (test.targets.scalar_type() != all.targets.scalar_type()) {
        node.fail("test_targets", "must be integer when targets are integer, float when float");
      }
      if (test.inputs.sizes().slice(1) != all.inputs.sizes().slice(1)) {
        node.fail("test_inputs", "samples must have the shape of the training inputs' samples");
      }
    }
    // Both parts share one class count, so a class seen only in test still fits the model.
    if (all.targets.scalar_type() == torch::kInt64) {
      int64_t max_class = all.size() > 0 ? all.targets.max().item<int64_t>() : 0;
      if (test.size() > 0) max_class = std::max(max_class, test.targets.max().item<int64_t>());
      all.num_classes = max_class + 1;
      test.num_classes = all.num_classes;
    }
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
  data.augment = read_augment(node);
  if (data.augment && data.train.inputs.dim() != 4) {
    node.fail("augment", "needs image data [N, C, H, W]");
  }
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

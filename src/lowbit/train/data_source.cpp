#include "lowbit/train/data_source.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "lowbit/data/events/event_flow.h"
#include "lowbit/data/events/event_source.h"
#include "lowbit/data/files/cifar.h"
#include "lowbit/data/files/csv.h"
#include "lowbit/data/files/idx.h"
#include "lowbit/data/files/npy.h"
#include "lowbit/data/files/npz.h"
#include "lowbit/data/smartpix.h"
#include "lowbit/data/transforms.h"
#include "lowbit/train/augmentation.h"
#include "lowbit/util/atomic_file.h"
#include "lowbit/util/shape_text.h"

namespace lowbit::train {
namespace {

// Training and test samples must have one shape: a model built for one cannot read the other, and
// without this check the mismatch surfaced only when testing, after a whole training run.
void require_same_sample_shape(const data::Dataset& train, const data::Dataset& test) {
  if (train.inputs.sizes().slice(1) != test.inputs.sizes().slice(1)) {
    throw util::FileError("training data '" + train.name + "' has samples of shape " +
                          util::shape_text(train.inputs.sizes()) + " but test data '" + test.name +
                          "' has " + util::shape_text(test.inputs.sizes()) +
                          " (expected the same shape after the sample count)");
  }
}

// Every part must hold samples: an empty one makes every metric of it NaN while training "ends".
// Only an explicit test_fraction of 0 may leave the test part empty: the final evaluation then
// uses the validation part, as documented.
void require_samples(const StageData& data, double val_fraction, double test_fraction) {
  auto fail = [](const data::Dataset& part, const std::string& what, const std::string& why) {
    throw util::FileError("data '" + part.name + "': the " + what + " split is empty" + why);
  };
  const int64_t pool = data.train.size() + data.val.size();
  if (data.train.size() == 0) fail(data.train, "training", "");
  if (data.val.size() == 0) {
    fail(data.val, "validation",
         ": val_fraction " + std::to_string(val_fraction) + " of " + std::to_string(pool) +
             " samples rounds to 0 (use more data or a larger val_fraction)");
  }
  if (data.test.size() == 0 && test_fraction != 0.0) {
    fail(data.test, "test",
         ": test_fraction " + std::to_string(test_fraction) +
             " rounds to 0 samples (use more data or a larger test_fraction, or 0 to test on the "
             "validation split)");
  }
}

// The first `limit` samples (all when limit is 0 or larger than the set).
data::Dataset head(const data::Dataset& dataset, int64_t limit) {
  if (limit <= 0 || limit >= dataset.size()) return dataset;
  return dataset.subset(torch::arange(limit, torch::kInt64));
}

// Image preprocessing every split gets alike: resize (BitNetMCU trains on 16x16 Fashion-MNIST)
// and normalization with statistics of the training split only, so nothing leaks from test.
// Returns what it applied, so augmented source images can be preprocessed the same way.
data::Preprocessing apply_image_preprocessing(const config::ConfigNode& node, StageData& data) {
  data::Preprocessing preprocessing;
  const bool images = data.train.inputs.dim() == 4;
  auto each_split = [&data](const std::function<torch::Tensor(const torch::Tensor&)>& f) {
    for (data::Dataset* d : {&data.train, &data.val, &data.test}) {
      if (d->inputs.defined() && d->size() > 0) d->inputs = f(d->inputs);
    }
  };
  if (node.has("resize")) {
    if (!images) node.fail("resize", "needs image data [N, C, H, W]");
    const std::vector<int64_t> size = node.get<std::vector<int64_t>>("resize", {});
    if (size.size() != 2 || size[0] < 1 || size[1] < 1) {
      node.fail("resize", "expected [height, width] with positive sizes");
    }
    const std::string mode = node.choice("resize_mode", "bilinear", {"bilinear", "area"});
    preprocessing.height = size[0];
    preprocessing.width = size[1];
    preprocessing.resize_mode =
        mode == "area" ? data::ResizeMode::kArea : data::ResizeMode::kBilinear;
    each_split([&](const torch::Tensor& x) {
      return data::resize(x, preprocessing.height, preprocessing.width, preprocessing.resize_mode);
    });
  }
  if (!node.get<bool>("normalize", false)) return preprocessing;
  if (!images) node.fail("normalize", "needs image data [N, C, H, W]");
  std::tie(preprocessing.mean, preprocessing.std) = data::channel_mean_std(data.train.inputs);
  each_split([&](const torch::Tensor& x) {
    return data::normalize(x, preprocessing.mean, preprocessing.std);
  });
  return preprocessing;
}

// Where the augmentation of `data` runs. With a resize (and before_resize, the default) the
// batches' source images are augmented and then preprocessed like the clean data, as BitNetMCU
// does: transforms of the full-resolution image, not of its 16x16 interpolation, and a raw fill.
// Otherwise the preprocessed batches are augmented, where a raw black pixel is -mean/std, not 0.
void place_augmentation(const config::ConfigNode& node, const torch::Tensor& source_images,
                        const data::Preprocessing& preprocessing, StageData& data) {
  data::AugmentOptions& augment = *data.augment;
  if (data.train.inputs.dim() != 4) node.fail("augment", "needs image data [N, C, H, W]");
  const int64_t channels = data.train.inputs.size(1);
  if (augment.fill.size() != 1 && static_cast<int64_t>(augment.fill.size()) != channels) {
    node.fail("augment",
              "fill needs one value or one per channel (" + std::to_string(channels) + ")");
  }
  if (preprocessing.height > 0 && augment.before_resize) {
    augment.source_images = source_images;
    augment.preprocessing = preprocessing;
  } else if (!preprocessing.mean.empty()) {
    augment.fill = normalized_fill(augment.fill, preprocessing.mean, preprocessing.std);
  }
}

// An array named by `key`: a .npy path, or `archive.npz:member`.
torch::Tensor read_array(const config::ConfigNode& node, const std::string& key) {
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
data::Dataset npy_dataset(const config::ConfigNode& node, const std::string& inputs_key,
                          const std::string& targets_key) {
  data::Dataset d;
  d.name = node.require<std::string>(inputs_key);
  const std::string targets_name = node.require<std::string>(targets_key);
  const torch::Tensor inputs = read_array(node, inputs_key);
  torch::Tensor targets = read_array(node, targets_key);
  if (inputs.dim() < 2)
    node.fail(inputs_key, "expected an array [N, ...] with 2 or more dimensions");
  if (inputs.numel() == 0) {
    throw util::FileError(d.name + ": no data: shape " + util::shape_text(inputs.sizes()) +
                          " (expected at least one sample and one feature)");
  }
  if (targets.dim() == 2 && targets.size(1) == 1) targets = targets.flatten();
  if (targets.dim() != 1) node.fail(targets_key, "expected a 1-D array [N] (or [N, 1])");
  if (targets.size(0) != inputs.size(0)) {
    node.fail(targets_key, "has " + std::to_string(targets.size(0)) + " samples but " + inputs_key +
                               " has " + std::to_string(inputs.size(0)));
  }
  d.inputs = inputs.to(torch::kFloat32).contiguous();
  // Checked after the conversion: float64 values beyond float32's range become infinite there.
  data::require_finite(d.inputs, d.name, "inputs (as float32)");
  if (targets.is_floating_point()) {
    d.targets = targets.to(torch::kFloat32).contiguous();
    data::require_finite(d.targets, targets_name, "targets (as float32)");
  } else {
    d.targets = targets.to(torch::kInt64).contiguous();
    d.num_classes = data::count_classes(d.targets, targets_name);
  }
  return d;
}

// Real smart-pixel clusters (charge [N, 13, 21], z-global [N], y-local [N], labels [N]) through
// the same feature code as the synthetic generator, so models trained on either read alike.
data::Dataset smartpix_cluster_dataset(const config::ConfigNode& node) {
  const torch::Tensor charge = read_array(node, "charge").to(torch::kFloat32);
  const std::string charge_name = node.require<std::string>("charge");
  if (charge.dim() != 3 || charge.size(1) != data::kSmartpixRows ||
      charge.size(2) != data::kSmartpixCols) {
    node.fail("charge", "expected clusters [N, " + std::to_string(data::kSmartpixRows) + ", " +
                            std::to_string(data::kSmartpixCols) + "] (rows y, columns x)");
  }
  if (charge.size(0) == 0) {
    throw util::FileError(charge_name + ": no clusters (expected at least one)");
  }
  data::require_finite(charge, charge_name, "charges (as float32)");
  std::vector<torch::Tensor> columns;
  for (const char* key : {"z_global", "y_local", "labels"}) {
    torch::Tensor column = read_array(node, key);
    if (column.dim() == 2 && column.size(1) == 1) column = column.flatten();
    if (column.dim() != 1 || column.size(0) != charge.size(0)) {
      node.fail(key, "expected a 1-D array of " + std::to_string(charge.size(0)) +
                         " values, one per cluster");
    }
    columns.push_back(column.to(torch::kFloat32));
    data::require_finite(columns.back(), node.require<std::string>(key),
                         std::string(key) + " values (as float32)");
  }
  return data::smartpix_dataset(charge, columns[0], columns[1], columns[2], charge_name);
}

}  // namespace

const std::vector<std::string>& data_source_names() {
  static const std::vector<std::string> names = {
      "smartpix", "smartpix_clusters",          "mnist_like",           "cifar10", "csv",
      "npy",      data::kEventsSyntheticSource, data::kEventsFileSource};
  return names;
}

StageData load_data(const config::ConfigNode& node, uint64_t seed) {
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
  } else if (source == data::kEventsSyntheticSource) {
    // The generator makes its own independent test stream, so the run's test_fraction is unused.
    data::TrainTestData events = data::load_event_synth(data::read_event_synth_source(node, seed));
    all = std::move(events.train);
    test = std::move(events.test);
    has_test_split = true;
  } else if (source == data::kEventsFileSource) {
    all = data::load_event_file_source(node);
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
      all.num_classes = std::max(all.num_classes, test.num_classes);
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
      if (all.targets.scalar_type() == torch::kInt64) {
        all.num_classes = std::max(all.num_classes, test.num_classes);
        test.num_classes = all.num_classes;
      }
    }
  }
  if (has_test_split) require_same_sample_shape(all, test);
  const bool class_targets = all.targets.scalar_type() == torch::kInt64;
  const bool stratify = node.get<bool>("stratify", class_targets);
  if (stratify && !class_targets) node.fail("stratify", "needs class (integer) targets");
  StageData data;
  double test_fraction = -1.0;  // a test file: its emptiness was checked by its reader
  if (!has_test_split) {
    test_fraction = node.get_in_range<double>("test_fraction", 0.2, 0.0, 0.9);
    data::Split split = data::split_validation(all, test_fraction, seed + 1, stratify);
    all = split.train;
    test = split.val;
  }
  all = head(all, limit);
  data::Split split = data::split_validation(all, val_fraction, seed, stratify);
  data.train = split.train;
  data.val = split.val;
  data.test = test;
  require_samples(data, val_fraction, test_fraction);
  const torch::Tensor source_images = data.train.inputs;
  const data::Preprocessing preprocessing = apply_image_preprocessing(node, data);
  data.augment = read_augment(node);
  if (data.augment) place_augmentation(node, source_images, preprocessing, data);
  node.done();
  return data;
}

void check_targets_for_loss(const data::Dataset& train, const LossConfig& loss,
                            const std::string& stage) {
  const std::string name = loss_type_names().at(static_cast<size_t>(loss.type));
  const bool flow_targets = has_flow_targets(train);
  if (flow_targets != is_flow_loss(loss.type)) {
    throw config::ConfigError(
        "stage '" + stage + "': loss '" + name + "' needs " +
        (flow_targets ? "class or value targets" : "optical-flow targets [N, 3, H, W]") +
        " but the data '" + train.name + "' has " +
        (flow_targets ? "optical-flow targets [N, 3, H, W] (use flow_epe or charbonnier)"
                      : "other targets (flow losses need source events_synthetic or events_file)"));
  }
  if (flow_targets) return;
  const bool class_targets = train.targets.scalar_type() == torch::kInt64;
  const bool wants_classes = loss.type == LossType::kCrossEntropy;
  if (class_targets == wants_classes) return;
  throw config::ConfigError(
      "stage '" + stage + "': loss '" + name + "' needs " +
      (wants_classes ? "integer class ids" : "float targets (0/1 labels or values)") +
      " but the data '" + train.name + "' has " +
      (class_targets ? "integer class ids" : "float targets") + " (use " +
      (wants_classes ? "bce_with_logits or mse, or store the labels as integers"
                     : "cross_entropy, or store the targets as floats") +
      ")");
}

int64_t input_features(const data::Dataset& dataset) {
  int64_t features = 1;
  for (int64_t d = 1; d < dataset.inputs.dim(); ++d) features *= dataset.inputs.size(d);
  return features;
}

bool has_flow_targets(const data::Dataset& dataset) {
  const torch::Tensor& t = dataset.targets;
  return t.defined() && t.is_floating_point() && t.dim() == 4 &&
         t.size(1) == data::kFlowTargetChannels;
}

int64_t model_outputs(const data::Dataset& dataset) {
  if (has_flow_targets(dataset)) return 2;
  return dataset.targets.scalar_type() == torch::kInt64 ? dataset.num_classes : 1;
}

}  // namespace lowbit::train

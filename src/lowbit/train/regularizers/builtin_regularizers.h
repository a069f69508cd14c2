// The regularizer types a stage's `regularizers:` list offers out of the box: Bin Regularization
// (`bin`), the quantization error penalty (`quant_error`) and the self-compression bits loss
// (`compression`). Each wraps the library piece of the same name; docs/methods.md lists the keys.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "lowbit/train/regularizers/regularizer.h"

namespace lowbit::train {

/// Adds the built-in types to a registry map (called once when the registry is first used).
void add_builtin_regularizers(std::map<std::string, RegularizerFactory>& registry);

}  // namespace lowbit::train

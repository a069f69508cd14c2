#include "lowbit/train/regularizers/regularizer.h"

#include "lowbit/train/regularizers/builtin_regularizers.h"

#include <map>
#include <mutex>

namespace lowbit::train {
namespace {

std::map<std::string, RegularizerFactory>& registry() {
  // The built-in types are added on first use rather than by static registration, which a
  // static library's linker would drop.
  static std::map<std::string, RegularizerFactory> factories = [] {
    std::map<std::string, RegularizerFactory> builtins;
    add_builtin_regularizers(builtins);
    return builtins;
  }();
  return factories;
}

std::mutex& registry_mutex() {
  static std::mutex mutex;
  return mutex;
}

}  // namespace

void register_regularizer(const std::string& type, RegularizerFactory factory) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry()[type] = std::move(factory);
}

std::vector<std::string> regularizer_types() {
  std::lock_guard<std::mutex> lock(registry_mutex());
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

std::shared_ptr<Regularizer> make_regularizer(const config::ConfigNode& node) {
  const std::vector<std::string> types = regularizer_types();
  const std::string type = node.require_choice("type", types);
  RegularizerFactory factory;
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    factory = registry().at(type);
  }
  auto regularizer = factory(node);
  node.done();
  return regularizer;
}

}  // namespace lowbit::train

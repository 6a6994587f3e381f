// What a `model:` section of a config says, validated. Torch-free.
#pragma once

#include <cstdint>
#include <string>

namespace signsweep::common {
class ConfigNode;
}

namespace signsweep::workers {

struct ModelSpec {
  std::string name;        // registry name: resnet20, small-cnn
  bool batch_norm = true;  // small-cnn
  int64_t width = 32;      // small-cnn: channels of the first conv layers
};

ModelSpec parse_model_spec(const common::ConfigNode& node);

}  // namespace signsweep::workers

// models/factory.h: make_model, the one place that knows every architecture's class.
#pragma once

#include <cstdint>
#include <memory>

#include "models/model_config.h"
#include "models/text_classifier.h"

namespace loom::models {

// The architecture config.arch names, initialized from `seed` (the same seed gives the same
// weights on every device), parameters in `dtype` (F32; F64 for gradient checks) on `device`.
std::unique_ptr<TextClassifier> make_model(const ModelConfig& config, std::uint64_t seed, Device device,
                                           DType dtype = DType::F32);

}  // namespace loom::models

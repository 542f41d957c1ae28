// models/factory.h: make_model, the one place that knows every architecture's class.
#pragma once

#include <cstdint>
#include <memory>

#include "models/classifier.h"
#include "models/model_config.h"
#include "models/text_classifier.h"

namespace loom::models {

// The architecture config.arch names (any of the eight: the six text models, HybridClassifier,
// MetaMlpClassifier), initialized from `seed` (the same seed gives the same
// weights on every device), parameters in `dtype` (F32; F64 for gradient checks) on `device`.
std::unique_ptr<Classifier> make_model(const ModelConfig& config, std::uint64_t seed, Device device,
                                       DType dtype = DType::F32);

// The same for the seven text-only architectures (bow, cnn, lstm, bilstm, cnn-lstm, lstm-cnn,
// fasttext), typed
// as what they are; Error for an architecture that reads account metadata (hybrid, meta-mlp).
std::unique_ptr<TextClassifier> make_text_model(const ModelConfig& config, std::uint64_t seed, Device device,
                                                DType dtype = DType::F32);

}  // namespace loom::models

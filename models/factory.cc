// models/factory.cc: make_model and make_text_model. See models/factory.h.
#include "models/factory.h"

#include "core/error.h"
#include "models/bilstm.h"
#include "models/bow.h"
#include "models/cnn.h"
#include "models/cnn_lstm.h"
#include "models/fasttext.h"
#include "models/hybrid.h"
#include "models/lstm.h"
#include "models/lstm_cnn.h"
#include "models/meta_mlp.h"

namespace loom::models {
namespace {

void check_build(const ModelConfig& config, Device device, DType dtype) {
  config.validate();
  require_usable(device);
  LOOM_CHECK(dtype == DType::F32 || (dtype == DType::F64 && device.is_cpu()),
             "make_model: parameters must be f32 (or f64 on the CPU, for gradient checks), got ", dtype_name(dtype),
             " on ", device.str());
}

}  // namespace

std::unique_ptr<TextClassifier> make_text_model(const ModelConfig& config, std::uint64_t seed, Device device,
                                                DType dtype) {
  LOOM_CHECK(is_text_arch(config.arch), "make_text_model: ", arch_name(config.arch),
             " is not a text-only architecture (it reads account metadata: use make_model)");
  check_build(config, device, dtype);
  switch (config.arch) {
    case Arch::Bow: return std::make_unique<BowClassifier>(config, seed, device, dtype);
    case Arch::Cnn: return std::make_unique<CnnClassifier>(config, seed, device, dtype);
    case Arch::Lstm: return std::make_unique<LstmClassifier>(config, seed, device, dtype);
    case Arch::Bilstm: return std::make_unique<BilstmClassifier>(config, seed, device, dtype);
    case Arch::CnnLstm: return std::make_unique<CnnLstmClassifier>(config, seed, device, dtype);
    case Arch::LstmCnn: return std::make_unique<LstmCnnClassifier>(config, seed, device, dtype);
    case Arch::FastText: return std::make_unique<FastTextClassifier>(config, seed, device, dtype);
    case Arch::Hybrid:
    case Arch::MetaMlp: break;
  }
  LOOM_THROW(Error, "make_text_model: unhandled architecture ", arch_name(config.arch));
}

std::unique_ptr<Classifier> make_model(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype) {
  check_build(config, device, dtype);
  if (config.arch == Arch::Hybrid) return std::make_unique<HybridClassifier>(config, seed, device, dtype);
  if (config.arch == Arch::MetaMlp) return std::make_unique<MetaMlpClassifier>(config, seed, device, dtype);
  return make_text_model(config, seed, device, dtype);
}

}  // namespace loom::models

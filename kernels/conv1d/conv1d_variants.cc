// kernels/conv1d/conv1d_variants.cc: the two variant tables of the conv1d family (see
// conv1d_variants.h). Each row adapts a function of conv1d.h to the Variant signature. CUDA and
// cuDNN rows are written with LOOM_CUDA_FN / LOOM_CUDNN_FN (core/compiled.h): in a build without
// that backend they hold nullptr and are dropped when the table is built, so this file needs no #if.
#include "kernels/conv1d/conv1d_variants.h"

#include <algorithm>
#include <memory>

#include "core/compiled.h"
#include "core/error.h"

namespace loom::kernels {
namespace {

// Adapters from the conv1d.h signatures to the row's. Templates, so an adapter of a backend this
// build lacks is never instantiated (LOOM_CUDA_FN drops its argument unexpanded).
template <class Args, void (*Run)(const Args&)>
std::unique_ptr<BackendSaved> on_cpu(const Args& a, const CudaContext*) {
  Run(a);
  return nullptr;
}
template <class Args, void (*Run)(const Args&)>
void on_cpu_bwd(const Args& a, const CudaContext*, const BackendSaved*) {
  Run(a);
}
template <class Args, void (*Run)(const Args&, const CudaContext&)>
std::unique_ptr<BackendSaved> on_cuda(const Args& a, const CudaContext* ctx) {
  Run(a, *ctx);
  return nullptr;
}
template <class Args, void (*Run)(const Args&, const CudaContext&)>
void on_cuda_bwd(const Args& a, const CudaContext* ctx, const BackendSaved*) {
  Run(a, *ctx);
}

using CF = Conv1dFwdArgs;
using CB = Conv1dBwdArgs;
using TF = TextCnnFwdArgs;
using TB = TextCnnBwdArgs;

template <class Row>
std::vector<Row> compiled_rows(std::vector<Row> rows) {
  rows.erase(std::remove_if(rows.begin(), rows.end(), [](const Row& r) { return r.forward == nullptr; }), rows.end());
  return rows;
}

template <class Row>
const Row& find_row(const std::vector<Row>& rows, const std::string& name, const char* table) {
  std::string choices;
  for (const Row& r : rows) {
    if (name == r.name) return r;
    choices += std::string(choices.empty() ? "" : ", ") + r.name;
  }
  LOOM_THROW(Error, table, ": no variant named '", name, "' in this build (choices: ", choices, ")");
}

}  // namespace

const std::vector<Conv1dVariantRow>& conv1d_variants() {
  static const std::vector<Conv1dVariantRow> rows = compiled_rows<Conv1dVariantRow>({
      {"reference", DeviceType::Cpu, nullptr, on_cpu<CF, conv1d_fwd_reference>, on_cpu_bwd<CB, conv1d_bwd_reference>},
      {"cpu", DeviceType::Cpu, nullptr, on_cpu<CF, conv1d_fwd_cpu>, on_cpu_bwd<CB, conv1d_bwd_cpu>},
      {"cuda-v1", DeviceType::Cuda, LOOM_CUDA_FN(conv1d_cuda_supports),
       LOOM_CUDA_FN((on_cuda<CF, conv1d_fwd_cuda_direct>)), LOOM_CUDA_FN((on_cuda_bwd<CB, conv1d_bwd_cuda_direct>))},
      {"cuda-v2", DeviceType::Cuda, LOOM_CUDA_FN(conv1d_cuda_supports),
       LOOM_CUDA_FN((on_cuda<CF, conv1d_fwd_cuda_igemm>)), LOOM_CUDA_FN((on_cuda_bwd<CB, conv1d_bwd_cuda_igemm>))},
      {"cudnn", DeviceType::Cuda, LOOM_CUDNN_FN(conv1d_cudnn_supports),
       LOOM_CUDNN_FN((on_cuda<CF, conv1d_fwd_cudnn>)), LOOM_CUDNN_FN((on_cuda_bwd<CB, conv1d_bwd_cudnn>))},
  });
  return rows;
}

const std::vector<TextCnnVariantRow>& textcnn_variants() {
  static const std::vector<TextCnnVariantRow> rows = compiled_rows<TextCnnVariantRow>({
      {"reference", DeviceType::Cpu, nullptr, on_cpu<TF, textcnn_fwd_reference>, on_cpu_bwd<TB, textcnn_bwd_reference>},
      {"cpu", DeviceType::Cpu, nullptr, on_cpu<TF, textcnn_fwd_cpu>, on_cpu_bwd<TB, textcnn_bwd_cpu>},
      {"cuda-v3", DeviceType::Cuda, LOOM_CUDA_FN(textcnn_cuda_supports), LOOM_CUDA_FN((on_cuda<TF, textcnn_fwd_cuda>)),
       LOOM_CUDA_FN((on_cuda_bwd<TB, textcnn_bwd_cuda>))},
  });
  return rows;
}

const Conv1dVariantRow& conv1d_variant(const std::string& name) {
  return find_row(conv1d_variants(), name, "conv1d_variant");
}

const TextCnnVariantRow& textcnn_variant(const std::string& name) {
  return find_row(textcnn_variants(), name, "textcnn_variant");
}

}  // namespace loom::kernels

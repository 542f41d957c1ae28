// kernels/lstm/lstm_variants.cc: the LSTM's variant table (see lstm_variants.h). Each row adapts
// one implementation's entry points to the common row signature. LOOM_CUDA_FN / LOOM_CUDNN_FN
// (core/compiled.h) are nullptr where that backend is not compiled in, and rows without a forward
// are left out of the table.
#include "kernels/lstm/lstm_variants.h"

#include "core/compiled.h"
#include "core/error.h"

namespace loom::kernels {
namespace {

std::unique_ptr<BackendSaved> reference_forward(const LstmSeqFwdArgs& a, const CudaContext*) {
  lstm_seq_fwd_reference(a);
  return nullptr;
}
void reference_backward(const LstmSeqBwdArgs& a, const CudaContext*, const BackendSaved*) { lstm_seq_bwd_reference(a); }

std::unique_ptr<BackendSaved> cpu_forward(const LstmSeqFwdArgs& a, const CudaContext*) {
  lstm_seq_fwd_cpu(a);
  return nullptr;
}
void cpu_backward(const LstmSeqBwdArgs& a, const CudaContext*, const BackendSaved*) { lstm_seq_bwd_cpu(a); }

// The CPU rows take F64 too; the GPU rows say for themselves what they take.
bool cpu_supports(const LstmSeqFwdArgs& a, std::string* why_not) {
  if (a.dtype != DType::I32) return true;
  if (why_not) *why_not = "the LSTM takes f32, f64, f16 or bf16 storage (got i32)";
  return false;
}

// The GPU adapters. In a build without that backend their rows are nullptr and they are never
// called (nor, for the CUDA ones, referenced), hence [[maybe_unused]].
[[maybe_unused]] bool cuda_supports([[maybe_unused]] const LstmSeqFwdArgs& a, [[maybe_unused]] std::string* why_not) {
  bool ok = false;
  LOOM_IF_CUDA(ok = lstm_seq_cuda_supports(a, why_not));
  return ok;
}
[[maybe_unused]] std::unique_ptr<BackendSaved> cuda_v1_forward([[maybe_unused]] const LstmSeqFwdArgs& a,
                                                          [[maybe_unused]] const CudaContext* ctx) {
  LOOM_IF_CUDA(lstm_seq_fwd_cuda_v1(a, *ctx));
  return nullptr;
}
[[maybe_unused]] void cuda_v1_backward([[maybe_unused]] const LstmSeqBwdArgs& a,
                                       [[maybe_unused]] const CudaContext* ctx, const BackendSaved*) {
  LOOM_IF_CUDA(lstm_seq_bwd_cuda_v1(a, *ctx));
}
[[maybe_unused]] std::unique_ptr<BackendSaved> cuda_v2_forward([[maybe_unused]] const LstmSeqFwdArgs& a,
                                                          [[maybe_unused]] const CudaContext* ctx) {
  LOOM_IF_CUDA(lstm_seq_fwd_cuda_v2(a, *ctx));
  return nullptr;
}
[[maybe_unused]] void cuda_v2_backward([[maybe_unused]] const LstmSeqBwdArgs& a,
                                       [[maybe_unused]] const CudaContext* ctx, const BackendSaved*) {
  LOOM_IF_CUDA(lstm_seq_bwd_cuda_v2(a, *ctx));
}

template <CudnnLstmAlgo algo>
bool cudnn_supports([[maybe_unused]] const LstmSeqFwdArgs& a, [[maybe_unused]] std::string* why_not) {
  bool ok = false;
  LOOM_IF_CUDNN(ok = lstm_seq_cudnn_supports(a, algo, why_not));
  return ok;
}
template <CudnnLstmAlgo algo>
std::unique_ptr<BackendSaved> cudnn_forward([[maybe_unused]] const LstmSeqFwdArgs& a,
                                            [[maybe_unused]] const CudaContext* ctx) {
  std::unique_ptr<BackendSaved> saved;  // cuDNN's reserve space after a training forward
  LOOM_IF_CUDNN(saved = lstm_seq_fwd_cudnn(a, *ctx, algo));
  return saved;
}
template <CudnnLstmAlgo algo>
void cudnn_backward([[maybe_unused]] const LstmSeqBwdArgs& a, [[maybe_unused]] const CudaContext* ctx,
                    [[maybe_unused]] const BackendSaved* saved) {
  LOOM_IF_CUDNN(lstm_seq_bwd_cudnn(a, *ctx, algo, saved));
}

constexpr CudnnLstmAlgo kStandard = CudnnLstmAlgo::Standard;
constexpr CudnnLstmAlgo kPersist = CudnnLstmAlgo::PersistStatic;

std::vector<LstmVariantRow> compiled_rows() {
  const std::vector<LstmVariantRow> all = {
      {"reference", DeviceType::Cpu, cpu_supports, reference_forward, reference_backward},
      {"cpu", DeviceType::Cpu, cpu_supports, cpu_forward, cpu_backward},
      {"cuda-v1", DeviceType::Cuda, LOOM_CUDA_FN(cuda_supports), LOOM_CUDA_FN(cuda_v1_forward),
       LOOM_CUDA_FN(cuda_v1_backward)},
      {"cuda-v2", DeviceType::Cuda, LOOM_CUDA_FN(cuda_supports), LOOM_CUDA_FN(cuda_v2_forward),
       LOOM_CUDA_FN(cuda_v2_backward)},
      {"cudnn", DeviceType::Cuda, LOOM_CUDNN_FN(cudnn_supports<kStandard>), LOOM_CUDNN_FN(cudnn_forward<kStandard>),
       LOOM_CUDNN_FN(cudnn_backward<kStandard>)},
      {"cudnn-persist", DeviceType::Cuda, LOOM_CUDNN_FN(cudnn_supports<kPersist>),
       LOOM_CUDNN_FN(cudnn_forward<kPersist>), LOOM_CUDNN_FN(cudnn_backward<kPersist>)},
  };
  std::vector<LstmVariantRow> rows;
  for (const LstmVariantRow& row : all)
    if (row.forward != nullptr) rows.push_back(row);
  return rows;
}

}  // namespace

const std::vector<LstmVariantRow>& lstm_variants() {
  static const std::vector<LstmVariantRow> rows = compiled_rows();
  return rows;
}

const LstmVariantRow& lstm_variant(const std::string& name) {
  std::string names;
  for (const LstmVariantRow& row : lstm_variants()) {
    if (name == row.name) return row;
    names += (names.empty() ? "" : ", ") + std::string(row.name);
  }
  LOOM_THROW(Error, "lstm: no variant '", name, "' in this build (there are: ", names, ")");
}

}  // namespace loom::kernels

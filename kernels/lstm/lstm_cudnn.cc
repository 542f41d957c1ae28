// kernels/lstm/lstm_cudnn.cc: the LSTM over a whole sequence through cuDNN's RNN API (v8/v9:
// cudnnRNNForward, cudnnRNNBackwardData_v8, cudnnRNNBackwardWeights_v8): the vendor fallback and
// the baseline the hand-written kernels (lstm_cuda_time_loop.cu) are benchmarked against.
//
// Math: the same LSTM as kernels/lstm/lstm.h (gate order i, f, g, o, which is also cuDNN's):
//   z = x_t W_ih^T + h_prev W_hh^T + b;  i, f, o = sigmoid, g = tanh;  c = f c_prev + i g;  h = o tanh(c)
// and its backward (see lstm_reference.cc). cuDNN runs it with its own kernels: STANDARD is a
// per-step GEMM + pointwise schedule much like our v2; PERSIST_STATIC keeps W_hh on chip in one
// persistent kernel. No thread mapping is ours here; this file only translates.
//
// What the translation does, per call:
//   layout    cuDNN keeps weights in an opaque "weight space". cudnnGetRNNWeightParams gives the
//             address of each gate matrix (linLayerID 0-3: W_ih of i, f, g, o, each [H, C] row-major;
//             4-7: W_hh, each [H, H]) and bias; our PyTorch-layout w_ih [4H, C] is exactly those four
//             row blocks, so each is one device-to-device copy. This is the only place the layout is
//             converted, and it happens on every call (the weights change every optimizer step):
//             8 matrix + 8 bias copies per direction, 4H(C + H + 2) elements.
//   bias      our kernels take the folded bias b = b_ih + b_hh. cuDNN is configured with
//             CUDNN_RNN_DOUBLE_BIAS (the mode PyTorch uses, so the best-trodden path through every
//             algorithm) and gets b as its input bias and zeros as its recurrent bias. Backward,
//             both cuDNN bias gradients equal colsum(dz); we read the input one.
//   states    hx, cx, hy, cy are [D, B, H] in cuDNN; ours are one [B, H] pointer per direction, so
//             they are packed into / unpacked from a [D, B, H] scratch with per-direction copies.
//   lengths   data descriptors are CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED ([T, B, *], padding on
//             the right, our layout) with a per-row seqLengthArray. cuDNN wants those lengths on the
//             host, so one small device-to-host copy (and a stream synchronize: the host waits for
//             queued GPU work) happens per call when lengths are given. The reverse direction of
//             CUDNN_BIDIRECTIONAL runs each row from len_b - 1 down to 0: our convention.
//   len 0     cuDNN rejects zero-length sequences. Such rows are run with length 1 and repaired:
//             forward, y[0, b] is zeroed and (h_n, c_n) set back to (h0, c0); backward, the row's dy,
//             dh_n and dc_n are zeroed for cuDNN (so its dz, and its share of dW, is zero) and dh0,
//             dc0 of the row are set to dh_n, dc_n afterwards. The result is exactly our contract.
//   padding   y's padding is filled with zeros by cuDNN (paddingFill); dx's padding is zeroed here.
//   GradMode  cuDNN overwrites dx/dhx/dcx and only adds into its weight-gradient space (zeroed
//             first), so Accumulate goes through a scratch and kernels::cast_cuda(Accumulate).
//   math      F16/BF16: storage type with F32 math (mathPrec FLOAT) and CUDNN_TENSOR_OP_MATH;
//             F32: CUDNN_FMA_MATH, or CUDNN_DEFAULT_MATH (TF32 allowed) when MathMode::AllowTf32.
// Descriptors are created and destroyed on every call: a handful of host calls (microseconds,
// measured by the bench as wall-clock next to the CUDA-event time), the same per-call cost
// torch.nn.LSTM pays.
//   training  a forward is a training forward when it has somewhere to save (dirs[0].c_saved set,
//             lstm.h). cuDNN does not fill our c_saved / gates_saved: it fills its own opaque
//             reserve space, which the forward returns as a CudnnLstmSaved (a BackendSaved,
//             kernels/common/variants.h) and the backward takes back.
//   scratch   every temporary comes from a stream-ordered core Workspace; the reserve space lives in
//             the saved object's own Workspace until the backward has run.
//
// Reference: kernels/lstm/lstm_reference.cc. Tests: tests/kernels/test_lstm_cuda.cc (suite "cuda").
// Bench: bench/engine/lstm.cc (`loom bench lstm`). Tutorial: kernels/lstm/README.md.
#include <cublas_v2.h>
#include <cudnn.h>
#include <cuda_runtime_api.h>

#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/cuda_context.h"
#include "core/error.h"
#include "core/workspace.h"
#include "kernels/lstm/lstm.h"

namespace loom::kernels {
namespace {

constexpr long kCudnnBf16RnnVersion = 91300;  // cuDNN takes bf16 RNN data from 9.13 on

cudnnDataType_t cudnn_type(DType t) {
  switch (t) {
    case DType::F16: return CUDNN_DATA_HALF;
    case DType::BF16: return CUDNN_DATA_BFLOAT16;
    default: return CUDNN_DATA_FLOAT;
  }
}

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::F16: return CUDA_R_16F;
    case DType::BF16: return CUDA_R_16BF;
    default: return CUDA_R_32F;
  }
}

// What a training forward leaves for its backward: cuDNN's reserve space.
struct CudnnLstmSaved final : BackendSaved {
  explicit CudnnLstmSaved(Device device) : memory(device) {}
  Workspace memory;  // owns the reserve space until the backward has run
  void* reserve = nullptr;
  std::size_t reserve_bytes = 0;
};

char* at(const void* base, std::int64_t elems, std::size_t elem) {
  return static_cast<char*>(const_cast<void*>(base)) + elems * static_cast<std::int64_t>(elem);
}

// dst[0, n) (+)= src, or (+)= 0 when src is absent: the one place GradMode meets cuDNN's outputs.
void put(void* dst, const void* src, std::int64_t n, DType dtype, GradMode mode, const CudaContext& ctx) {
  if (!dst || n == 0) return;
  if (!src) {
    if (mode == GradMode::Overwrite)
      LOOM_CUDA_CHECK(cudaMemsetAsync(dst, 0, static_cast<std::size_t>(n) * dtype_size(dtype), ctx.stream()));
    return;
  }
  if (mode == GradMode::Overwrite) {
    LOOM_CUDA_CHECK(cudaMemcpyAsync(dst, src, static_cast<std::size_t>(n) * dtype_size(dtype),
                                    cudaMemcpyDeviceToDevice, ctx.stream()));
    return;
  }
  // dst += 1 * src, read and summed in F32, rounded once into the storage type.
  LOOM_CHECK(n <= INT_MAX, "lstm_seq_cudnn: ", n, " elements do not fit cuBLAS's int");
  const float one = 1.0f;
  LOOM_CUBLAS_CHECK(cublasAxpyEx(ctx.cublas(), static_cast<int>(n), &one, CUDA_R_32F, src, cuda_type(dtype), 1, dst,
                                 cuda_type(dtype), 1, CUDA_R_32F));
}

// The descriptors and sizes of one call. Destroyed with it (destroy only fails on a null handle,
// which is never passed, so the statuses are not checked there).
struct Rnn {
  cudnnHandle_t handle = nullptr;
  cudnnRNNDescriptor_t rnn = nullptr;
  cudnnDropoutDescriptor_t dropout = nullptr;
  cudnnRNNDataDescriptor_t x_desc = nullptr, y_desc = nullptr;
  cudnnTensorDescriptor_t h_desc = nullptr;
  std::vector<std::int32_t> lengths;  // host, each row's true length
  std::vector<std::int32_t> run;      // host, the lengths cuDNN runs (zeros raised to 1)
  std::vector<std::int64_t> empty_rows;
  Workspace ws;                       // the device copy of `run`
  const std::int32_t* dev_lengths_ptr = nullptr;
  std::size_t weight_bytes = 0, work_bytes = 0, reserve_bytes = 0;

  Rnn(const LstmSeqFwdArgs& a, const CudaContext& ctx, CudnnLstmAlgo algo, cudnnForwardMode_t mode);
  ~Rnn() {
    if (h_desc) cudnnDestroyTensorDescriptor(h_desc);
    if (y_desc) cudnnDestroyRNNDataDescriptor(y_desc);
    if (x_desc) cudnnDestroyRNNDataDescriptor(x_desc);
    if (rnn) cudnnDestroyRNNDescriptor(rnn);
    if (dropout) cudnnDestroyDropoutDescriptor(dropout);
  }
  Rnn(const Rnn&) = delete;
  Rnn& operator=(const Rnn&) = delete;
};

Rnn::Rnn(const LstmSeqFwdArgs& a, const CudaContext& ctx, CudnnLstmAlgo algo, cudnnForwardMode_t mode)
    : ws(Device::cuda(ctx.device())) {
  handle = ctx.cudnn();
  const int T = static_cast<int>(a.T), B = static_cast<int>(a.B), C = static_cast<int>(a.C),
            H = static_cast<int>(a.H), D = a.D;
  const cudnnDataType_t type = cudnn_type(a.dtype);

  lengths.assign(static_cast<std::size_t>(B), T);
  if (a.lengths) {
    LOOM_CUDA_CHECK(cudaMemcpyAsync(lengths.data(), a.lengths, lengths.size() * sizeof(std::int32_t),
                                    cudaMemcpyDeviceToHost, ctx.stream()));
    LOOM_CUDA_CHECK(cudaStreamSynchronize(ctx.stream()));
  }
  run = lengths;
  for (int b = 0; b < B; ++b) {
    LOOM_CHECK_SHAPE(lengths[b] >= 0 && lengths[b] <= T, "lstm_seq_cudnn: lengths[", b, "] = ", lengths[b],
                     " is outside [0, T = ", T, "]");
    if (lengths[b] == 0) {
      empty_rows.push_back(b);
      run[b] = 1;
    }
  }
  if (a.lengths && empty_rows.empty()) {
    dev_lengths_ptr = a.lengths;
  } else {
    std::int32_t* dev = ws.alloc<std::int32_t>(a.B);
    LOOM_CUDA_CHECK(cudaMemcpyAsync(dev, run.data(), run.size() * sizeof(std::int32_t), cudaMemcpyHostToDevice,
                                    ctx.stream()));
    dev_lengths_ptr = dev;
  }

  LOOM_CUDNN_CHECK(cudnnCreateDropoutDescriptor(&dropout));
  // No dropout inside one layer: probability 0 needs no random states.
  LOOM_CUDNN_CHECK(cudnnSetDropoutDescriptor(dropout, handle, 0.0f, nullptr, 0, 0));

  cudnnMathType_t math = CUDNN_TENSOR_OP_MATH;
  if (a.dtype == DType::F32) math = ctx.math_mode == MathMode::AllowTf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
  LOOM_CUDNN_CHECK(cudnnCreateRNNDescriptor(&rnn));
  LOOM_CUDNN_CHECK(cudnnSetRNNDescriptor_v8(
      rnn, algo == CudnnLstmAlgo::PersistStatic ? CUDNN_RNN_ALGO_PERSIST_STATIC : CUDNN_RNN_ALGO_STANDARD, CUDNN_LSTM,
      CUDNN_RNN_DOUBLE_BIAS, D == 2 ? CUDNN_BIDIRECTIONAL : CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, type,
      CUDNN_DATA_FLOAT, math, C, H, H, 1, dropout, CUDNN_RNN_PADDED_IO_ENABLED));

  double fill = 0.0;  // all-zero bits: zero in every data type
  LOOM_CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&x_desc));
  LOOM_CUDNN_CHECK(cudnnSetRNNDataDescriptor(x_desc, type, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, T, B, C,
                                             run.data(), &fill));
  LOOM_CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&y_desc));
  LOOM_CUDNN_CHECK(cudnnSetRNNDataDescriptor(y_desc, type, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, T, B, D * H,
                                             run.data(), &fill));
  const int dims[3] = {D, B, H}, strides[3] = {B * H, H, 1};
  LOOM_CUDNN_CHECK(cudnnCreateTensorDescriptor(&h_desc));
  LOOM_CUDNN_CHECK(cudnnSetTensorNdDescriptor(h_desc, type, 3, dims, strides));

  LOOM_CUDNN_CHECK(cudnnGetRNNWeightSpaceSize(handle, rnn, &weight_bytes));
  LOOM_CUDNN_CHECK(cudnnGetRNNTempSpaceSizes(handle, rnn, mode, x_desc, &work_bytes, &reserve_bytes));
}

std::int64_t desc_elems(cudnnTensorDescriptor_t desc) {
  cudnnDataType_t type;
  int nb = 0, dims[8] = {}, strides[8] = {};
  LOOM_CUDNN_CHECK(cudnnGetTensorNdDescriptor(desc, 8, &type, &nb, dims, strides));
  std::int64_t n = 1;
  for (int i = 0; i < nb; ++i) n *= dims[i];
  return n;
}

// Calls f(d, id, matrix, bias) for every gate block of the weight space `space`: id 0-3 are the
// input-side i, f, g, o, 4-7 the recurrent ones. Checks the block sizes against our layout.
template <class F>
void for_each_gate_block(const Rnn& r, const LstmSeqFwdArgs& a, void* space, F&& f) {
  cudnnTensorDescriptor_t m_desc = nullptr, b_desc = nullptr;
  LOOM_CUDNN_CHECK(cudnnCreateTensorDescriptor(&m_desc));
  const cudnnStatus_t st = cudnnCreateTensorDescriptor(&b_desc);
  if (st != CUDNN_STATUS_SUCCESS) cudnnDestroyTensorDescriptor(m_desc);
  LOOM_CUDNN_CHECK(st);
  try {
    for (int d = 0; d < a.D; ++d) {
      for (int id = 0; id < 8; ++id) {
        void* m = nullptr;
        void* b = nullptr;
        LOOM_CUDNN_CHECK(cudnnGetRNNWeightParams(r.handle, r.rnn, d, r.weight_bytes, space, id, m_desc, &m, b_desc, &b));
        const std::int64_t want = a.H * (id < 4 ? a.C : a.H);
        LOOM_CHECK(m && b && desc_elems(m_desc) == want && desc_elems(b_desc) == a.H, "lstm_seq_cudnn: cuDNN's ",
                   "weight block ", id, " of direction ", d, " is not the [H, ", id < 4 ? "C" : "H", "] matrix and [H] ",
                   "bias this file maps PyTorch's layout onto");
        f(d, id, m, b);
      }
    }
  } catch (...) {
    cudnnDestroyTensorDescriptor(m_desc);
    cudnnDestroyTensorDescriptor(b_desc);
    throw;
  }
  cudnnDestroyTensorDescriptor(m_desc);
  cudnnDestroyTensorDescriptor(b_desc);
}

// Our w_ih, w_hh, folded bias -> cuDNN's weight space (recurrent bias zero), taken from `ws`.
void* pack_weights(const Rnn& r, const LstmSeqFwdArgs& a, const CudaContext& ctx, Workspace& ws) {
  void* space = ws.alloc_bytes(r.weight_bytes);
  const std::size_t e = dtype_size(a.dtype);
  const std::int64_t H = a.H, C = a.C;
  for_each_gate_block(r, a, space, [&](int d, int id, void* m, void* b) {
    const LstmDirection& p = a.dirs[d];
    const int k = id % 4;
    const void* src = id < 4 ? at(p.w_ih, k * H * C, e) : at(p.w_hh, k * H * H, e);
    const std::size_t m_bytes = static_cast<std::size_t>(H * (id < 4 ? C : H)) * e;
    LOOM_CUDA_CHECK(cudaMemcpyAsync(m, src, m_bytes, cudaMemcpyDeviceToDevice, ctx.stream()));
    if (id < 4) {
      LOOM_CUDA_CHECK(cudaMemcpyAsync(b, at(p.bias, k * H, e), H * e, cudaMemcpyDeviceToDevice, ctx.stream()));
    } else {
      LOOM_CUDA_CHECK(cudaMemsetAsync(b, 0, H * e, ctx.stream()));
    }
  });
  return space;
}

// [D, B, H] `dtype` elements from `ws`.
void* state_buffer(const LstmSeqFwdArgs& a, Workspace& ws) {
  return ws.alloc_bytes(static_cast<std::size_t>(a.D * a.B * a.H) * dtype_size(a.dtype));
}

// [D, B, H] scratch from one [B, H] pointer per direction (zeros where absent); nullptr when all
// are absent (cuDNN then takes a null pointer as zeros).
void* pack_states(const void* const* per_dir, const LstmSeqFwdArgs& a, const CudaContext& ctx, Workspace& ws) {
  bool any = false;
  for (int d = 0; d < a.D; ++d) any = any || per_dir[d];
  if (!any) return nullptr;
  void* packed = state_buffer(a, ws);
  const std::int64_t n = a.B * a.H;
  for (int d = 0; d < a.D; ++d)
    put(at(packed, d * n, dtype_size(a.dtype)), per_dir[d], n, a.dtype, GradMode::Overwrite, ctx);
  return packed;
}

// Row b of every direction in a [D, B, H] buffer <- row b of src[d] (zeros where absent).
void set_state_row(void* packed, const void* const* src, std::int64_t b, const LstmSeqFwdArgs& a,
                   const CudaContext& ctx) {
  const std::size_t e = dtype_size(a.dtype);
  for (int d = 0; d < a.D; ++d)
    put(at(packed, (d * a.B + b) * a.H, e), src[d] ? at(src[d], b * a.H, e) : nullptr, a.H, a.dtype,
        GradMode::Overwrite, ctx);
}

void check_cudnn_supported(const LstmSeqFwdArgs& a, CudnnLstmAlgo algo, const char* op) {
  std::string why;
  if (!lstm_seq_cudnn_supports(a, algo, &why)) LOOM_THROW(ShapeError, op, ": ", why);
  LOOM_CHECK(a.y && (a.x || a.T * a.B == 0), op, ": x and y must be given");
  for (int d = 0; d < a.D; ++d)
    LOOM_CHECK(a.dirs[d].w_ih && a.dirs[d].w_hh && a.dirs[d].bias, op, ": direction ", d,
               " needs w_ih, w_hh and bias");
}

}  // namespace

bool lstm_seq_cudnn_supports(const LstmSeqFwdArgs& a, CudnnLstmAlgo algo, std::string* why_not) {
  auto refuse = [&](const std::string& why) {
    if (why_not) *why_not = why;
    return false;
  };
  if (a.dtype != DType::F32 && a.dtype != DType::F16 && a.dtype != DType::BF16)
    return refuse(std::string("cuDNN's LSTM takes f32, f16 or bf16 (got ") + dtype_name(a.dtype) + ")");
  if (a.dtype == DType::BF16 && static_cast<long>(cudnnGetVersion()) < kCudnnBf16RnnVersion)
    return refuse("bf16 LSTMs need cuDNN >= 9.13 (this is " + std::to_string(cudnnGetVersion()) + ")");
  if (a.D == 1 && a.dirs[0].reverse)
    return refuse("cuDNN runs a single direction only forward in time (use the hand-written CUDA kernels)");
  if (a.D == 2 && (a.dirs[0].reverse || !a.dirs[1].reverse))
    return refuse("cuDNN's bidirectional LSTM needs dirs[0] forward and dirs[1] reverse");
  if (a.D != 1 && a.D != 2) return refuse("D must be 1 or 2 directions (got " + std::to_string(a.D) + ")");
  if (a.H < 1 || a.C < 1 || a.T < 0 || a.B < 0)
    return refuse("needs H >= 1, C >= 1, T >= 0, B >= 0");
  if (a.T > INT_MAX || a.B > INT_MAX || a.C > INT_MAX || a.D * a.H > INT_MAX || a.B * a.H > INT_MAX)
    return refuse("cuDNN takes int dimensions: T, B, C, D*H and B*H must fit 32 bits");
  if (algo == CudnnLstmAlgo::PersistStatic && a.lengths)
    return refuse("CUDNN_RNN_ALGO_PERSIST_STATIC refuses variable lengths (CUDNN_STATUS_NOT_SUPPORTED); pass "
                  "lengths = nullptr when every row has T steps, or use the STANDARD algorithm");
  return true;
}

std::unique_ptr<BackendSaved> lstm_seq_fwd_cudnn(const LstmSeqFwdArgs& a, const CudaContext& ctx,
                                                 CudnnLstmAlgo algo) {
  check_cudnn_supported(a, algo, "lstm_seq_fwd_cudnn");
  const std::int64_t n = a.B * a.H;
  const void* h0[2] = {a.dirs[0].h0, a.dirs[1].h0};
  const void* c0[2] = {a.dirs[0].c0, a.dirs[1].c0};
  if (a.T == 0 || a.B == 0) {  // no step runs: the final state is the initial state
    for (int d = 0; d < a.D; ++d) {
      put(a.dirs[d].h_n, h0[d], n, a.dtype, GradMode::Overwrite, ctx);
      put(a.dirs[d].c_n, c0[d], n, a.dtype, GradMode::Overwrite, ctx);
    }
    return nullptr;
  }
  const bool training = a.dirs[0].c_saved != nullptr;  // somewhere to save: lstm.h
  const cudnnForwardMode_t mode = training ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE;
  const Rnn r(a, ctx, algo, mode);
  std::unique_ptr<CudnnLstmSaved> saved;
  if (training) {
    saved = std::make_unique<CudnnLstmSaved>(Device::cuda(ctx.device()));
    saved->reserve_bytes = r.reserve_bytes;
    saved->reserve = saved->memory.alloc_bytes(r.reserve_bytes);
  }
  Workspace ws(Device::cuda(ctx.device()));
  const void* w = pack_weights(r, a, ctx, ws);
  const void* hx = pack_states(h0, a, ctx, ws);
  const void* cx = pack_states(c0, a, ctx, ws);
  void* hy = state_buffer(a, ws);
  void* cy = state_buffer(a, ws);
  void* work = ws.alloc_bytes(r.work_bytes);
  LOOM_CUDNN_CHECK(cudnnRNNForward(r.handle, r.rnn, mode, r.dev_lengths_ptr, r.x_desc, a.x, r.y_desc, a.y, r.h_desc,
                                   hx, hy, r.h_desc, cx, cy, r.weight_bytes, w, r.work_bytes, work,
                                   training ? saved->reserve_bytes : 0, training ? saved->reserve : nullptr));
  // Rows of length 0 ran one step for cuDNN: undo it (zero y[0, b], hand back h0, c0).
  const std::size_t e = dtype_size(a.dtype);
  for (const std::int64_t b : r.empty_rows) {
    LOOM_CUDA_CHECK(cudaMemsetAsync(at(a.y, b * a.D * a.H, e), 0, a.D * a.H * e, ctx.stream()));
    set_state_row(hy, h0, b, a, ctx);
    set_state_row(cy, c0, b, a, ctx);
  }
  for (int d = 0; d < a.D; ++d) {
    put(a.dirs[d].h_n, at(hy, d * n, e), n, a.dtype, GradMode::Overwrite, ctx);
    put(a.dirs[d].c_n, at(cy, d * n, e), n, a.dtype, GradMode::Overwrite, ctx);
  }
  return saved;
}

void lstm_seq_bwd_cudnn(const LstmSeqBwdArgs& g, const CudaContext& ctx, CudnnLstmAlgo algo,
                        const BackendSaved* backend_saved) {
  const LstmSeqFwdArgs& a = g.fwd;
  check_cudnn_supported(a, algo, "lstm_seq_bwd_cudnn");
  const std::int64_t T = a.T, B = a.B, C = a.C, H = a.H, n = B * H, DH = a.D * H;
  const std::size_t e = dtype_size(a.dtype);
  const void* dh_n[2] = {g.grads[0].dh_n, g.grads[1].dh_n};
  const void* dc_n[2] = {g.grads[0].dc_n, g.grads[1].dc_n};
  if (T == 0 || B == 0) {  // nothing ran: zero parameter gradients, the state gradients pass through
    for (int d = 0; d < a.D; ++d) {
      const LstmDirectionGrad& q = g.grads[d];
      put(q.dw_ih, nullptr, 4 * H * C, a.dtype, g.param_mode, ctx);
      put(q.dw_hh, nullptr, 4 * H * H, a.dtype, g.param_mode, ctx);
      put(q.dbias, nullptr, 4 * H, a.dtype, g.param_mode, ctx);
      put(q.dh0, dh_n[d], n, a.dtype, g.input_mode, ctx);
      put(q.dc0, dc_n[d], n, a.dtype, g.input_mode, ctx);
    }
    return;
  }
  const auto* saved = dynamic_cast<const CudnnLstmSaved*>(backend_saved);
  LOOM_CHECK(saved != nullptr, "lstm_seq_bwd_cudnn: needs what the cuDNN training forward returned (the forward ",
             "ran in inference, or another variant ran it)");
  const Rnn r(a, ctx, algo, CUDNN_FWD_MODE_TRAINING);
  LOOM_CHECK(saved->reserve_bytes >= r.reserve_bytes, "lstm_seq_bwd_cudnn: the saved reserve space has ",
             saved->reserve_bytes, " bytes, cuDNN needs ", r.reserve_bytes);
  Workspace ws(Device::cuda(ctx.device()));
  const void* w = pack_weights(r, a, ctx, ws);
  const void* h0[2] = {a.dirs[0].h0, a.dirs[1].h0};
  const void* c0[2] = {a.dirs[0].c0, a.dirs[1].c0};
  const void* hx = pack_states(h0, a, ctx, ws);
  const void* cx = pack_states(c0, a, ctx, ws);

  // dy, dhy, dcy as cuDNN reads them: zeros where absent, and zeros for rows of length 0.
  const void* dy = g.dy;
  if (!dy || !r.empty_rows.empty()) {
    void* dy_copy = ws.alloc_bytes(static_cast<std::size_t>(T * B * DH) * e);
    put(dy_copy, g.dy, T * B * DH, a.dtype, GradMode::Overwrite, ctx);
    for (const std::int64_t b : r.empty_rows)
      LOOM_CUDA_CHECK(cudaMemsetAsync(at(dy_copy, b * DH, e), 0, DH * e, ctx.stream()));
    dy = dy_copy;
  }
  const void* none[2] = {nullptr, nullptr};
  void* dhy = pack_states(dh_n, a, ctx, ws);
  void* dcy = pack_states(dc_n, a, ctx, ws);
  for (const std::int64_t b : r.empty_rows) {
    if (dhy) set_state_row(dhy, none, b, a, ctx);
    if (dcy) set_state_row(dcy, none, b, a, ctx);
  }

  // dx straight into the caller's buffer when it is overwritten; through a scratch otherwise.
  const bool dx_direct = g.dx && g.input_mode == GradMode::Overwrite;
  void* dx = dx_direct ? g.dx : ws.alloc_bytes(static_cast<std::size_t>(T * B * C) * e);
  void* dhx = state_buffer(a, ws);
  void* dcx = state_buffer(a, ws);
  void* work = ws.alloc_bytes(r.work_bytes);
  LOOM_CUDNN_CHECK(cudnnRNNBackwardData_v8(r.handle, r.rnn, r.dev_lengths_ptr, r.y_desc, a.y, dy, r.x_desc, dx,
                                           r.h_desc, hx, dhy, dhx, r.h_desc, cx, dcy, dcx, r.weight_bytes, w,
                                           r.work_bytes, work, saved->reserve_bytes, saved->reserve));

  // dx: zero at padding (t >= len_b; all of a row of length 0), then (+)= into the caller's.
  if (g.dx) {
    for (std::int64_t b = 0; b < B; ++b) {
      const std::int64_t len = r.lengths[static_cast<std::size_t>(b)];
      if (len == T) continue;
      LOOM_CUDA_CHECK(cudaMemset2DAsync(at(dx, (len * B + b) * C, e), static_cast<std::size_t>(B * C) * e, 0,
                                        static_cast<std::size_t>(C) * e, static_cast<std::size_t>(T - len),
                                        ctx.stream()));
    }
    if (!dx_direct) put(g.dx, dx, T * B * C, a.dtype, g.input_mode, ctx);
  }
  // dh0, dc0: a row of length 0 passes dh_n, dc_n through.
  for (const std::int64_t b : r.empty_rows) {
    set_state_row(dhx, dh_n, b, a, ctx);
    set_state_row(dcx, dc_n, b, a, ctx);
  }
  for (int d = 0; d < a.D; ++d) {
    put(g.grads[d].dh0, at(dhx, d * n, e), n, a.dtype, g.input_mode, ctx);
    put(g.grads[d].dc0, at(dcx, d * n, e), n, a.dtype, g.input_mode, ctx);
  }

  // Weight gradients: cuDNN only adds (CUDNN_WGRAD_MODE_ADD) into a zeroed space; then each gate
  // block goes back to our layout with param_mode. It must run after BackwardData (reserve space).
  bool any_param = false;
  for (int d = 0; d < a.D; ++d) any_param = any_param || g.grads[d].dw_ih || g.grads[d].dw_hh || g.grads[d].dbias;
  if (!any_param) return;
  void* dw = ws.alloc_bytes(r.weight_bytes);
  LOOM_CUDA_CHECK(cudaMemsetAsync(dw, 0, r.weight_bytes, ctx.stream()));
  LOOM_CUDNN_CHECK(cudnnRNNBackwardWeights_v8(r.handle, r.rnn, CUDNN_WGRAD_MODE_ADD, r.dev_lengths_ptr, r.x_desc, a.x,
                                              r.h_desc, hx, r.y_desc, a.y, r.weight_bytes, dw, r.work_bytes, work,
                                              saved->reserve_bytes, saved->reserve));
  for_each_gate_block(r, a, dw, [&](int d, int id, void* m, void* b) {
    const LstmDirectionGrad& q = g.grads[d];
    const int k = id % 4;
    if (id < 4) {
      if (q.dw_ih) put(at(q.dw_ih, k * H * C, e), m, H * C, a.dtype, g.param_mode, ctx);
      if (q.dbias) put(at(q.dbias, k * H, e), b, H, a.dtype, g.param_mode, ctx);
    } else if (q.dw_hh) {
      put(at(q.dw_hh, k * H * H, e), m, H * H, a.dtype, g.param_mode, ctx);
    }
  });
}

}  // namespace loom::kernels

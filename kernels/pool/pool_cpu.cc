// kernels/pool/pool_cpu.cc: pooling over time with per-row lengths on the CPU: MaxPool1d and the
// global max / mean over time. The reference for kernels/pool/pool_cuda.cu and the CPU path.
//
// Math (pool.h fixes the conventions; x [T, B, C] time-major, len_b the valid prefix of row b):
//   MaxPool1d, window w = [w s, w s + k), valid for w < out_len_b = len_b >= k ? (len_b - k) / s + 1 : 0:
//     y[w, b, c] = max_{t in window} x[t, b, c],   argmax[w, b, c] = that t (first on ties)
//     invalid windows: y = 0, argmax = -1
//   Backward: y picks one element, so its derivative is 1 at the winner and 0 elsewhere:
//     dx[t, b, c] = sum over windows w with argmax[w, b, c] == t of dy[w, b, c]
//   With s < k the windows overlap and one x can win several of them: their gradients add.
//   Global max: y[b, c] = max_{t < len_b} x[t, b, c]; dx[t, b, c] = dy[b, c] [t == argmax[b, c]].
//   Global mean: y[b, c] = (1 / len_b) sum_{t < len_b} x[t, b, c]; dx[t, b, c] = dy[b, c] / len_b
//   for t < len_b, else 0. An empty row (len_b == 0) outputs 0 (argmax -1) and sends no gradient.
// A NaN wins a max (the first NaN seen is the argmax), so it propagates as in torch.max and
// torch.nn.MaxPool1d and reaches the loss, where the F16 loss scaler sees it.
//
// Why the backward is a GATHER. Scattering dy to dx[argmax] would need atomics or a fixed-order
// serial pass; instead every dx element finds the few windows that contain it, t in
// [w s, w s + k) <=> w in [ceil((t - k + 1) / s), floor(t / s)], and sums those whose argmax is t in
// increasing w. So each dx element is written once, by one thread, in a fixed order (the result
// is deterministic and independent of the thread count), Overwrite needs no zeroing pass, and an
// F16 / BF16 gradient is summed in F32 and rounded once.
//
// Parallel map: every loop splits independent outputs. Forward: (w, b) rows of y (MaxPool1d) or
// batch rows b (global pools), each thread walking its row's window over time with the C
// channels innermost (unit stride). Backward: (t, b) rows of dx.
//
// Costs (maxpool1d_fwd_cost / global_pool_fwd_cost compute exactly these; s = storage size, every
// count ignores lengths, which live on the device for GPU calls):
//   MaxPool1d   flops T_out B C k (one compare per window element)
//               bytes s (R B C + T_out B C) + 4 T_out B C [argmax] + 4 B [lengths] + 4 B [out_lengths]
//               where R = the input rows the windows cover, T_out k if s >= k, else (T_out - 1) s + k
//   global max  flops T B C,  bytes s (T B C + B C) + 4 B C [argmax] + 4 B [lengths]
//   global mean flops T B C + B C (adds, then one scale per output), bytes s (T B C + B C) + 4 B
// All of them do about one flop per element read: memory-bound, so their speed is bandwidth.
//
// Precision: arithmetic in compute_t<T> (F32 for F32/F16/BF16, F64 for F64); a max is an exact
// copy of a stored element; a mean and every gradient round once on the store.
//
// Twin: kernels/pool/pool_cuda.cu. Tests: tests/kernels/test_pool_cpu.cc (hand examples, F64 finite
// differences with lengths and overlapping windows, F16/BF16, cost). The fused text-CNN block
// (conv -> ReLU -> global max in one pass) is in kernels/conv1d/conv1d_cpu.cc.
#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "kernels/common/cpu_types.h"
#include "kernels/pool/pool.h"

namespace loom::kernels {

using cpu::store;
using cpu::with_float_type;

namespace {

using std::int64_t;

// Strictly greater replaces (first index wins ties); the first NaN replaces a number and stays.
template <typename C>
inline bool beats(C v, C best) {
  return v > best || (v != v && best == best);
}

bool parallel_worth(int64_t work) { return work > loom::kParallelGrain; }

void check_sizes(int64_t T, int64_t B, int64_t C, const char* op) {
  LOOM_CHECK_SHAPE(T >= 0 && B >= 0 && C >= 0, op, ": negative size (T = ", T, ", B = ", B, ", C = ", C, ")");
}

void check_window(int64_t kernel, int64_t stride, const char* op) {
  LOOM_CHECK_SHAPE(kernel >= 1 && stride >= 1, op, ": kernel and stride must be >= 1 (kernel = ", kernel,
                   ", stride = ", stride, ")");
}

// Row lengths, checked once: nullptr means every row is T long.
std::vector<int64_t> row_lengths(const std::int32_t* lengths, int64_t T, int64_t B, const char* op) {
  std::vector<int64_t> len(static_cast<std::size_t>(B), T);
  for (int64_t b = 0; lengths != nullptr && b < B; ++b) {
    const int64_t L = lengths[b];
    LOOM_CHECK_SHAPE(L >= 0 && L <= T, op, ": lengths[", b, "] = ", L, " is outside [0, T] with T = ", T);
    len[static_cast<std::size_t>(b)] = L;
  }
  return len;
}

// ---- MaxPool1d -----------------------------------------------------------------------------------

template <typename T>
void maxpool_fwd(const MaxPool1dFwdArgs& a, const std::vector<int64_t>& len) {
  const int64_t B = a.B, C = a.C, k = a.kernel, s = a.stride;
  const int64_t T_out = maxpool1d_out_T(a.T, k, s);
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
#pragma omp parallel for num_threads(loom::num_threads()) if (parallel_worth(T_out * B * C * k))
  for (int64_t r = 0; r < T_out * B; ++r) {
    const int64_t w = r / B, b = r % B;
    T* yr = y + r * C;
    std::int32_t* arg = a.argmax + r * C;
    if (w >= maxpool1d_out_length(len[static_cast<std::size_t>(b)], k, s)) {  // reaches past the row
      std::fill_n(yr, C, from_double<T>(0.0));
      std::fill_n(arg, C, -1);
      continue;
    }
    // The window's first element seeds the max; y holds stored values, so copying is exact.
    const int64_t t0 = w * s;
    std::copy_n(x + (t0 * B + b) * C, C, yr);
    std::fill_n(arg, C, static_cast<std::int32_t>(t0));
    for (int64_t t = t0 + 1; t < t0 + k; ++t) {
      const T* xr = x + (t * B + b) * C;
      for (int64_t c = 0; c < C; ++c)
        if (beats(to_float(xr[c]), to_float(yr[c]))) yr[c] = xr[c], arg[c] = static_cast<std::int32_t>(t);
    }
  }
  if (a.out_lengths != nullptr)
    for (int64_t b = 0; b < B; ++b)
      a.out_lengths[b] = static_cast<std::int32_t>(maxpool1d_out_length(len[static_cast<std::size_t>(b)], k, s));
}

template <typename T>
void maxpool_bwd(const MaxPool1dBwdArgs& a) {
  using Cm = compute_t<T>;
  const int64_t B = a.B, C = a.C, k = a.kernel, s = a.stride;
  const int64_t T_out = maxpool1d_out_T(a.T, k, s);
  const T* dy = static_cast<const T*>(a.dy);
  T* dx = static_cast<T*>(a.dx);
  const int64_t windows_per_t = (k + s - 1) / s;  // the most windows one time step can be in
#pragma omp parallel for num_threads(loom::num_threads()) if (parallel_worth(a.T * B * C * windows_per_t))
  for (int64_t r = 0; r < a.T * B; ++r) {
    const int64_t t = r / B, b = r % B;
    // The windows containing t: w s <= t < w s + k, i.e. w in [ceil((t - k + 1) / s), floor(t / s)].
    const int64_t w_first = t - k + 1 <= 0 ? 0 : (t - k + 1 + s - 1) / s;
    const int64_t w_last = std::min(t / s, T_out - 1);
    for (int64_t c = 0; c < C; ++c) {
      Cm sum = 0;
      for (int64_t w = w_first; w <= w_last; ++w) {
        const int64_t i = (w * B + b) * C + c;
        if (a.argmax[i] == t) sum += to_float(dy[i]);
      }
      store(dx[r * C + c], sum, a.mode);
    }
  }
}

// ---- global pools over time ----------------------------------------------------------------------

template <typename T>
void global_fwd(const GlobalPoolFwdArgs& a, const std::vector<int64_t>& len) {
  using Cm = compute_t<T>;
  const int64_t B = a.B, C = a.C;
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
#pragma omp parallel num_threads(loom::num_threads()) if (parallel_worth(a.T * B * C))
  {
    std::vector<Cm> acc(static_cast<std::size_t>(C));  // this thread's running max or sum
#pragma omp for
    for (int64_t b = 0; b < B; ++b) {
      const int64_t L = len[static_cast<std::size_t>(b)];
      T* yr = y + b * C;
      if (a.op == TimeReduce::Max) {
        std::int32_t* arg = a.argmax + b * C;
        if (L == 0) {
          std::fill_n(yr, C, from_double<T>(0.0));
          std::fill_n(arg, C, -1);
          continue;
        }
        for (int64_t c = 0; c < C; ++c) acc[c] = to_float(x[b * C + c]);
        std::fill_n(arg, C, 0);
        for (int64_t t = 1; t < L; ++t) {
          const T* xr = x + (t * B + b) * C;
          for (int64_t c = 0; c < C; ++c)
            if (beats<Cm>(to_float(xr[c]), acc[c])) acc[c] = to_float(xr[c]), arg[c] = static_cast<std::int32_t>(t);
        }
        for (int64_t c = 0; c < C; ++c) yr[c] = from_double<T>(acc[c]);  // exact: acc holds a stored value
      } else {
        std::fill(acc.begin(), acc.end(), Cm(0));
        for (int64_t t = 0; t < L; ++t) {
          const T* xr = x + (t * B + b) * C;
          for (int64_t c = 0; c < C; ++c) acc[c] += to_float(xr[c]);
        }
        const Cm scale = L > 0 ? Cm(1) / static_cast<Cm>(L) : Cm(0);
        for (int64_t c = 0; c < C; ++c) yr[c] = from_double<T>(acc[c] * scale);
      }
    }
  }
}

template <typename T>
void global_bwd(const GlobalPoolBwdArgs& a, const std::vector<int64_t>& len) {
  using Cm = compute_t<T>;
  const int64_t B = a.B, C = a.C;
  const T* dy = static_cast<const T*>(a.dy);
  T* dx = static_cast<T*>(a.dx);
#pragma omp parallel for num_threads(loom::num_threads()) if (parallel_worth(a.T * B * C))
  for (int64_t r = 0; r < a.T * B; ++r) {
    const int64_t t = r / B, b = r % B;
    const int64_t L = len[static_cast<std::size_t>(b)];
    const T* dyr = dy + b * C;
    T* dxr = dx + r * C;
    if (a.op == TimeReduce::Max) {
      const std::int32_t* arg = a.argmax + b * C;
      for (int64_t c = 0; c < C; ++c) store(dxr[c], arg[c] == t ? Cm(to_float(dyr[c])) : Cm(0), a.mode);
    } else {
      const Cm scale = t < L ? Cm(1) / static_cast<Cm>(L) : Cm(0);  // also 0 for an empty row
      for (int64_t c = 0; c < C; ++c) store(dxr[c], Cm(to_float(dyr[c])) * scale, a.mode);
    }
  }
}

}  // namespace

// ---- entry points --------------------------------------------------------------------------------

void maxpool1d_fwd_cpu(const MaxPool1dFwdArgs& a) {
  check_sizes(a.T, a.B, a.C, "maxpool1d_fwd_cpu");
  check_window(a.kernel, a.stride, "maxpool1d_fwd_cpu");
  const std::vector<int64_t> len = row_lengths(a.lengths, a.T, a.B, "maxpool1d_fwd_cpu");
  with_float_type(a.dtype, "maxpool1d_fwd_cpu", [&](auto tag) { maxpool_fwd<decltype(tag)>(a, len); });
}

void maxpool1d_bwd_cpu(const MaxPool1dBwdArgs& a) {
  check_sizes(a.T, a.B, a.C, "maxpool1d_bwd_cpu");
  check_window(a.kernel, a.stride, "maxpool1d_bwd_cpu");
  with_float_type(a.dtype, "maxpool1d_bwd_cpu", [&](auto tag) { maxpool_bwd<decltype(tag)>(a); });
}

void global_pool_fwd_cpu(const GlobalPoolFwdArgs& a) {
  check_sizes(a.T, a.B, a.C, "global_pool_fwd_cpu");
  const std::vector<int64_t> len = row_lengths(a.lengths, a.T, a.B, "global_pool_fwd_cpu");
  with_float_type(a.dtype, "global_pool_fwd_cpu", [&](auto tag) { global_fwd<decltype(tag)>(a, len); });
}

void global_pool_bwd_cpu(const GlobalPoolBwdArgs& a) {
  check_sizes(a.T, a.B, a.C, "global_pool_bwd_cpu");
  const std::vector<int64_t> len = row_lengths(a.lengths, a.T, a.B, "global_pool_bwd_cpu");
  with_float_type(a.dtype, "global_pool_bwd_cpu", [&](auto tag) { global_bwd<decltype(tag)>(a, len); });
}

// ---- cost: the formulas of the opening comment -----------------------------------------------------

Cost maxpool1d_fwd_cost(const MaxPool1dFwdArgs& a) {
  const int64_t T_out = maxpool1d_out_T(a.T, a.kernel, a.stride);
  const int64_t rows_read = T_out == 0 ? 0
                            : a.stride >= a.kernel ? T_out * a.kernel
                                                   : (T_out - 1) * a.stride + a.kernel;
  const double B = static_cast<double>(a.B), C = static_cast<double>(a.C), To = static_cast<double>(T_out);
  const double s = static_cast<double>(dtype_size(a.dtype));
  Cost cost;
  cost.flops = To * B * C * static_cast<double>(a.kernel);
  cost.bytes = s * (static_cast<double>(rows_read) * B * C + To * B * C) + 4 * To * B * C;
  cost.bytes += (a.lengths != nullptr ? 4 * B : 0) + (a.out_lengths != nullptr ? 4 * B : 0);
  return cost;
}

Cost global_pool_fwd_cost(const GlobalPoolFwdArgs& a) {
  const double T = static_cast<double>(a.T), B = static_cast<double>(a.B), C = static_cast<double>(a.C);
  const double s = static_cast<double>(dtype_size(a.dtype));
  const bool max = a.op == TimeReduce::Max;
  Cost cost;
  cost.flops = T * B * C + (max ? 0 : B * C);
  cost.bytes = s * (T * B * C + B * C) + (max ? 4 * B * C : 0) + (a.lengths != nullptr ? 4 * B : 0);
  return cost;
}

}  // namespace loom::kernels

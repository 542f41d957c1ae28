// kernels/elementwise/elementwise_cpu.cc: the CPU reference for the one-pass element-wise kernels.
//
// Math, forward and backward (the backward of every activation is written from the saved output
// y, so the forward input need not be kept):
//   sigmoid  y = 1 / (1 + e^-x)          dx = dy * y (1 - y)
//   tanh     y = tanh(x)                 dx = dy * (1 - y^2)
//   relu     y = max(x, 0)               dx = dy * [y > 0]
//   binary   y = a + b | a - b | a * b   (da, db are other calls of these kernels and reductions)
//   scale    y = alpha x                 dx = alpha dy
//   dropout  y = x keep / (1 - p)        dx = dy keep / (1 - p): the SAME kernel on dy, since
//            keep_i = [philox_uniform(seed, offset + i) >= p] is recomputed, never stored
//   cast     dst = convert(src)          dsrc = convert back (a cast the other way)
//   copy_block copies a [rows, cols] block between two wider matrices: concat forward / split
//            backward, and the reverse.
// Every kernel loads its storage type, computes in compute_t<T> (F32; F64 for F64), and rounds
// once on the store. GradMode Accumulate adds the old destination in the compute type first.
//
// Parallel map: element i is independent of every other element, so OpenMP splits the index
// range over loom::num_threads() threads once the work passes loom::kParallelGrain (a fork/join
// costs microseconds). In-place use (y aliases a or x) is safe because each iteration reads its
// own element before writing it and touches no other.
//
// Memory traffic at storage size s: unary fwd 2 n s; unary bwd 3 n s (+ n s when accumulating);
// binary (2 + [Accumulate]) rows cols s + (rows cols | cols) s for b; scale, dropout, cast read
// n elements and write n (+ read n when accumulating). All of them are memory-bound: a flop per
// byte or less, so their speed is bandwidth, and fusing them into neighbours is what pays.
// Dropout is the exception: 10 Philox rounds per 4 numbers and a division per kept element made
// it compute-bound in scalar code (lstm-cnn, 19,200 elements: ~95 us forward, ~55 backward in
// `loom trace --kernels`). Its numbers now come eight Philox blocks per AVX-512 pass
// (kernels/common/philox_cpu.h) and its F32 / BF16 elements 16 per step (dropout_avx512.h):
// 13-14 and 11 us, the same bits (tests/kernels/test_dropout_cpu.cc).
//
// Twin: kernels/elementwise/elementwise_cuda.cu. Tests: tests/ops/test_ops_elementwise.cc and
// tests/ops/test_ops_cast.cc (every dtype, in-place, both GradModes, dropout mask equality),
// tests/kernels/test_dropout_cpu.cc (dropout's bits against its scalar definition).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "core/error.h"
#include "core/parallel.h"
#include "kernels/common/bf16_cpu.h"
#include "kernels/common/cpu_types.h"
#include "kernels/common/philox_cpu.h"
#include "kernels/elementwise/dropout_avx512.h"
#include "kernels/elementwise/elementwise.h"

namespace loom::kernels {

using cpu::store;
using cpu::with_float_type;

namespace {

// ---- unary ----

template <typename C>
inline C activation(UnaryOp op, C x) {
  switch (op) {
    case UnaryOp::Sigmoid: return C(1) / (C(1) + std::exp(-x));  // e^-x -> inf gives 0: no NaN
    case UnaryOp::Tanh: return std::tanh(x);
    case UnaryOp::Relu: return x < C(0) ? C(0) : x;  // NaN is not < 0, so it passes, as in PyTorch
  }
  return x;
}

// f'(x) written in terms of y = f(x).
template <typename C>
inline C activation_grad_from_y(UnaryOp op, C y) {
  switch (op) {
    case UnaryOp::Sigmoid: return y * (C(1) - y);
    case UnaryOp::Tanh: return C(1) - y * y;
    case UnaryOp::Relu: return y > C(0) ? C(1) : C(0);
  }
  return C(0);
}

template <typename T>
void unary_fwd(const UnaryFwdArgs& a) {
  using C = compute_t<T>;
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
#pragma omp parallel for num_threads(loom::num_threads()) if (a.n > loom::kParallelGrain)
  for (std::int64_t i = 0; i < a.n; ++i) y[i] = from_double<T>(activation<C>(a.op, to_float(x[i])));
}

template <typename T>
void unary_bwd(const UnaryBwdArgs& a) {
  using C = compute_t<T>;
  const T* y = static_cast<const T*>(a.y);
  const T* dy = static_cast<const T*>(a.dy);
  T* dx = static_cast<T*>(a.dx);
#pragma omp parallel for num_threads(loom::num_threads()) if (a.n > loom::kParallelGrain)
  for (std::int64_t i = 0; i < a.n; ++i)
    store(dx[i], C(to_float(dy[i])) * activation_grad_from_y<C>(a.op, to_float(y[i])), a.mode);
}

// ---- binary ----

template <typename C>
inline C binary_op(BinaryOp op, C a, C b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
  }
  return a;
}

template <typename T>
void binary(const BinaryArgs& args) {
  using C = compute_t<T>;
  const T* a = static_cast<const T*>(args.a);
  const T* b = static_cast<const T*>(args.b);
  T* y = static_cast<T*>(args.y);
  // b's row stride: a full matrix advances one row per row; a broadcast row never advances.
  const std::int64_t b_ld = args.b_layout == Broadcast::Row ? 0 : args.cols;
#pragma omp parallel for num_threads(loom::num_threads()) if (args.rows * args.cols > loom::kParallelGrain)
  for (std::int64_t r = 0; r < args.rows; ++r) {
    for (std::int64_t c = 0; c < args.cols; ++c) {
      const std::int64_t i = r * args.cols + c;
      store(y[i], binary_op<C>(args.op, to_float(a[i]), to_float(b[r * b_ld + c])), args.mode);
    }
  }
}

// ---- scale, dropout ----

template <typename T>
void scale(const ScaleArgs& a) {
  using C = compute_t<T>;
  C alpha = static_cast<C>(a.alpha);
  if (a.alpha_device != nullptr) alpha *= static_cast<C>(*a.alpha_device);
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
#pragma omp parallel for num_threads(loom::num_threads()) if (a.n > loom::kParallelGrain)
  for (std::int64_t i = 0; i < a.n; ++i) store(y[i], alpha * C(to_float(x[i])), a.mode);
}

// Element i of dropout: x / (1 - p) where its uniform u = (word >> 8) 2^-24 (philox_uniform) is
// >= p, else 0.
template <typename T, typename C = compute_t<T>>
inline C kept_value(std::uint32_t word, T x, float p, C keep_prob) {
  const float u = static_cast<float>(word >> 8) * (1.0f / 16777216.0f);
  return u >= p ? C(to_float(x)) / keep_prob : C(0);
}

template <typename T>
void dropout(const DropoutArgs& a) {
  using C = compute_t<T>;
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  const C keep_prob = C(1) - static_cast<C>(a.p);
  // Element i uses stream number offset + i, which is word (offset + i) % 4 of Philox block
  // (offset + i) / 4. The loop walks chunks of whole blocks: each chunk's words come from one
  // philox_blocks_cpu call (eight blocks per AVX-512 pass), then its elements are kept or dropped.
  // u below is exactly philox_uniform(seed, offset + i), whoever computes the words.
  constexpr std::int64_t kChunkBlocks = 128;
  const std::uint64_t first = a.offset, last = a.offset + static_cast<std::uint64_t>(a.n);
  const std::int64_t block_begin = static_cast<std::int64_t>(first / 4);
  const std::int64_t block_end = static_cast<std::int64_t>((last + 3) / 4);
  const std::int64_t chunks = (block_end - block_begin + kChunkBlocks - 1) / kChunkBlocks;
  const bool simd = dropout_avx512_available();  // F32 and BF16: 16 elements per step, same bits
#pragma omp parallel for num_threads(loom::num_threads()) if (a.n > loom::kParallelGrain / 8)
  for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
    const std::int64_t block = block_begin + chunk * kChunkBlocks;
    const std::int64_t count = std::min(kChunkBlocks, block_end - block);
    std::uint32_t words[4 * kChunkBlocks];
    philox_blocks_cpu(a.seed, static_cast<std::uint64_t>(block), count, words);
    // The chunk's numbers, clipped to [first, last) (the ragged first and last blocks).
    const std::uint64_t number0 = static_cast<std::uint64_t>(block) * 4;
    const std::uint64_t begin = std::max(first, number0), end = std::min(last, number0 + 4 * count);
    const std::uint32_t* w = words + (begin - number0);
    const std::int64_t i0 = static_cast<std::int64_t>(begin - first), len = static_cast<std::int64_t>(end - begin);
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, BFloat16>) {
      if (simd) {
        dropout_span_avx512(w, x + i0, y + i0, len, a.p, keep_prob, a.dtype, a.mode);
        continue;
      }
    }
    if (a.mode == GradMode::Overwrite) {
      for (std::int64_t k = 0; k < len; ++k) y[i0 + k] = from_double<T>(kept_value(w[k], x[i0 + k], a.p, keep_prob));
    } else {
      for (std::int64_t k = 0; k < len; ++k) store(y[i0 + k], kept_value(w[k], x[i0 + k], a.p, keep_prob), a.mode);
    }
  }
}

// ---- cast ----

// dst (+)= convert(src). The arithmetic runs in the wider of the two types (double if either is
// F64), so accumulating an F32 gradient into an F64 buffer loses nothing. F64 -> F16/BF16 rounds
// through F32 (two roundings; the same as PyTorch, and F64 exists only for gradient checks).
template <typename S, typename D>
void cast(const CastArgs& a) {
  using W = std::conditional_t<std::is_same_v<S, double> || std::is_same_v<D, double>, double, float>;
  const S* src = static_cast<const S*>(a.src);
  D* dst = static_cast<D*>(a.dst);
  // F32 <-> BF16 overwrites (the autocast copies of weights and activations) take the 16-lane
  // loops of kernels/common/bf16_cpu.h: the same bits as the loop below, 3-4x faster.
  if constexpr (std::is_same_v<S, float> && std::is_same_v<D, BFloat16>) {
    if (a.mode == GradMode::Overwrite) return cpu::round_to_bf16(src, a.n, reinterpret_cast<std::uint16_t*>(dst));
  }
  if constexpr (std::is_same_v<S, BFloat16> && std::is_same_v<D, float>) {
    if (a.mode == GradMode::Overwrite) return cpu::widen_bf16(reinterpret_cast<const std::uint16_t*>(src), a.n, dst);
  }
#pragma omp parallel for num_threads(loom::num_threads()) if (a.n > loom::kParallelGrain)
  for (std::int64_t i = 0; i < a.n; ++i) {
    W v = static_cast<W>(to_float(src[i]));
    if (a.mode == GradMode::Accumulate) v += static_cast<W>(to_float(dst[i]));
    dst[i] = from_double<D>(v);
  }
}

// ---- copy_block ----

template <typename T>
void copy_block_accumulate(const CopyBlockArgs& a) {
  const T* src = static_cast<const T*>(a.src);
  T* dst = static_cast<T*>(a.dst);
#pragma omp parallel for num_threads(loom::num_threads()) if (a.rows * a.cols > loom::kParallelGrain)
  for (std::int64_t r = 0; r < a.rows; ++r) {
    const T* s = src + r * a.src_ld + a.src_col;
    T* d = dst + r * a.dst_ld + a.dst_col;
    for (std::int64_t c = 0; c < a.cols; ++c) store(d[c], compute_t<T>(to_float(s[c])), GradMode::Accumulate);
  }
}

}  // namespace

Cost unary_fwd_cost(const UnaryFwdArgs& a) {
  // Flops per element, counting exp and tanh as one each: sigmoid 3 (exp, add, divide),
  // tanh 1, relu 1 (the compare).
  const double per_element = a.op == UnaryOp::Sigmoid ? 3.0 : 1.0;
  const double n = static_cast<double>(a.n);
  Cost c;
  c.flops = per_element * n;
  c.bytes = 2.0 * n * static_cast<double>(dtype_size(a.dtype));  // read x, write y
  return c;
}

Cost binary_cost(const BinaryArgs& a) {
  const double elems = static_cast<double>(a.rows) * static_cast<double>(a.cols);
  const double b_elems = a.b_layout == Broadcast::Row ? static_cast<double>(a.cols) : elems;
  const bool acc = a.mode == GradMode::Accumulate;
  Cost c;
  c.flops = elems * (acc ? 2.0 : 1.0);  // the op, plus the add into y
  c.bytes = static_cast<double>(dtype_size(a.dtype)) * (elems + b_elems + elems * (acc ? 2.0 : 1.0));
  return c;
}

void unary_fwd_cpu(const UnaryFwdArgs& a) {
  with_float_type(a.dtype, "unary_fwd_cpu", [&](auto tag) { unary_fwd<decltype(tag)>(a); });
}

void unary_bwd_cpu(const UnaryBwdArgs& a) {
  with_float_type(a.dtype, "unary_bwd_cpu", [&](auto tag) { unary_bwd<decltype(tag)>(a); });
}

void binary_cpu(const BinaryArgs& a) {
  with_float_type(a.dtype, "binary_cpu", [&](auto tag) { binary<decltype(tag)>(a); });
}

void scale_cpu(const ScaleArgs& a) {
  with_float_type(a.dtype, "scale_cpu", [&](auto tag) { scale<decltype(tag)>(a); });
}

void dropout_cpu(const DropoutArgs& a) {
  with_float_type(a.dtype, "dropout_cpu", [&](auto tag) { dropout<decltype(tag)>(a); });
}

void cast_cpu(const CastArgs& a) {
  with_float_type(a.src_dtype, "cast_cpu (source)", [&](auto src_tag) {
    with_float_type(a.dst_dtype, "cast_cpu (destination)",
                    [&](auto dst_tag) { cast<decltype(src_tag), decltype(dst_tag)>(a); });
  });
}

void fill_cpu(const FillArgs& a) {
  if (a.dtype == DType::I32) {
    std::int32_t* y = static_cast<std::int32_t*>(a.y);
    const std::int32_t v = static_cast<std::int32_t>(a.value);
    for (std::int64_t i = 0; i < a.n; ++i) y[i] = v;
    return;
  }
  with_float_type(a.dtype, "fill_cpu", [&](auto tag) {
    using T = decltype(tag);
    T* y = static_cast<T*>(a.y);
    const T v = from_double<T>(a.value);  // rounded once, then copied
#pragma omp parallel for num_threads(loom::num_threads()) if (a.n > loom::kParallelGrain)
    for (std::int64_t i = 0; i < a.n; ++i) y[i] = v;
  });
}

void copy_block_cpu(const CopyBlockArgs& a) {
  if (a.mode == GradMode::Overwrite) {
    // A plain copy is the same bytes for every dtype: one memcpy per row.
    const std::size_t s = dtype_size(a.dtype);
    const char* src = static_cast<const char*>(a.src);
    char* dst = static_cast<char*>(a.dst);
#pragma omp parallel for num_threads(loom::num_threads()) if (a.rows * a.cols > loom::kParallelGrain)
    for (std::int64_t r = 0; r < a.rows; ++r)
      std::memcpy(dst + (r * a.dst_ld + a.dst_col) * s, src + (r * a.src_ld + a.src_col) * s,
                  static_cast<std::size_t>(a.cols) * s);
    return;
  }
  with_float_type(a.dtype, "copy_block_cpu (accumulate)", [&](auto tag) { copy_block_accumulate<decltype(tag)>(a); });
}

}  // namespace loom::kernels

// kernels/conv1d/textcnn_bwd_avx512.cc: the text-CNN block's sparse backward (dweight and dx) in
// AVX-512, with each output row summed in registers and stored once, for F32 and BF16 storage.
//
// What it computes is conv1d_cpu.cc's dweight_row / dx_row (the baseline build, read those first):
//   dweight[f, k, :] (+)= sum over b (increasing) of g[b, f] x[t*(b, f) + s_k, b, :]
//   dx[t, b, :]      (+)= sum over the winning windows of row b that read row t, in increasing
//                         column order, of g[b, col] weight[col's filter, k, :]
// Those loops add each term into memory (load, multiply, add, store per term). Here the loops are
// turned around so that one output row is finished at a time: dweight runs k outside b; dx first
// buckets row b's terms by the row t they land in (a stable counting sort, so each bucket keeps the
// column order), then sums each bucket. Every element still sees the same terms in the same order,
// added without fused multiply-add, so the bits are the baseline's (tests/kernels/
// test_conv1d_cpu_simd.cc compares them, F32 and BF16, Overwrite and Accumulate, every tail).
//
// Storage S of x, the weights and dx: float, or BFloat16 read and written in place: a bf16 row is
// widened in the registers (exact) and a dx row rounded once from its F32 sum on the way out, which
// is what widening every buffer, running the F32 rows and rounding dx gave, without the extra
// buffers and with half the bytes to read (these rows are bound by reading rows out of L2). pooled,
// dpooled and dweight are always F32 (the caller widens and rounds them: they are small).
//
// Columns go in passes of 128 (8 accumulators of 16 lanes), the last pass masked.
#include "kernels/conv1d/conv1d_cpu_common.h"

#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "kernels/common/bf16_lanes_avx512.h"

namespace loom::kernels::conv1d_cpu {

#ifdef LOOM_BF16_LANES

namespace {

using std::int64_t;

// No fused multiply-add (the baseline's a * b + c is two roundings): GCC needs fp-contract=off on
// every function the bodies are inlined into; Clang has no optimize attribute, hence the pragma.
#ifdef __clang__
#define LOOM_ROWS_FN __attribute__((target("avx512f,avx512bw,avx512vl")))
#define LOOM_ROWS_INLINE __attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) inline
#else
#define LOOM_ROWS_FN __attribute__((target("avx512f,avx512bw,avx512vl"), optimize("fp-contract=off")))
#define LOOM_ROWS_INLINE \
  __attribute__((target("avx512f,avx512bw,avx512vl"), optimize("fp-contract=off"), always_inline)) inline
#endif

constexpr int kVectors = 8;                 // accumulators per pass
constexpr int64_t kPassCols = 16 * kVectors;  // columns per pass

// Lane masks of one pass over n columns (0 < n <= kPassCols): vector j holds columns 16 j .. 16 j + 15.
struct PassMasks {
  __mmask16 m[kVectors];
};

PassMasks pass_masks(int64_t n) {
  PassMasks p;
  for (int j = 0; j < kVectors; ++j) {
    const int64_t lanes = n - 16 * j;
    p.m[j] = static_cast<__mmask16>(lanes >= 16 ? 0xffff : lanes > 0 ? (1u << lanes) - 1 : 0);
  }
  return p;
}

LOOM_ROWS_INLINE __m512 load16(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
LOOM_ROWS_INLINE __m512 load16(const BFloat16* p, __mmask16 m) {
  return cpu::widen16_from_bf16(_mm256_maskz_loadu_epi16(m, p));
}
LOOM_ROWS_INLINE void store16(float* p, __mmask16 m, __m512 v) { _mm512_mask_storeu_ps(p, m, v); }
LOOM_ROWS_INLINE void store16(BFloat16* p, __mmask16 m, __m512 v) {
  _mm256_mask_storeu_epi16(p, m, cpu::round16_to_bf16(v));
}

// One term of a sum: g times a row of the weights or of x (both of storage S).
struct Term {
  const void* row;
  float g;
};

// Columns [c0, c0 + 128) of one output row: acc = zeros, or the row's old value, then + g * row for
// each term in order; stored once.
template <typename Src, typename Dst>
LOOM_ROWS_INLINE void sum_pass(const Term* terms, int64_t n_terms, int64_t c0, const PassMasks& pm,
                               bool accumulate, Dst* out) {
#ifdef __clang__
#pragma clang fp contract(off)
#endif
  out += c0;
  __m512 acc[kVectors];
  for (int j = 0; j < kVectors; ++j) acc[j] = accumulate ? load16(out + 16 * j, pm.m[j]) : _mm512_setzero_ps();
  for (int64_t h = 0; h < n_terms; ++h) {
    const __m512 g = _mm512_set1_ps(terms[h].g);
    const Src* src = static_cast<const Src*>(terms[h].row) + c0;
    for (int j = 0; j < kVectors; ++j) acc[j] = _mm512_add_ps(acc[j], _mm512_mul_ps(g, load16(src + 16 * j, pm.m[j])));
  }
  for (int j = 0; j < kVectors; ++j) store16(out + 16 * j, pm.m[j], acc[j]);
}

// What a row body reads: F32 pooled and dpooled, the winners, and the layout.
struct Block {
  const TextCnnFwdArgs* fa;
  const float* pooled;
  const float* dpooled;
  const std::int32_t* argmax;
  int64_t SF;
  bool active(int64_t b, int64_t j) const { return pooled[b * SF + j] > 0.0f && argmax[b * SF + j] >= 0; }
  float grad(int64_t b, int64_t j) const { return dpooled[b * SF + j]; }  // where active (pooled > 0)
};

// dweight row f of width w (column off + f): per tap k, the sum over the winning batch rows.
// terms: scratch of at least B entries. (Filled by index: std::vector::push_back is not inlined
// into these target("avx512...") functions, and a call per term cost more than the term.)
template <typename S>
LOOM_ROWS_FN void dweight_rows(const Block& blk, const S* x, const Conv1dGeometry& g, int64_t off, int64_t f,
                               bool accumulate, float* dweight, Term* terms) {
  const int64_t T = g.T, B = g.B, Cin = g.C;
  for (int64_t k = 0; k < g.K; ++k) {
    int64_t n = 0;
    for (int64_t b = 0; b < B; ++b) {
      if (!blk.active(b, off + f)) continue;
      const int64_t t = blk.argmax[b * blk.SF + off + f] + k * g.dilation - g.pad_left;
      if (t < 0 || t >= T) continue;
      terms[n++] = {x + (t * B + b) * Cin, blk.grad(b, off + f)};
    }
    float* row = dweight + (f * g.K + k) * Cin;
    for (int64_t c0 = 0; c0 < Cin; c0 += kPassCols)
      sum_pass<S, float>(terms, n, c0, pass_masks(std::min(kPassCols, Cin - c0)), accumulate, row);
  }
}

// Row b of dx: the terms of every winning window (rows of the weights, of storage S), bucketed by
// the x row they add into. The scratch
// is sized once per call (max_terms = sum over widths of F K), then filled by index.
struct DxScratch {
  std::vector<Term> terms, sorted;    // in column order; bucketed by row t
  std::vector<int64_t> time;          // the row t of each term
  std::vector<int64_t> start, next;   // bucket t is sorted[start[t] .. start[t + 1])
  DxScratch(int64_t max_terms, int64_t T)
      : terms(static_cast<std::size_t>(max_terms)), sorted(terms.size()), time(terms.size()),
        start(static_cast<std::size_t>(T + 1)), next(static_cast<std::size_t>(T)) {}
};

template <typename S>
LOOM_ROWS_FN void dx_rows(const Block& blk, const S* const* weights, int64_t b, bool accumulate, S* dx,
                          DxScratch& s) {
  const TextCnnFwdArgs& fa = *blk.fa;
  const int64_t T = fa.T, B = fa.B, Cin = fa.C;
  Term* terms = s.terms.data();
  Term* sorted = s.sorted.data();
  int64_t* time = s.time.data();
  int64_t* start = s.start.data();
  int64_t* next = s.next.data();
  for (int64_t t = 0; t <= T; ++t) start[t] = 0;
  int64_t n = 0, col = 0;
  for (int w = 0; w < fa.num_widths; ++w) {
    const Conv1dGeometry g = width_geometry(fa, w);
    for (int64_t f = 0; f < g.F; ++f, ++col) {
      if (!blk.active(b, col)) continue;
      const float gv = blk.grad(b, col);
      const int64_t t_star = blk.argmax[b * blk.SF + col];
      for (int64_t k = 0; k < g.K; ++k) {
        const int64_t t = t_star + k * g.dilation - g.pad_left;
        if (t < 0 || t >= T) continue;
        terms[n] = {weights[w] + (f * g.K + k) * Cin, gv};
        time[n++] = t;
        ++start[t + 1];
      }
    }
  }
  for (int64_t t = 0; t < T; ++t) start[t + 1] += start[t];
  for (int64_t t = 0; t < T; ++t) next[t] = start[t];
  for (int64_t i = 0; i < n; ++i) sorted[next[time[i]]++] = terms[i];

  for (int64_t t = 0; t < T; ++t) {
    const int64_t begin = start[t], end = start[t + 1];
    if (accumulate && begin == end) continue;  // nothing to add: the old row stays as it is
    S* row = dx + (t * B + b) * Cin;
    for (int64_t c0 = 0; c0 < Cin; c0 += kPassCols)
      sum_pass<S, S>(sorted + begin, end - begin, c0, pass_masks(std::min(kPassCols, Cin - c0)), accumulate, row);
  }
}

template <typename S>
void backward_rows(const TextCnnBwdArgs& a) {
  const TextCnnFwdArgs& fa = a.fwd;
  const int64_t B = fa.B, Cin = fa.C, SF = total_filters(fa);
  const Block blk{&fa, static_cast<const float*>(fa.pooled), static_cast<const float*>(a.dpooled), fa.argmax, SF};
  const S* x = static_cast<const S*>(fa.x);
  const bool param_acc = a.param_mode == GradMode::Accumulate, input_acc = a.input_mode == GradMode::Accumulate;

  int64_t off = 0;
  for (int w = 0; w < fa.num_widths; ++w) {
    const Conv1dGeometry g = width_geometry(fa, w);
    float* dweight = static_cast<float*>(fa.widths[w].dweight);
    if (dweight != nullptr) {
#pragma omp parallel num_threads(loom::num_threads()) if (B * g.F * g.K * Cin > loom::kParallelGrain)
      {
        std::vector<Term> terms(static_cast<std::size_t>(B));
#pragma omp for
        for (int64_t f = 0; f < g.F; ++f) dweight_rows<S>(blk, x, g, off, f, param_acc, dweight, terms.data());
      }
    }
    off += g.F;
  }

  if (a.dx == nullptr) return;
  S* dx = static_cast<S*>(a.dx);
  const S* weights[kMaxTextCnnWidths];
  int64_t max_terms = 0;
  for (int w = 0; w < fa.num_widths; ++w) {
    weights[w] = static_cast<const S*>(fa.widths[w].weight);
    max_terms += fa.widths[w].F * fa.widths[w].K;
  }
#pragma omp parallel num_threads(loom::num_threads()) if (B * SF * Cin > loom::kParallelGrain)
  {
    DxScratch scratch(max_terms, fa.T);
#pragma omp for
    for (int64_t b = 0; b < B; ++b) dx_rows<S>(blk, weights, b, input_acc, dx, scratch);
  }
}

}  // namespace

bool textcnn_rows_avx512_available() {
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl");
  return yes;
}

void textcnn_bwd_rows_avx512(const TextCnnBwdArgs& a, DType storage) {
  LOOM_CHECK(textcnn_rows_avx512_available(), "textcnn_bwd_rows_avx512: this CPU lacks AVX-512F/BW/VL");
  LOOM_CHECK(storage == DType::F32 || storage == DType::BF16,
             "textcnn_bwd_rows_avx512: x and dx must be F32 or BF16, got ", dtype_name(storage));
  if (storage == DType::F32) return backward_rows<float>(a);
  backward_rows<BFloat16>(a);
}

#else  // not x86-64 GCC/Clang: the baseline rows only

bool textcnn_rows_avx512_available() { return false; }
void textcnn_bwd_rows_avx512(const TextCnnBwdArgs&, DType) {
  LOOM_CHECK(false, "textcnn_bwd_rows_avx512: not built for this target");
}

#endif

}  // namespace loom::kernels::conv1d_cpu

// kernels/embedding/embedding_cpu.cc: the CPU reference for the embedding lookup and its
// deterministic backward.
//
// Math. ids [n] index the rows of weight [V, E]:
//   forward   out[i, :] = weight[ids[i], :]
//   backward  dweight[v, :] (+)= sum over i with ids[i] == v of dout[i, :]
// The backward is a scatter-add: many ids may name the same row (a frequent word appears many
// times in a batch). Adding them with float atomics would make the sum's order, and so its bits,
// change run to run; here every row's sum runs in increasing i instead.
//
// Parallel map.
//   forward: ids are independent, so threads split the ids; each copies one row of E elements.
//            An id outside [0, V) (the front-end validates first; this is the last line of
//            defence) writes a zero row and is counted into *bad_ids.
//   backward: a bucket pass first (a stable counting sort of the positions i by id, O(n + V),
//            sequential) lists, for every vocabulary row v, the positions that hit it, in
//            increasing i. Then threads split the vocabulary rows: each row is owned by one
//            thread, which widens the old row (Accumulate) or starts at zero (Overwrite, which
//            also zeroes the rows no id touches), adds its positions' dout rows in order in
//            F32 (F64 for F64), and rounds once. No two threads write the same row, and the
//            thread count never changes an addition order. Accumulate (the trainer's case: its
//            fused zero_grad keeps the zeroed buffer) walks only the touched rows, and asks for
//            the rows it will sum a few rows ahead (prefetch): the table is scattered over
//            memory the optimizer has just streamed through, and without the hint each row
//            waited out a memory latency per cache line (`loom trace --kernels`, lstm-cnn,
//            2,048 ids: 290-298 -> 183-200 us; a cold-cache harness: 695 -> 96 us).
//
// Memory traffic at storage size s: forward reads 4 n (ids) + n E s and writes n E s.
// Backward reads 4 n + n E s, and writes V E s (Overwrite) or reads and writes only the touched
// rows (Accumulate); the bucket arrays add 4 (n + V + 1) bytes twice.
//
// Twin: kernels/embedding/embedding_cuda.cu (stable radix sort of (id, i), then one thread per
// (run, column)). Tests: tests/ops/test_ops_embedding.cc (repeated ids, both GradModes, every
// dtype, and thread-count independence).
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "kernels/common/cpu_types.h"
#include "kernels/embedding/embedding.h"

namespace loom::kernels {

using cpu::with_float_type;

namespace {

// Asks for the cache lines of `bytes` bytes at p ahead of their use (a hint: no effect on results;
// why the backward needs it: the opening comment).
inline void prefetch_row(const void* p, std::size_t bytes, bool for_write) {
  const char* c = static_cast<const char*>(p);
  for (std::size_t off = 0; off < bytes; off += 64) {
    if (for_write) __builtin_prefetch(c + off, 1);
    else __builtin_prefetch(c + off, 0);
  }
}

constexpr std::int64_t kPrefetchAhead = 4;  // rows ahead: enough to cover a memory latency

template <typename T>
void embedding_bwd(const EmbeddingBwdArgs& a) {
  using C = compute_t<T>;
  const T* dout = static_cast<const T*>(a.dout);
  T* dweight = static_cast<T*>(a.dweight);
  const std::size_t row_bytes = static_cast<std::size_t>(a.E) * sizeof(T);

  // Bucket pass: start[v] .. start[v + 1] in `order` are the positions i with ids[i] == v, in
  // increasing i (a stable counting sort). Ids outside [0, V) cannot be summed anywhere: skipped.
  std::vector<std::int64_t> start(static_cast<std::size_t>(a.V + 1), 0);
  for (std::int64_t i = 0; i < a.n; ++i) {
    const std::int32_t id = a.ids[i];
    if (id >= 0 && id < a.V) ++start[id + 1];
  }
  for (std::int64_t v = 0; v < a.V; ++v) start[v + 1] += start[v];
  std::vector<std::int64_t> order(static_cast<std::size_t>(start[a.V]));
  std::vector<std::int64_t> next(start.begin(), start.end() - 1);
  for (std::int64_t i = 0; i < a.n; ++i) {
    const std::int32_t id = a.ids[i];
    if (id >= 0 && id < a.V) order[next[id]++] = i;
  }
  // Accumulate only visits the rows some id touches (the rest keep their gradient): list them,
  // in increasing v, so each thread can prefetch the rows it will sum next.
  const bool sparse = a.mode == GradMode::Accumulate;
  std::vector<std::int64_t> touched;
  if (sparse)
    for (std::int64_t v = 0; v < a.V; ++v)
      if (start[v + 1] > start[v]) touched.push_back(v);
  const std::int64_t rows = sparse ? static_cast<std::int64_t>(touched.size()) : a.V;

#pragma omp parallel num_threads(loom::num_threads()) if (a.n * a.E + rows * a.E > loom::kParallelGrain)
  {
    std::vector<C> acc(static_cast<std::size_t>(a.E));  // one row of sums, per thread
    // Dynamic: word frequencies are skewed, so some rows cost far more than others. Who sums a
    // row never changes how it is summed.
#pragma omp for schedule(dynamic, 64)
    for (std::int64_t j = 0; j < rows; ++j) {
      const std::int64_t v = sparse ? touched[static_cast<std::size_t>(j)] : j;
      if (sparse && j + kPrefetchAhead < rows) {  // the row kPrefetchAhead ahead: its sum and its hits
        const std::int64_t ahead = touched[static_cast<std::size_t>(j + kPrefetchAhead)];
        prefetch_row(dweight + ahead * a.E, row_bytes, true);
        for (std::int64_t h = start[ahead]; h < start[ahead + 1]; ++h) prefetch_row(dout + order[h] * a.E, row_bytes, false);
      }
      const std::int64_t hits_begin = start[v], hits_end = start[v + 1];
      T* row = dweight + v * a.E;
      if (hits_begin == hits_end) {  // Overwrite only: a row no id touches is zero
        for (std::int64_t e = 0; e < a.E; ++e) row[e] = from_double<T>(C(0));
        continue;
      }
      for (std::int64_t e = 0; e < a.E; ++e) acc[e] = sparse ? C(to_float(row[e])) : C(0);
      for (std::int64_t h = hits_begin; h < hits_end; ++h) {
        const T* d = dout + order[h] * a.E;
        for (std::int64_t e = 0; e < a.E; ++e) acc[e] += to_float(d[e]);
      }
      for (std::int64_t e = 0; e < a.E; ++e) row[e] = from_double<T>(acc[e]);
    }
  }
}

}  // namespace

Cost embedding_fwd_cost(const EmbeddingFwdArgs& a) {
  const double n = static_cast<double>(a.n), E = static_cast<double>(a.E);
  const double s = static_cast<double>(dtype_size(a.dtype));
  Cost c;
  c.flops = 0;                                 // a gather: pure data movement
  c.bytes = 4.0 * n + 2.0 * n * E * s;         // ids, the rows read, the rows written
  return c;
}

void embedding_fwd_cpu(const EmbeddingFwdArgs& a) {
  LOOM_CHECK_SHAPE(a.dtype != DType::I32, "embedding_fwd_cpu: the weight must be a float dtype, got i32");
  const std::size_t row_bytes = static_cast<std::size_t>(a.E) * dtype_size(a.dtype);
  const char* weight = static_cast<const char*>(a.weight);
  char* out = static_cast<char*>(a.out);
  std::int64_t bad = 0;
  // A row copy is the same bytes for every dtype, so no per-type code is needed; an all-zero
  // bit pattern is +0 in F32, F64, F16 and BF16 alike.
#pragma omp parallel for num_threads(loom::num_threads()) if (a.n * a.E > loom::kParallelGrain) reduction(+ : bad)
  for (std::int64_t i = 0; i < a.n; ++i) {
    const std::int32_t id = a.ids[i];
    char* dst = out + static_cast<std::size_t>(i) * row_bytes;
    if (id < 0 || id >= a.V) {
      ++bad;
      std::memset(dst, 0, row_bytes);
    } else {
      std::memcpy(dst, weight + static_cast<std::size_t>(id) * row_bytes, row_bytes);
    }
  }
  if (a.bad_ids != nullptr) *a.bad_ids = static_cast<std::int32_t>(bad);
}

void embedding_bwd_cpu(const EmbeddingBwdArgs& a) {
  with_float_type(a.dtype, "embedding_bwd_cpu", [&](auto tag) { embedding_bwd<decltype(tag)>(a); });
}

}  // namespace loom::kernels

// tests/kernels/test_gemm_lowp_cpu.cc: the CPU BF16 GEMM (native oneDNN matmul and the widened
// emulation), and the CPU feature detection it is chosen by (core/cpu_features.h).
//
// Oracle: C = alpha * op(A) op(B) + beta * C0 in float64 on the bf16 VALUES the kernel sees, so the
// only differences left are the kernel's own roundings. The tolerance, per element:
//   S = sum_k |op(A)[i,k] op(B)[k,j]|. Each product of two bf16 values is exact in F32 (8 + 8
//   significand bits <= 24); any order of K - 1 F32 additions is off by at most (K - 1) u S with
//   u = 2^-24 (the summation-tree bound, depth <= K - 1), the alpha scaling and the beta add one u
//   each:  tol_f32 = (K + 2) u (|alpha| S + |beta C0|).
//   GemmOut::Storage then rounds C to bf16 once: + 2^-8 (|ref| + tol_f32) (bf16 keeps 8 significand
//   bits, so round-to-nearest is off by at most half an ulp = 2^-8 relative).
// Native and emulated are each held to that tolerance against the oracle, which bounds their
// difference by twice it.
// beta == 0 calls get a C full of NaN (C is write-only then); the padding columns of every strided C
// hold a sentinel that must survive (the GEMM writes [M, N] only).
// Native cases print "skipped:" and return on a CPU (or build) without native bf16.
#include <doctest/doctest.h>

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/parallel.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemm/gemm_provider.h"
#include "tests/support/values.h"

using namespace loom;
using namespace loom::kernels;
using std::int64_t;

namespace {

constexpr double kU32 = 1.0 / 16777216.0;  // 2^-24, F32 unit roundoff
constexpr double kUBf16 = 1.0 / 256.0;     // 2^-8, bf16 unit roundoff
const float kSentinel = 1536.0f;  // exact in bf16 (3 * 2^9), so a bf16 C holds it unchanged

struct Case {
  Transpose ta = Transpose::No, tb = Transpose::No;
  int64_t M = 1, N = 1, K = 1;
  int64_t pad = 0;  // extra columns in every stored row (lda, ldb, ldc = row length + pad)
  float alpha = 1.0f, beta = 0.0f;
  GemmOut out = GemmOut::F32;
};

std::string describe(const Case& c) {
  std::ostringstream os;
  os << "M " << c.M << " N " << c.N << " K " << c.K << " ta " << (c.ta == Transpose::Yes) << " tb "
     << (c.tb == Transpose::Yes) << " pad " << c.pad << " alpha " << c.alpha << " beta " << c.beta << " out "
     << (c.out == GemmOut::F32 ? "f32" : "bf16");
  return os.str();
}

// The operands of one case, stored as bf16 with their leading dimensions, plus C0.
struct Operands {
  int64_t lda, ldb, ldc;
  std::vector<BFloat16> A, B;
  std::vector<float> C0;  // C's initial values as floats (bf16-representable when out is Storage)
  double a(const Case& c, int64_t i, int64_t k) const {  // op(A)[i, k]
    return to_float(c.ta == Transpose::No ? A[static_cast<std::size_t>(i * lda + k)]
                                           : A[static_cast<std::size_t>(k * lda + i)]);
  }
  double b(const Case& c, int64_t k, int64_t j) const {  // op(B)[k, j]
    return to_float(c.tb == Transpose::No ? B[static_cast<std::size_t>(k * ldb + j)]
                                           : B[static_cast<std::size_t>(j * ldb + k)]);
  }
};

Operands make_operands(const Case& c, std::uint64_t seed) {
  Operands o;
  const int64_t a_rows = c.ta == Transpose::No ? c.M : c.K, a_cols = c.ta == Transpose::No ? c.K : c.M;
  const int64_t b_rows = c.tb == Transpose::No ? c.K : c.N, b_cols = c.tb == Transpose::No ? c.N : c.K;
  o.lda = a_cols + c.pad, o.ldb = b_cols + c.pad, o.ldc = c.N + c.pad;
  const std::vector<float> av = test::random_floats(a_rows * o.lda, seed, -2.0f, 2.0f);
  const std::vector<float> bv = test::random_floats(b_rows * o.ldb, seed + 1, -2.0f, 2.0f);
  for (float v : av) o.A.push_back(from_float<BFloat16>(v));
  for (float v : bv) o.B.push_back(from_float<BFloat16>(v));
  o.C0 = test::round_to(test::random_floats(c.M * o.ldc, seed + 2, -3.0f, 3.0f), DType::BF16);
  return o;
}

// Runs `gemm` on the case and checks every element against the float64 oracle (tolerance: the
// opening comment) and every padding column against the sentinel.
template <typename Gemm>
void check_case(const Case& c, std::uint64_t seed, Gemm gemm, const char* route) {
  const Operands o = make_operands(c, seed);
  const bool f32 = c.out == GemmOut::F32;
  std::vector<float> Cf(static_cast<std::size_t>(c.M * o.ldc));
  std::vector<BFloat16> Cb(Cf.size());
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < o.ldc; ++j) {
      const std::size_t at = static_cast<std::size_t>(i * o.ldc + j);
      const float v = j >= c.N ? kSentinel : c.beta == 0.0f ? std::numeric_limits<float>::quiet_NaN() : o.C0[at];
      Cf[at] = v;
      Cb[at] = from_float<BFloat16>(v);
    }
  GemmArgs g;
  g.trans_a = c.ta, g.trans_b = c.tb;
  g.M = c.M, g.N = c.N, g.K = c.K;
  g.alpha = c.alpha, g.beta = c.beta;
  g.dtype = DType::BF16, g.out = c.out;
  g.A = o.A.data(), g.lda = o.lda, g.B = o.B.data(), g.ldb = o.ldb, g.ldc = o.ldc;
  g.C = f32 ? static_cast<void*>(Cf.data()) : static_cast<void*>(Cb.data());
  gemm(g);
  int bad = 0;
  double worst = 0;
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < o.ldc; ++j) {
      const std::size_t at = static_cast<std::size_t>(i * o.ldc + j);
      const double got = f32 ? Cf[at] : to_float(Cb[at]);
      if (j >= c.N) {  // padding: never written
        bad += got != kSentinel;
        continue;
      }
      double ref = 0, S = 0;
      for (int64_t k = 0; k < c.K; ++k) {
        const double p = o.a(c, i, k) * o.b(c, k, j);
        ref += p, S += std::fabs(p);
      }
      const double c0 = c.beta == 0.0f ? 0.0 : o.C0[at];
      ref = c.alpha * ref + c.beta * c0;
      double tol = (static_cast<double>(c.K) + 2) * kU32 * (std::fabs(c.alpha) * S + std::fabs(c.beta * c0));
      if (!f32) tol += kUBf16 * (std::fabs(ref) + tol);
      const double err = std::fabs(got - ref);
      if (!(err <= tol)) ++bad;  // NaN fails
      if (tol > 0) worst = std::max(worst, err / tol);
    }
  INFO(std::string(route) << ": " << describe(c) << ", worst error / tolerance " << worst);
  CHECK(bad == 0);
}

std::vector<Case> sweep() {
  std::vector<Case> cases;
  const float ab[][2] = {{1.0f, 0.0f}, {0.5f, 0.0f}, {1.0f, 1.0f}, {-1.5f, 0.75f}};
  for (Transpose ta : {Transpose::No, Transpose::Yes})
    for (Transpose tb : {Transpose::No, Transpose::Yes})
      for (GemmOut out : {GemmOut::F32, GemmOut::Storage})
        for (const auto& p : ab)
          for (int64_t pad : {int64_t{0}, int64_t{3}}) {
            Case c;
            c.ta = ta, c.tb = tb, c.out = out, c.alpha = p[0], c.beta = p[1], c.pad = pad;
            c.M = 37, c.N = 29, c.K = 83;  // multiples of nothing: every kernel edge is hit
            cases.push_back(c);
          }
  return cases;
}

bool native_available() {
  if (decide_cpu_bf16("").native) return true;
  MESSAGE("skipped: no native CPU bf16 here (" << decide_cpu_bf16("").why << ")");
  return false;
}

}  // namespace

TEST_CASE("cpu features: agree with /proc/cpuinfo") {
  const CpuFeatures& f = cpu_features();
  MESSAGE("cpu: " << cpu_features_line());
  std::ifstream in("/proc/cpuinfo");
  std::string line, flags;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) {
      flags = line.substr(line.find(':') + 1) + " ";
      break;
    }
  if (flags.empty()) {
    MESSAGE("skipped: no flags line in /proc/cpuinfo to compare with");
    return;
  }
  auto has = [&](const char* flag) { return flags.find(std::string(" ") + flag + " ") != std::string::npos; };
  // The kernel lists a flag only when the CPU has it and the kernel enabled its state, the same
  // two conditions cpu_features() checks with CPUID and XGETBV.
  CHECK(f.x86);
  CHECK(f.avx2 == has("avx2"));
  CHECK(f.avx512f == has("avx512f"));
  CHECK(f.avx512_bf16 == has("avx512_bf16"));
  CHECK(f.avx512_fp16 == has("avx512_fp16"));
  CHECK(f.amx_tile == has("amx_tile"));
  CHECK(f.amx_bf16 == has("amx_bf16"));
  CHECK(&cpu_features() == &f);  // detected once
}

TEST_CASE("bf16 gemm: the native / emulated decision and LOOM_CPU_BF16") {
  const CpuFeatures& f = cpu_features();
  const bool can = kernels::detail::cpu_gemm_compiled(kernels::detail::CpuGemm::OneDnn) && (f.avx512_bf16 || f.amx_bf16);
  for (const char* automatic : {"", "auto"}) {
    const CpuBf16Route c = decide_cpu_bf16(automatic);
    CHECK(c.native == can);
    CHECK(c.error.empty());
    CHECK(c.why.empty() == can);
  }
  const CpuBf16Route emulate = decide_cpu_bf16("emulate");
  CHECK(!emulate.native);
  CHECK(emulate.why == "LOOM_CPU_BF16=emulate");
  const CpuBf16Route native = decide_cpu_bf16("native");
  CHECK(native.native == can);
  if (!can) CHECK(native.error.find("LOOM_CPU_BF16=native, but this") != std::string::npos);  // names what is missing
  const CpuBf16Route bogus = decide_cpu_bf16("fast");
  CHECK(bogus.error.find("auto, native, emulate") != std::string::npos);
  // The process's own choice (LOOM_CPU_BF16 is unset under ctest) and the doctor's line.
  const std::string line = cpu_bf16_gemm_provider();
  MESSAGE("cpu bf16 gemm: " << line);
  if (std::getenv("LOOM_CPU_BF16") == nullptr) {
    CHECK(cpu_bf16_native() == can);
    CHECK(line.find(can ? "native" : "emulated through F32: ") != std::string::npos);
  }
}

TEST_CASE("bf16 gemm: emulated (widened) route vs the float64 oracle, every transpose, alpha, beta, ld") {
  std::uint64_t seed = 100;
  for (const Case& c : sweep()) check_case(c, seed++, kernels::detail::gemm_lowp_widened, "emulated");
}

TEST_CASE("bf16 gemm: native oneDNN matmul vs the float64 oracle, every transpose, alpha, beta, ld") {
  if (!native_available()) return;
  std::uint64_t seed = 100;  // the same operands as the emulated case above
  for (const Case& c : sweep()) check_case(c, seed++, kernels::detail::onednn_bf16_gemm, "native");
  // Shapes of the real callers: an LSTM step (x W^T, gates F32), the conv1d weight gradient
  // (dY^T X into a strided slice, accumulating) and its dbias (a ones row against dY).
  Case lstm;
  lstm.M = 64, lstm.N = 512, lstm.K = 256, lstm.tb = Transpose::Yes;
  check_case(lstm, 7, kernels::detail::onednn_bf16_gemm, "native");
  Case dw;
  dw.ta = Transpose::Yes, dw.M = 100, dw.N = 128, dw.K = 640, dw.pad = 256, dw.beta = 1.0f;
  check_case(dw, 8, kernels::detail::onednn_bf16_gemm, "native");
  Case dbias;
  dbias.M = 1, dbias.N = 100, dbias.K = 3072;
  check_case(dbias, 9, kernels::detail::onednn_bf16_gemm, "native");
  // And gemm_cpu itself takes the native route (the process's choice) with the same results.
  if (cpu_bf16_native())
    for (const Case& c : sweep()) check_case(c, 300, gemm_cpu, "gemm_cpu");
}

TEST_CASE("bf16 gemm: oneDNN never falls back to its reference kernel on these layouts") {
  if (!native_available()) return;
  for (const Case& c : sweep()) {
    const Operands o = make_operands(c, 1);
    GemmArgs g;
    g.trans_a = c.ta, g.trans_b = c.tb, g.M = c.M, g.N = c.N, g.K = c.K, g.alpha = c.alpha, g.beta = c.beta;
    g.dtype = DType::BF16, g.out = c.out, g.lda = o.lda, g.ldb = o.ldb, g.ldc = o.ldc;
    const std::string kernel = kernels::detail::onednn_bf16_kernel(g);
    INFO(describe(c) << ": " << kernel);
    CHECK(kernel.find("ref") == std::string::npos);
    CHECK(kernel.find("none") == std::string::npos);
  }
}

TEST_CASE("bf16 gemm: K == 0 and empty M / N through gemm_cpu") {
  for (GemmOut out : {GemmOut::F32, GemmOut::Storage}) {
    std::vector<float> Cf(6, std::numeric_limits<float>::quiet_NaN());
    std::vector<BFloat16> Cb(6, from_float<BFloat16>(std::numeric_limits<float>::quiet_NaN()));
    GemmArgs g;
    g.M = 2, g.N = 3, g.K = 0, g.dtype = DType::BF16, g.out = out, g.lda = 1, g.ldb = 3, g.ldc = 3;
    const BFloat16 dummy{};
    g.A = &dummy, g.B = &dummy;
    g.C = out == GemmOut::F32 ? static_cast<void*>(Cf.data()) : static_cast<void*>(Cb.data());
    gemm_cpu(g);  // beta 0, an empty sum: exact zeros, the NaN gone
    for (int i = 0; i < 6; ++i) CHECK((out == GemmOut::F32 ? Cf[i] : to_float(Cb[i])) == 0.0f);
    for (int i = 0; i < 6; ++i) Cf[i] = 2.0f, Cb[i] = from_float<BFloat16>(2.0f);
    g.beta = 0.5f;
    gemm_cpu(g);  // C = beta C
    for (int i = 0; i < 6; ++i) CHECK((out == GemmOut::F32 ? Cf[i] : to_float(Cb[i])) == 1.0f);
    g.K = 4, g.M = 0;  // nothing to write: C untouched, A / B never read
    g.A = nullptr, g.B = nullptr;
    gemm_cpu(g);
    g.M = 2, g.N = 0;
    gemm_cpu(g);
    for (int i = 0; i < 6; ++i) CHECK((out == GemmOut::F32 ? Cf[i] : to_float(Cb[i])) == 1.0f);
  }
}

// The LSTM calls its per-step GEMMs from inside an OpenMP parallel region, one per thread. oneDNN's
// OpenMP runtime must then run each call on its calling thread (its parallel() checks
// omp_in_parallel(); libgomp also disables nesting by default). Correctness: two threads each run
// a different GEMM at once, each checked against the oracle (a partition of one call's work that
// assumed a team would leave rows unwritten = NaN). Timing: one thread runs a GEMM while the other
// waits at a barrier; it should take the one-thread time, not the two-thread time (reported).
TEST_CASE("bf16 gemm: native inside an OpenMP parallel region runs on the calling thread") {
  if (!native_available()) return;
  std::vector<Case> per_thread(2);
  per_thread[0].M = 256, per_thread[0].N = 192, per_thread[0].K = 128, per_thread[0].tb = Transpose::Yes;
  per_thread[1].M = 160, per_thread[1].N = 256, per_thread[1].K = 96, per_thread[1].out = GemmOut::Storage;
  per_thread[1].beta = 1.0f, per_thread[1].pad = 5;
  int team = 0;
#pragma omp parallel num_threads(2)
  {
#pragma omp single
    team = omp_get_num_threads();
  }
  if (team < 2) {
    MESSAGE("skipped: OpenMP gave a team of " << team << " thread(s)");
    return;
  }
  // Run both GEMMs concurrently into private outputs, then check them with the oracle serially.
  std::vector<std::vector<float>> outs(2);
  std::vector<Operands> ops{make_operands(per_thread[0], 40), make_operands(per_thread[1], 41)};
  std::vector<std::vector<BFloat16>> outs_b(2);
  for (int t = 0; t < 2; ++t) {
    const Case& c = per_thread[static_cast<std::size_t>(t)];
    const Operands& o = ops[static_cast<std::size_t>(t)];
    outs[t] = o.C0;  // beta == 0: NaN, which must not survive
    if (c.beta == 0.0f) std::fill(outs[t].begin(), outs[t].end(), std::numeric_limits<float>::quiet_NaN());
    outs_b[t].resize(outs[t].size());
    for (std::size_t i = 0; i < outs[t].size(); ++i) outs_b[t][i] = from_float<BFloat16>(outs[t][i]);
  }
  int in_parallel[2] = {0, 0};
#pragma omp parallel num_threads(2)
  {
    const int t = omp_get_thread_num();
    const Case& c = per_thread[static_cast<std::size_t>(t)];
    const Operands& o = ops[static_cast<std::size_t>(t)];
    in_parallel[t] = omp_in_parallel();
    GemmArgs g;
    g.trans_a = c.ta, g.trans_b = c.tb, g.M = c.M, g.N = c.N, g.K = c.K, g.alpha = c.alpha, g.beta = c.beta;
    g.dtype = DType::BF16, g.out = c.out;
    g.A = o.A.data(), g.lda = o.lda, g.B = o.B.data(), g.ldb = o.ldb, g.ldc = o.ldc;
    g.C = c.out == GemmOut::F32 ? static_cast<void*>(outs[t].data()) : static_cast<void*>(outs_b[t].data());
    kernels::detail::onednn_bf16_gemm(g);
  }
  CHECK(in_parallel[0] == 1);
  CHECK(in_parallel[1] == 1);
  // The oracle check, replaying each thread's result through check_case's comparison.
  for (int t = 0; t < 2; ++t) {
    const Case& c = per_thread[static_cast<std::size_t>(t)];
    check_case(c, 40 + static_cast<std::uint64_t>(t), [&](const GemmArgs& g) {
      // Hand check_case the result computed inside the region (same operands: same seed).
      const std::size_t n = outs[t].size();
      if (c.out == GemmOut::F32) {
        float* C = static_cast<float*>(g.C);
        for (std::size_t i = 0; i < n; ++i)
          if (static_cast<int64_t>(i) % ops[t].ldc < c.N) C[i] = outs[t][i];
      } else {
        BFloat16* C = static_cast<BFloat16*>(g.C);
        for (std::size_t i = 0; i < n; ++i)
          if (static_cast<int64_t>(i) % ops[t].ldc < c.N) C[i] = outs_b[t][i];
      }
    }, "native in a parallel region");
  }

  // Timing (reported, not asserted: this machine is shared and noisy).
  Case big;
  big.M = 1024, big.N = 1024, big.K = 128, big.tb = Transpose::Yes;
  const Operands o = make_operands(big, 50);
  std::vector<float> C(static_cast<std::size_t>(big.M * o.ldc));
  GemmArgs g;
  g.trans_b = big.tb, g.M = big.M, g.N = big.N, g.K = big.K, g.dtype = DType::BF16, g.out = GemmOut::F32;
  g.A = o.A.data(), g.lda = o.lda, g.B = o.B.data(), g.ldb = o.ldb, g.C = C.data(), g.ldc = o.ldc;
  auto median_us = [&](auto run) {
    std::vector<double> t;
    for (int r = 0; r < 15; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      run();
      t.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  };
  const int saved = loom::num_threads();
  loom::set_num_threads(1);
  kernels::detail::onednn_bf16_gemm(g);
  const double one = median_us([&] { kernels::detail::onednn_bf16_gemm(g); });
  loom::set_num_threads(2);
  kernels::detail::onednn_bf16_gemm(g);
  const double two = median_us([&] { kernels::detail::onednn_bf16_gemm(g); });
  const double inside = median_us([&] {
#pragma omp parallel num_threads(2)
    {
      if (omp_get_thread_num() == 0) kernels::detail::onednn_bf16_gemm(g);
    }
  });
  loom::set_num_threads(saved);
  MESSAGE("bf16 M1024 N1024 K128 median of 15: 1 thread " << one << " us, 2 threads " << two
          << " us, inside a 2-thread region (the other thread idle) " << inside << " us");
}

// The per-thread primitive cache (kernels/gemm/gemm_onednn.cc) must change nothing: a cached call
// executes the primitive an uncached call builds, so the bits must be equal, for every shape, on
// repeated and alternating calls (a stale entry re-pointed at the wrong buffers, or a key missing a
// field, would give different bits or touch the wrong memory), outside and inside a parallel region.
TEST_CASE("bf16 gemm: the cached primitive gives the uncached call's bits, shapes alternating") {
  if (!native_available()) return;
  std::vector<Case> cases(4);
  cases[0].M = 32, cases[0].N = 512, cases[0].K = 128, cases[0].tb = Transpose::Yes;  // LSTM step
  cases[1].M = 32, cases[1].N = 128, cases[1].K = 512, cases[1].beta = 1.0f;          // its dh
  cases[2] = cases[0], cases[2].alpha = 0.5f, cases[2].out = GemmOut::Storage;       // same dims, other key
  cases[3].ta = Transpose::Yes, cases[3].M = 100, cases[3].N = 128, cases[3].K = 64, cases[3].pad = 8;
  std::vector<Operands> ops;
  for (std::size_t i = 0; i < cases.size(); ++i) ops.push_back(make_operands(cases[i], 500 + i));
  // One call into a fresh copy of C0 (bf16 C: C0 is bf16-valued, so the copy is exact).
  auto run = [&](std::size_t i, void (*gemm)(const GemmArgs&)) {
    const Case& c = cases[i];
    const Operands& o = ops[i];
    std::vector<float> Cf = o.C0;
    std::vector<BFloat16> Cb(Cf.size());
    for (std::size_t k = 0; k < Cf.size(); ++k) Cb[k] = from_float<BFloat16>(Cf[k]);
    GemmArgs g;
    g.trans_a = c.ta, g.trans_b = c.tb, g.M = c.M, g.N = c.N, g.K = c.K, g.alpha = c.alpha, g.beta = c.beta;
    g.dtype = DType::BF16, g.out = c.out;
    g.A = o.A.data(), g.lda = o.lda, g.B = o.B.data(), g.ldb = o.ldb, g.ldc = o.ldc;
    g.C = c.out == GemmOut::F32 ? static_cast<void*>(Cf.data()) : static_cast<void*>(Cb.data());
    gemm(g);
    std::vector<std::uint32_t> bits(Cf.size());
    for (std::size_t k = 0; k < Cf.size(); ++k) {
      const float v = c.out == GemmOut::F32 ? Cf[k] : to_float(Cb[k]);
      std::memcpy(&bits[k], &v, sizeof v);
    }
    return bits;
  };
  const int saved = loom::num_threads();
  for (int threads : {1, 2}) {
    loom::set_num_threads(threads);
    std::vector<std::vector<std::uint32_t>> want;
    for (std::size_t i = 0; i < cases.size(); ++i) want.push_back(run(i, kernels::detail::onednn_bf16_gemm_uncached));
    for (int round = 0; round < 3; ++round)
      for (std::size_t i = 0; i < cases.size(); ++i) {
        CAPTURE(threads);
        CAPTURE(round);
        INFO(describe(cases[i]));
        CHECK(run(i, kernels::detail::onednn_bf16_gemm) == want[i]);
      }
  }
  loom::set_num_threads(saved);
  // Inside a parallel region each thread has its own cache (and oneDNN plans for one thread).
  std::vector<std::vector<std::uint32_t>> want;
  {
#pragma omp parallel num_threads(1)
    for (std::size_t i = 0; i < cases.size(); ++i) want.push_back(run(i, kernels::detail::onednn_bf16_gemm_uncached));
  }
  std::vector<int> mismatches(2, 0);
#pragma omp parallel num_threads(2)
  {
    const int t = omp_get_thread_num();
    for (int round = 0; round < 3; ++round)
      for (std::size_t k = 0; k < cases.size(); ++k) {
        const std::size_t i = (k + static_cast<std::size_t>(t)) % cases.size();  // threads on different shapes
        if (run(i, kernels::detail::onednn_bf16_gemm) != want[i]) ++mismatches[static_cast<std::size_t>(t)];
      }
  }
  CHECK(mismatches[0] == 0);
  CHECK(mismatches[1] == 0);
}

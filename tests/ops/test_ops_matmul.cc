// tests/ops/test_ops_matmul.cc: matmul and linear (nn.Linear layout: y = x W^T + b).
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ops/matmul.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemm/gemm_provider.h"
#include "tests/support/backends.h"
#include "tests/support/compare.h"
#include "tests/support/devices.h"
#include "tests/support/errors.h"
#include "tests/support/gradcheck.h"
#include "tests/support/values.h"

using namespace loom;
using namespace loom::test;

namespace {

// C[m, n] = sum_k A[m, k] B[k, n], the textbook triple loop in double.
std::vector<double> naive_matmul(const std::vector<double>& a, const std::vector<double>& b, std::int64_t M,
                                 std::int64_t K, std::int64_t N) {
  std::vector<double> c(static_cast<std::size_t>(M * N), 0.0);
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (std::int64_t k = 0; k < K; ++k) s += a[static_cast<std::size_t>(m * K + k)] * b[static_cast<std::size_t>(k * N + n)];
      c[static_cast<std::size_t>(m * N + n)] = s;
    }
  return c;
}

// y[r, o] = sum_i x[r, i] W[o, i] + bias[o].
std::vector<double> naive_linear(const std::vector<double>& x, const std::vector<double>& w,
                                 const std::vector<double>& bias, std::int64_t R, std::int64_t in,
                                 std::int64_t out) {
  std::vector<double> y(static_cast<std::size_t>(R * out));
  for (std::int64_t r = 0; r < R; ++r)
    for (std::int64_t o = 0; o < out; ++o) {
      double s = bias.empty() ? 0.0 : bias[static_cast<std::size_t>(o)];
      for (std::int64_t i = 0; i < in; ++i) s += x[static_cast<std::size_t>(r * in + i)] * w[static_cast<std::size_t>(o * in + i)];
      y[static_cast<std::size_t>(r * out + o)] = s;
    }
  return y;
}

Tensor f32(const std::vector<double>& v, const Shape& s) {
  return Tensor::from_vector(std::vector<float>(v.begin(), v.end()), s);
}

}  // namespace

TEST_CASE("matmul: F64 gradcheck") {
  auto f = [](const std::vector<Tensor>& in) { return ops::matmul(in[0], in[1]); };
  gradcheck(f, {f64_random({3, 4}, 1), f64_random({4, 5}, 2)}, "matmul [3,4]x[4,5]");
  gradcheck(f, {f64_random({1, 7}, 3), f64_random({7, 1}, 4)}, "matmul [1,7]x[7,1]");
}

TEST_CASE("matmul: forward against the triple loop") {
  // Odd sizes (no multiple of a SIMD width or block size) and one big enough to be threaded.
  const std::vector<std::array<std::int64_t, 3>> sizes = {{3, 4, 5}, {67, 129, 33}, {1, 300, 1}, {256, 96, 200}};
  for (const auto& size : sizes) {
    const std::int64_t M = size[0], K = size[1], N = size[2];
    INFO("M ", M, " K ", K, " N ", N);
    const std::vector<double> a = random_values(M * K, 5, -1, 1), b = random_values(K * N, 6, -1, 1);
    const std::vector<double> expected = naive_matmul(a, b, M, K, N);
    const Tensor c = ops::matmul(f64(a, {M, K}), f64(b, {K, N}));
    CHECK(c.shape() == Shape{M, N});
    check_close(c.to_vector_f64(), expected, Tolerance{1e-12, 1e-12}, "f64 matmul");
    check_close(ops::matmul(f32(a, {M, K}), f32(b, {K, N})).to_vector(), expected, DType::F32, "f32 matmul");
  }
}

TEST_CASE("matmul: shape errors name the op and both shapes") {
  CHECK_SHAPE_ERROR([] { ops::matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})); }, "matmul", "[2, 3]", "[4, 5]");
  CHECK_SHAPE_ERROR([] { ops::matmul(Tensor::zeros({2, 3, 4}), Tensor::zeros({4, 5})); }, "matmul", "[2, 3, 4]");
  CHECK_SHAPE_ERROR([] { ops::matmul(Tensor::zeros({3}), Tensor::zeros({3, 5})); }, "matmul", "[3]");
  CHECK_SHAPE_ERROR([] { ops::matmul(Tensor::zeros({2, 3}), Tensor::zeros({3, 5}, DType::F64)); }, "matmul", "f32", "f64");
}

TEST_CASE("linear: F64 gradcheck of x and weight and bias") {
  auto with_bias = [](const std::vector<Tensor>& in) { return ops::linear(in[0], in[1], in[2]); };
  auto no_bias = [](const std::vector<Tensor>& in) { return ops::linear(in[0], in[1]); };
  gradcheck(with_bias, {f64_random({3, 4}, 7), f64_random({5, 4}, 8), f64_random({5}, 9)}, "linear");
  gradcheck(no_bias, {f64_random({3, 4}, 10), f64_random({5, 4}, 11)}, "linear without bias");
  // [T, B, C] input: the leading dimensions are flattened into rows.
  gradcheck(with_bias, {f64_random({2, 3, 4}, 12), f64_random({5, 4}, 13), f64_random({5}, 14)}, "linear 3-D");
}

TEST_CASE("linear: forward against the loop") {
  const std::int64_t T = 3, B = 7, C = 19, O = 11;
  const std::vector<double> x = random_values(T * B * C, 15, -1, 1), w = random_values(O * C, 16, -1, 1),
                            b = random_values(O, 17, -1, 1);
  const Tensor y = ops::linear(f64(x, {T, B, C}), f64(w, {O, C}), f64(b, {O}));
  CHECK(y.shape() == Shape{T, B, O});
  check_close(y.to_vector_f64(), naive_linear(x, w, b, T * B, C, O), Tolerance{1e-12, 1e-12}, "linear f64");
  check_close(ops::linear(f64(x, {T * B, C}), f64(w, {O, C})).to_vector_f64(), naive_linear(x, w, {}, T * B, C, O),
              Tolerance{1e-12, 1e-12}, "linear f64 no bias");
  check_close(ops::linear(f32(x, {T, B, C}), f32(w, {O, C}), f32(b, {O})).to_vector(),
              naive_linear(x, w, b, T * B, C, O), DType::F32, "linear f32");
}

TEST_CASE("linear: shape errors name the op and the shapes") {
  const Tensor x = Tensor::zeros({2, 3});
  CHECK_SHAPE_ERROR([&] { ops::linear(x, Tensor::zeros({4, 5})); }, "linear", "[2, 3]", "[4, 5]");
  CHECK_SHAPE_ERROR([&] { ops::linear(x, Tensor::zeros({4, 3}), Tensor::zeros({5})); }, "linear", "[5]");
  CHECK_SHAPE_ERROR([&] { ops::linear(x, Tensor::zeros({3})); }, "linear", "[3]");
}

TEST_CASE("matmul and linear: CPU half storage matches F32") {
  auto mm = [](const std::vector<Tensor>& in) { return ops::matmul(in[0], in[1]); };
  compare_cpu_half_storage(mm, {diff_input({9, 16}, 18), diff_input({16, 7}, 19)}, "matmul");
  auto lin = [](const std::vector<Tensor>& in) { return ops::linear(in[0], in[1], in[2]); };
  compare_cpu_half_storage(lin, {diff_input({2, 5, 16}, 20), diff_input({6, 16}, 21), diff_input({6}, 22)}, "linear");
}

TEST_CASE("gemm: cost is 2MNK flops and one pass over A and B and C") {
  kernels::GemmArgs args;
  args.M = 8;
  args.N = 16;
  args.K = 32;
  args.dtype = DType::F16;
  const kernels::Cost c0 = kernels::gemm_cost(args);  // beta 0: C is only written
  CHECK(c0.flops == 2.0 * 8 * 16 * 32);
  CHECK(c0.bytes == 2.0 * (8 * 32 + 32 * 16 + 8 * 16));
  args.beta = 1.0f;  // C is read and written
  CHECK(kernels::gemm_cost(args).bytes == 2.0 * (8 * 32 + 32 * 16 + 2 * 8 * 16));
  CHECK_FALSE(kernels::cpu_gemm_provider().empty());
}

// Every provider compiled into this build (oneDNN, OpenBLAS, the portable loops) against a plain
// triple loop in double: all four transposes, odd sizes, padded leading dimensions, alpha/beta,
// and beta == 0 over a C full of NaN (which must not leak into the result).
TEST_CASE("gemm: every compiled CPU provider matches a reference loop") {
  using kernels::Transpose;
  using kernels::detail::CpuGemm;
  CHECK(kernels::detail::cpu_gemm_compiled(CpuGemm::Portable));
  CHECK(kernels::detail::cpu_gemm_compiled(kernels::detail::active_cpu_gemm()));
  const std::int64_t M = 37, N = 29, K = 53, pad = 3;
  int checked = 0;
  for (CpuGemm provider : {CpuGemm::OneDnn, CpuGemm::OpenBlas, CpuGemm::Portable}) {
    if (!kernels::detail::cpu_gemm_compiled(provider)) continue;
    for (Transpose ta : {Transpose::No, Transpose::Yes})
      for (Transpose tb : {Transpose::No, Transpose::Yes})
        for (float beta : {0.0f, 0.5f}) {
          const std::int64_t a_rows = ta == Transpose::No ? M : K, a_cols = ta == Transpose::No ? K : M;
          const std::int64_t b_rows = tb == Transpose::No ? K : N, b_cols = tb == Transpose::No ? N : K;
          const std::int64_t lda = a_cols + pad, ldb = b_cols + pad, ldc = N + pad;
          const std::vector<float> A = Tensor::uniform({a_rows * lda}, -1, 1, 71).to_vector();
          const std::vector<float> B = Tensor::uniform({b_rows * ldb}, -1, 1, 72).to_vector();
          const std::vector<float> C0 = Tensor::uniform({M * ldc}, -1, 1, 73).to_vector();
          std::vector<float> C = C0;
          if (beta == 0.0f) std::fill(C.begin(), C.end(), std::numeric_limits<float>::quiet_NaN());
          const float alpha = 1.5f;
          switch (provider) {
            case CpuGemm::OneDnn:
              kernels::detail::onednn_sgemm(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
              break;
            case CpuGemm::OpenBlas:
              kernels::detail::openblas_sgemm(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
              break;
            case CpuGemm::Portable:
              kernels::detail::portable_sgemm(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
              break;
          }
          double worst = 0;
          for (std::int64_t i = 0; i < M; ++i)
            for (std::int64_t j = 0; j < N; ++j) {
              double ref = beta * static_cast<double>(C0[i * ldc + j]);
              for (std::int64_t k = 0; k < K; ++k) {
                const double a = ta == Transpose::No ? A[i * lda + k] : A[k * lda + i];
                const double b = tb == Transpose::No ? B[k * ldb + j] : B[j * ldb + k];
                ref += alpha * a * b;
              }
              const double got = C[i * ldc + j];
              worst = std::isnan(got) ? INFINITY : std::max(worst, std::abs(got - ref));
            }
          INFO(kernels::detail::cpu_gemm_name(provider), " trans_a ", int(ta == Transpose::Yes), " trans_b ",
               int(tb == Transpose::Yes), " beta ", beta);
          CHECK(worst < 1e-4);  // K = 53 products of |x| <= 1.5 summed in F32
          ++checked;
        }
  }
  CHECK(checked >= 8);
}

TEST_SUITE("cuda") {
  TEST_CASE("matmul: CUDA (cuBLAS) matches CPU") {
    LOOM_REQUIRE_CUDA_DEVICE();
    auto mm = [](const std::vector<Tensor>& in) { return ops::matmul(in[0], in[1]); };
    compare_cuda_with_cpu(mm, {diff_input({33, 64}, 23), diff_input({64, 17}, 24)}, "matmul");
    compare_cuda_with_cpu(mm, {diff_input({1, 8}, 25), diff_input({8, 1}, 26)}, "matmul 1x1");
  }

  TEST_CASE("linear: CUDA (cuBLAS) matches CPU") {
    LOOM_REQUIRE_CUDA_DEVICE();
    auto lin = [](const std::vector<Tensor>& in) { return ops::linear(in[0], in[1], in[2]); };
    compare_cuda_with_cpu(lin, {diff_input({4, 9, 48}, 27), diff_input({40, 48}, 28), diff_input({40}, 29)},
                          "linear");
    auto lin_nb = [](const std::vector<Tensor>& in) { return ops::linear(in[0], in[1]); };
    compare_cuda_with_cpu(lin_nb, {diff_input({16, 48}, 30), diff_input({8, 48}, 31)}, "linear without bias");
  }
}

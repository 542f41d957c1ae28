// tests/kernels/test_lstm_cuda.cc: the CUDA rows of the LSTM variant table (kernels/lstm/
// lstm_variants.h: "cuda-v1" unfused, "cuda-v2" fused, "cudnn" STANDARD, "cudnn-persist"
// PERSIST_STATIC), called directly, against the plain-loop reference row "reference".
//
// Layer 2 of the pyramid. For each CUDA row x dtype (F32, F16, BF16) x shape, the inputs are drawn
// once, rounded to the dtype, and given to both: the reference runs in F32 on the rounded values,
// the GPU in the dtype. Compared: y (padding included), h_n, c_n, and after backward seeded with dy,
// dh_n, dc_n every gradient (dx, dW_ih, dW_hh, db, dh0, dc0 of each direction). Every output and
// gradient buffer starts as NaN, so a position a kernel forgets to write fails. A second forward +
// backward with GradMode::Accumulate into the same gradient buffers must give twice the gradients.
//
// Shapes cover H not a multiple of 32 (20), B = 1, T = 1, a row of length 0, one direction forward,
// one direction reverse with lengths (our kernels only; cuDNN refuses it), and a BiLSTM with mixed
// lengths. A combination the row does not support (cuDNN bf16 before 9.13, PERSIST_STATIC with
// lengths) is reported and skipped, after checking that supports() said why.
//
// The cuDNN rows have one test case per dtype: cuDNN may still refuse at run time a combination
// supports() accepted (PERSIST_STATIC's limits are not all documented, nor which bf16 engines a GPU
// has), and such a refusal makes that test case a skip carrying cuDNN's status (tests/support/
// devices.h), never a failure, without hiding what the other dtypes and our own rows proved.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/cuda_context.h"
#include "core/device.h"
#include "ops/autograd.h"
#include "ops/elementwise.h"
#include "ops/lstm.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "ops/tensor.h"
#include "kernels/lstm/lstm.h"
#include "kernels/lstm/lstm_variants.h"
#include "tests/support/compare.h"
#include "tests/support/devices.h"
#include "tests/support/values.h"

using namespace loom;
using namespace loom::test;
using kernels::LstmVariantRow;

namespace {

enum class Direction { Forward, Reverse };

bool is_cudnn(const LstmVariantRow& row) { return std::string(row.name).rfind("cudnn", 0) == 0; }

// The rows that run on CUDA tensors.
std::vector<const LstmVariantRow*> cuda_rows() {
  std::vector<const LstmVariantRow*> rows;
  for (const LstmVariantRow& row : kernels::lstm_variants())
    if (row.device == DeviceType::Cuda) rows.push_back(&row);
  return rows;
}

struct Case {
  std::string name;
  std::int64_t T = 1, B = 1, C = 1, H = 1;
  int D = 1;
  Direction dir0 = Direction::Forward;
  std::vector<std::int32_t> lengths;  // empty: every row runs T steps
  bool initial_state = true;          // h0, c0 given (else nullptr = zeros)
};

std::vector<Case> cases() {
  return {
      {"D=1 forward T=5 B=3 C=7 H=20", 5, 3, 7, 20, 1, Direction::Forward, {}, true},
      {"D=1 reverse with lengths", 5, 3, 6, 20, 1, Direction::Reverse, {5, 2, 0}, true},
      {"D=2 mixed lengths with a zero", 6, 4, 5, 20, 2, Direction::Forward, {6, 3, 0, 1}, true},
      {"D=2 all lengths T", 4, 2, 8, 16, 2, Direction::Forward, {}, true},
      {"B=1 T=1 D=2 no initial state", 1, 1, 3, 8, 2, Direction::Forward, {}, false},
  };
}

// Host values (F32), already rounded to the dtype under test, so CPU and GPU see the same numbers.
struct Values {
  std::vector<float> x, dy, w_ih[2], w_hh[2], bias[2], h0[2], c0[2], dh_n[2], dc_n[2];
};

std::vector<float> rounded(std::int64_t n, std::uint64_t seed, float lo, float hi, DType t) {
  return Tensor::from_vector(random_floats(n, seed, lo, hi), {n}, t).to_vector();
}

Values make_values(const Case& c, DType t, std::uint64_t seed) {
  Values v;
  const std::int64_t G = 4 * c.H;
  v.x = rounded(c.T * c.B * c.C, seed, -1, 1, t);
  v.dy = rounded(c.T * c.B * c.D * c.H, seed + 1, -1, 1, t);
  for (int d = 0; d < c.D; ++d) {
    const std::uint64_t s = seed * 32 + static_cast<std::uint64_t>(d) * 16;
    v.w_ih[d] = rounded(G * c.C, s + 2, -0.6f, 0.6f, t);
    v.w_hh[d] = rounded(G * c.H, s + 3, -0.6f, 0.6f, t);
    v.bias[d] = rounded(G, s + 4, -0.5f, 0.5f, t);
    if (c.initial_state) {
      v.h0[d] = rounded(c.B * c.H, s + 5, -1, 1, t);
      v.c0[d] = rounded(c.B * c.H, s + 6, -1, 1, t);
    }
    v.dh_n[d] = rounded(c.B * c.H, s + 7, -1, 1, t);
    v.dc_n[d] = rounded(c.B * c.H, s + 8, -1, 1, t);
  }
  return v;
}

struct Outputs {
  std::vector<float> y, dx, h_n[2], c_n[2], dw_ih[2], dw_hh[2], dbias[2], dh0[2], dc0[2];
};

void* ptr(const Tensor& t) { return t.defined() ? t.data_ptr() : nullptr; }

// Forward (training) + backward with Overwrite into NaN-filled buffers -> *first; then forward +
// backward again with Accumulate into the same buffers -> *second. False (with the reason in
// *why) when the row does not support the combination.
bool run(const Case& c, const Values& v, DType t, const LstmVariantRow& row, Outputs* first, Outputs* second,
         std::string* why) {
  const bool gpu = row.device == DeviceType::Cuda;
  const Device dev = gpu ? Device::cuda(0) : Device::cpu();
  const CudaContext* ctx = gpu ? &cuda_context(0) : nullptr;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::int64_t T = c.T, B = c.B, C = c.C, H = c.H, G = 4 * H, D = c.D;
  auto in = [&](const std::vector<float>& h, const Shape& s) {
    return h.empty() ? Tensor() : Tensor::from_vector(h, s, t, dev);
  };
  auto out = [&](const Shape& s, DType type) { return Tensor::full(s, nan, type, dev); };

  const Tensor x = in(v.x, {T, B, C}), y = out({T, B, D * H}, t);
  const Tensor lengths = c.lengths.empty() ? Tensor() : Tensor::from_vector(c.lengths, {B}, dev);
  Tensor w_ih[2], w_hh[2], bias[2], h0[2], c0[2], h_n[2], c_n[2], c_saved[2], gates[2];
  kernels::LstmSeqFwdArgs a;
  a.T = T;
  a.B = B;
  a.C = C;
  a.H = H;
  a.D = c.D;
  a.dtype = t;
  a.x = x.data_ptr();
  a.lengths = lengths.defined() ? lengths.data<std::int32_t>() : nullptr;
  a.y = y.data_ptr();
  for (int d = 0; d < c.D; ++d) {
    w_ih[d] = in(v.w_ih[d], {G, C});
    w_hh[d] = in(v.w_hh[d], {G, H});
    bias[d] = in(v.bias[d], {G});
    h0[d] = in(v.h0[d], {B, H});
    c0[d] = in(v.c0[d], {B, H});
    h_n[d] = out({B, H}, t);
    c_n[d] = out({B, H}, t);
    kernels::LstmDirection& p = a.dirs[d];
    p.reverse = d > 0 || c.dir0 == Direction::Reverse;
    p.w_ih = w_ih[d].data_ptr();
    p.w_hh = w_hh[d].data_ptr();
    p.bias = bias[d].data_ptr();
    p.h0 = ptr(h0[d]);
    p.c0 = ptr(c0[d]);
    p.h_n = h_n[d].data_ptr();
    p.c_n = c_n[d].data_ptr();
    // Somewhere to save makes the forward a training forward, for every row (lstm.h).
    c_saved[d] = out({T, B, H}, DType::F32);
    gates[d] = out({T, B, G}, DType::F32);
    p.c_saved = c_saved[d].data_ptr();
    p.gates_saved = gates[d].data_ptr();
  }
  if (is_cudnn(row)) {
    if (!kernels::variant_supports(row, a, why)) return false;
  } else {
    REQUIRE_MESSAGE(kernels::variant_supports(row, a, why), *why);
  }

  const Tensor dy = in(v.dy, {T, B, D * H}), dx = out({T, B, C}, t);
  Tensor dh_n[2], dc_n[2], dw_ih[2], dw_hh[2], dbias[2], dh0[2], dc0[2];
  kernels::LstmSeqBwdArgs g;
  g.fwd = a;
  g.dy = dy.data_ptr();
  g.dx = dx.data_ptr();
  for (int d = 0; d < c.D; ++d) {
    dh_n[d] = in(v.dh_n[d], {B, H});
    dc_n[d] = in(v.dc_n[d], {B, H});
    dw_ih[d] = out({G, C}, t);
    dw_hh[d] = out({G, H}, t);
    dbias[d] = out({G}, t);
    dh0[d] = out({B, H}, t);
    dc0[d] = out({B, H}, t);
    kernels::LstmDirectionGrad& q = g.grads[d];
    q.dh_n = dh_n[d].data_ptr();
    q.dc_n = dc_n[d].data_ptr();
    q.dw_ih = dw_ih[d].data_ptr();
    q.dw_hh = dw_hh[d].data_ptr();
    q.dbias = dbias[d].data_ptr();
    q.dh0 = dh0[d].data_ptr();
    q.dc0 = dc0[d].data_ptr();
  }

  auto collect = [&](Outputs* o) {
    o->y = y.to_vector();
    o->dx = dx.to_vector();
    for (int d = 0; d < c.D; ++d) {
      o->h_n[d] = h_n[d].to_vector();
      o->c_n[d] = c_n[d].to_vector();
      o->dw_ih[d] = dw_ih[d].to_vector();
      o->dw_hh[d] = dw_hh[d].to_vector();
      o->dbias[d] = dbias[d].to_vector();
      o->dh0[d] = dh0[d].to_vector();
      o->dc0[d] = dc0[d].to_vector();
    }
  };
  g.param_mode = g.input_mode = GradMode::Overwrite;
  std::unique_ptr<kernels::BackendSaved> saved = row.forward(a, ctx);
  row.backward(g, ctx, saved.get());
  collect(first);
  g.param_mode = g.input_mode = GradMode::Accumulate;
  saved = row.forward(a, ctx);
  row.backward(g, ctx, saved.get());
  collect(second);
  return true;
}

std::vector<float> twice(const std::vector<float>& v) {
  std::vector<float> r(v);
  for (float& e : r) e *= 2.0f;
  return r;
}

// The dtype's table tolerance, relaxed: the recurrence feeds each step's rounding into the next
// (T steps), and the GPU keeps h (a GEMM operand) and dz in the storage type every step where the
// CPU reference stays in F32 until the end; F32 sums over K = T*B rows in a different order too.
Tolerance lstm_tolerance(DType t) {
  const Tolerance base = tolerance(t);
  const double k = t == DType::F32 ? 10.0 : 2.0;
  return {base.rtol * k, base.atol * k};
}

// False when any comparison failed.
bool compare(const Outputs& got, const Outputs& ref, const Case& c, DType t, bool accumulated) {
  const Tolerance tol = lstm_tolerance(t);
  auto grad = [&](const std::vector<float>& r) { return accumulated ? twice(r) : r; };
  const std::string tag = accumulated ? " (Accumulate)" : "";
  bool ok = check_close(got.y, ref.y, tol, "y" + tag);
  ok &= check_close(got.dx, grad(ref.dx), tol, "dx" + tag);
  for (int d = 0; d < c.D; ++d) {
    const std::string s = " dir " + std::to_string(d) + tag;
    ok &= check_close(got.h_n[d], ref.h_n[d], tol, "h_n" + s);
    ok &= check_close(got.c_n[d], ref.c_n[d], tol, "c_n" + s);
    ok &= check_close(got.dw_ih[d], grad(ref.dw_ih[d]), tol, "dW_ih" + s);
    ok &= check_close(got.dw_hh[d], grad(ref.dw_hh[d]), tol, "dW_hh" + s);
    ok &= check_close(got.dbias[d], grad(ref.dbias[d]), tol, "db" + s);
    ok &= check_close(got.dh0[d], grad(ref.dh0[d]), tol, "dh0" + s);
    ok &= check_close(got.dc0[d], grad(ref.dc0[d]), tol, "dc0" + s);
  }
  return ok;
}

constexpr DType kDtypes[] = {DType::F32, DType::F16, DType::BF16};

// One row in one dtype (kDtypes[dtype_index]) over every case; false when a comparison failed. A
// cuDNN row's run-time refusal of a case supports() accepted goes to *refusals; any other error,
// and every error of our own rows, propagates.
bool check_row(const LstmVariantRow& row, std::size_t dtype_index, CudnnRefusals* refusals) {
  const DType t = kDtypes[dtype_index];
  const std::vector<Case> all = cases();
  bool ok = true;
  for (std::size_t j = 0; j < all.size(); ++j) {
    const Case& c = all[j];
    const std::string asked = std::string(row.name) + " " + dtype_name(t) + " " + c.name;
    INFO(asked);
    // The seed each combination had when one loop ran every dtype and case: the inputs stay the same.
    const Values v = make_values(c, t, 0x157 + 1 + dtype_index * all.size() + j);
    Outputs got, got_acc, ref, ref_acc;
    std::string why;
    bool ran = false;
    try {
      ran = run(c, v, t, row, &got, &got_acc, &why);
    } catch (const std::exception& e) {
      if (!is_cudnn(row) || !refusals->record(e, asked)) throw;
      continue;
    }
    if (!ran) {
      CHECK_MESSAGE(!why.empty(), "supports() refused without a reason");
      MESSAGE("not run ", asked, ": ", why);
      continue;
    }
    REQUIRE(run(c, v, DType::F32, kernels::lstm_variant("reference"), &ref, &ref_acc, &why));
    ok &= compare(got, ref, c, t, false);
    ok &= compare(got_acc, ref, c, t, true);
  }
  return ok;
}

// Both cuDNN rows in one dtype; cuDNN's refusals make the test case a skip (if nothing failed).
void check_cudnn_rows(std::size_t dtype_index) {
  CudnnRefusals refusals;
  bool ok = true;
  for (const LstmVariantRow* row : cuda_rows())
    if (is_cudnn(*row)) ok &= check_row(*row, dtype_index, &refusals);
  LOOM_SKIP_CUDNN_REFUSAL(refusals, ok);
}

}  // namespace

TEST_SUITE("cuda") {
  TEST_CASE("lstm_seq every CUDA row of the variant table matches the reference") {
    LOOM_REQUIRE_CUDA_DEVICE();
    std::vector<std::string> names;
    for (const LstmVariantRow* row : cuda_rows()) names.push_back(row->name);
    std::vector<std::string> want{"cuda-v1", "cuda-v2"};
    if (cudnn_compiled()) want.insert(want.end(), {"cudnn", "cudnn-persist"});
    CHECK(names == want);
    for (const LstmVariantRow* row : cuda_rows())
      if (!is_cudnn(*row))
        for (std::size_t i = 0; i < std::size(kDtypes); ++i) check_row(*row, i, nullptr);
  }

  TEST_CASE("lstm_seq cudnn rows match the reference in f32") {
    LOOM_REQUIRE_CUDA_DEVICE();
    LOOM_REQUIRE_CUDNN();
    check_cudnn_rows(0);
  }

  TEST_CASE("lstm_seq cudnn rows match the reference in f16") {
    LOOM_REQUIRE_CUDA_DEVICE();
    LOOM_REQUIRE_CUDNN();
    check_cudnn_rows(1);
  }

  TEST_CASE("lstm_seq cudnn rows match the reference in bf16") {
    LOOM_REQUIRE_CUDA_DEVICE();
    LOOM_REQUIRE_CUDNN();
    check_cudnn_rows(2);
  }

  TEST_CASE("lstm_seq cuda supports explains what it refuses") {
    LOOM_REQUIRE_CUDA_DEVICE();
    const LstmVariantRow& cuda = kernels::lstm_variant("cuda-v2");
    kernels::LstmSeqFwdArgs a;
    a.T = 2;
    a.B = 2;
    a.C = 3;
    a.H = 4;
    std::string why;
    a.dtype = DType::F64;
    CHECK_FALSE(kernels::variant_supports(cuda, a, &why));
    CHECK(why.find("f64") != std::string::npos);
    a.dtype = DType::F32;
    a.D = 3;
    CHECK_FALSE(kernels::variant_supports(cuda, a, &why));
    CHECK(why.find("D") != std::string::npos);
    a.D = 1;
    CHECK(kernels::variant_supports(cuda, a, &why));
    if (!cudnn_compiled()) return;
    const std::int32_t fake_lengths = 0;  // only its non-nullness matters to supports()
    a.lengths = &fake_lengths;
    CHECK_FALSE(kernels::variant_supports(kernels::lstm_variant("cudnn-persist"), a, &why));
    CHECK(why.find("PERSIST_STATIC") != std::string::npos);
    a.lengths = nullptr;
    a.dirs[0].reverse = true;
    CHECK_FALSE(kernels::variant_supports(kernels::lstm_variant("cudnn"), a, &why));
  }

  // An empty input (T = 0 or B = 0) is legal: y is empty, h_n = h0, c_n = c0, and the weight
  // gradients are zero. The CPU rows always accepted it; the CUDA backward used to throw.
  TEST_CASE("lstm_seq cuda rows accept an empty input (T or B zero) like the CPU rows in forward and backward") {
    LOOM_REQUIRE_CUDA_DEVICE();
    const std::int64_t C = 3, H = 4;
    for (const auto& [T, B] : std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 2}, {3, 0}}) {
      auto run_row = [&, T = T, B = B](const std::string& row, Device dev) {
        auto leaf = [&](const Shape& shape, std::uint64_t seed) {
          Tensor t = Tensor::uniform(shape, -1, 1, seed).to(dev);
          t.set_requires_grad(true);
          return t;
        };
        const Tensor x = leaf({T, B, C}, 1), w_ih = leaf({4 * H, C}, 2), w_hh = leaf({4 * H, H}, 3),
                     b_ih = leaf({4 * H}, 4), b_hh = leaf({4 * H}, 5), h0 = leaf({B, H}, 6), c0 = leaf({B, H}, 7);
        Tape tape;
        Tensor loss;
        ops::LstmSeqResult r;
        {
          auto rec = tape.record();
          ops::LstmSeqOptions opt;
          opt.row = row;
          r = ops::lstm_seq(x, Tensor(), {{ops::Direction::Forward, w_ih, w_hh, b_ih, b_hh, h0, c0}}, opt);
          // h_n + 2 c_n summed, plus a zero-weight sum of an empty-free scalar so loss is never empty.
          const Tensor hc = ops::add(ops::reshape(r.h_n[0], {B * H}), ops::scale(ops::reshape(r.c_n[0], {B * H}), 2));
          loss = ops::sum(ops::concat_last({hc, ops::scale(ops::reshape(w_ih, {4 * H * C}), 0)}), ops::ReduceDim::Last);
        }
        CHECK(r.y.numel() == 0);
        tape.backward(loss);
        std::vector<std::vector<double>> out{r.h_n[0].to_vector_f64(), r.c_n[0].to_vector_f64()};
        for (const Tensor& t : {w_ih, w_hh, b_ih, b_hh, h0, c0}) out.push_back(t.grad().to_vector_f64());
        return out;
      };
      INFO("T = ", T, " B = ", B);
      const auto want = run_row("cpu", Device::cpu());
      for (const std::string row : {"cuda-v1", "cuda-v2"}) {
        INFO(row);
        const auto got = run_row(row, Device::cuda(0));
        REQUIRE(got.size() == want.size());
        for (std::size_t i = 0; i < want.size(); ++i) CHECK(got[i] == want[i]);
      }
    }
  }
}

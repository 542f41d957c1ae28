// tests/kernels/test_lstm_cpu.cc: the plain-loop reference of the LSTM (kernels/lstm/
// lstm_reference.cc) and the threaded CPU path (lstm_cpu.cc), called directly through the variant
// table (kernels/lstm/lstm_variants.h).
//
// Layer 1 of the pyramid: every gradient of the reference (w_ih, w_hh, bias, x, h0, c0) against
// central differences of its forward in F64, for the loss
//     L = sum w_y * y + sum_d (w_h[d] * h_n[d] + w_c[d] * c_n[d])
// with fixed random weights, i.e. backward seeded with dy = w_y, dh_n = w_h, dc_n = w_c. The same
// argument as tests/support/gradcheck.h sets the tolerance (h = 1e-6, rtol 1e-6, atol 1e-8). The
// threaded path gets the same finite-difference check with rows split over threads, and must not
// depend on the thread count. Then rows of length 0, the cost formulas, bad arguments and the table
// itself; and the vectorized F32 pointwise passes of the threaded path (lstm_pointwise_cpu.h): the
// polynomial exp against exp in double over a dense sweep, and the baseline and AVX-512 builds
// giving the same bits. Last, the scratch arena (lstm_scratch_cpu.h): calls that reuse it, grow it,
// find it full of NaN or run on two threads at once give the bits of a call on a fresh arena. Every
// CPU row against the reference: test_lstm_cpu_rows.cc.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "kernels/lstm/lstm_pointwise_cpu.h"
#include "kernels/lstm/lstm_scratch_cpu.h"
#include "tests/kernels/lstm_cpu_harness.h"
#include "tests/support/errors.h"

using namespace loom;
using namespace loom::test;
using namespace loom::test::lstm;

TEST_CASE("lstm_seq reference: F64 finite differences - one direction forward") {
  const LstmCase c = random_case(1, Direction::Forward, {4, 1, 3}, 11);
  check_finite_differences(c, random_seeds(c, 12), "forward lengths 4 1 3");
  const LstmCase full = random_case(1, Direction::Forward, {}, 13);
  check_finite_differences(full, random_seeds(full, 14), "forward all T");
  // nullptr h0 / c0 (zeros) and no gradient at the final state.
  const LstmCase zero_state = random_case(1, Direction::Forward, {2, 4, 1}, 15, false);
  check_finite_differences(zero_state, random_seeds(zero_state, 16, false), "forward without h0 c0 dh_n dc_n");
}

TEST_CASE("lstm_seq reference: F64 finite differences - one direction reverse") {
  // Mixed lengths take the gathered-dz path; equal lengths below T read dZ in place.
  const LstmCase c = random_case(1, Direction::Reverse, {4, 1, 3}, 21);
  check_finite_differences(c, random_seeds(c, 22), "reverse lengths 4 1 3");
  const LstmCase equal = random_case(1, Direction::Reverse, {2, 2, 2}, 23);
  check_finite_differences(equal, random_seeds(equal, 24), "reverse lengths 2 2 2");
  const LstmCase full = random_case(1, Direction::Reverse, {}, 25);
  check_finite_differences(full, random_seeds(full, 26), "reverse all T");
}

TEST_CASE("lstm_seq reference: F64 finite differences - two directions") {
  const LstmCase c = random_case(2, Direction::Forward, {4, 1, 3}, 31);
  check_finite_differences(c, random_seeds(c, 32), "bidirectional lengths 4 1 3");
  const LstmCase full = random_case(2, Direction::Forward, {}, 33);
  check_finite_differences(full, random_seeds(full, 34), "bidirectional all T");
}

TEST_CASE("lstm_seq cpu rows: a row of length 0") {
  const LstmCase c = random_case(2, Direction::Forward, {4, 0, 2}, 41);
  for (const LstmVariantRow* row : cpu_rows()) {
    INFO("row ", row->name);
    const LstmResult r = run_lstm(c, DType::F64, nullptr, {}, *row);
    const std::int64_t DH = c.D * c.H;
    for (std::int64_t t = 0; t < c.T; ++t) {
      const std::vector<double> y_row(r.y.begin() + (t * c.B + 1) * DH, r.y.begin() + (t * c.B + 2) * DH);
      check_equal(y_row, std::vector<double>(static_cast<std::size_t>(DH), 0.0), "y of the empty row, t = " + std::to_string(t));
    }
    for (int d = 0; d < c.D; ++d) {
      check_equal(row_of(r.h_n[d], 1, c.B, 1, c.H), row_of(c.h0[d], 1, c.B, 1, c.H), "h_n == h0 of the empty row");
      check_equal(row_of(r.c_n[d], 1, c.B, 1, c.H), row_of(c.c0[d], 1, c.B, 1, c.H), "c_n == c0 of the empty row");
    }
  }
  check_finite_differences(c, random_seeds(c, 42), "bidirectional lengths 4 0 2");
  const LstmCase reverse = random_case(1, Direction::Reverse, {0, 3, 0}, 43);
  check_finite_differences(reverse, random_seeds(reverse, 44), "reverse lengths 0 3 0");
}

// The kernels run serially below ~32 k operations of work; this shape is above it, so the rows
// are split over threads (thread k owns a block of rows for the whole recurrence, and the T*B-row
// GEMMs are split too). 3 threads on 9 rows with these lengths give uneven blocks, and a block
// whose rows finish early.
LstmCase threaded_case(std::uint64_t seed) {
  LstmCase shape;
  shape.T = 7, shape.C = 8, shape.H = 6;  // 2 N G (C + H) = 2 * 63 * 24 * 14 = 42 k flops
  return random_case(2, Direction::Forward, {7, 0, 3, 7, 1, 5, 2, 7, 4}, seed, true, shape);
}

TEST_CASE("lstm_seq cpu: F64 finite differences - rows split over threads") {
  const LstmVariantRow& cpu = kernels::lstm_variant("cpu");
  LstmCase c = threaded_case(45);
  check_finite_differences(c, random_seeds(c, 46), "2 threads T 7 B 9 C 8 H 6", 2, cpu);
  c.dir[0] = Direction::Reverse;  // both reverse: mixed lengths take the gathered-dz path
  check_finite_differences(c, random_seeds(c, 47), "3 threads reverse T 7 B 9 C 8 H 6", 3, cpu);
}

TEST_CASE("lstm_seq cpu: results do not depend on the thread count") {
  const LstmVariantRow& cpu = kernels::lstm_variant("cpu");
  for (Direction d0 : {Direction::Forward, Direction::Reverse}) {
    LstmCase c = threaded_case(47);
    c.dir[0] = d0, c.dir[1] = d0;  // reverse in both: mixed lengths take the gathered-dz path
    const Seeds w = random_seeds(c, 48);
    LstmResult one;
    {
      ThreadCount use(1);
      one = run_lstm(c, DType::F64, &w, {}, cpu);
    }
    for (int threads : {2, 3, 4}) {
      ThreadCount use(threads);
      const LstmResult r = run_lstm(c, DType::F64, &w, {}, cpu);
      const Tolerance tol = tolerance(DType::F64);
      const std::string what = std::to_string(threads) + " threads vs 1: ";
      check_close(r.y, one.y, tol, what + "y");
      check_close(r.dx, one.dx, tol, what + "dx");
      for (int d = 0; d < c.D; ++d) {
        check_close(r.h_n[d], one.h_n[d], tol, what + "h_n");
        check_close(r.c_n[d], one.c_n[d], tol, what + "c_n");
        check_close(r.dw_ih[d], one.dw_ih[d], tol, what + "dw_ih");
        check_close(r.dw_hh[d], one.dw_hh[d], tol, what + "dw_hh");
        check_close(r.dbias[d], one.dbias[d], tol, what + "dbias");
        check_close(r.dh0[d], one.dh0[d], tol, what + "dh0");
        check_close(r.dc0[d], one.dc0[d], tol, what + "dc0");
      }
    }
  }
}

TEST_CASE("lstm_seq cpu: cost against a hand count") {
  // T = 4, B = 3, C = 5, H = 3, one direction, F32, training, h0 given, c0 not:
  // N = T B = 12 rows, G = 4 H = 12.
  kernels::LstmSeqFwdArgs a;
  a.T = 4, a.B = 3, a.C = 5, a.H = 3, a.D = 1, a.dtype = DType::F32;
  float dummy = 0;
  a.dirs[0].h0 = &dummy;
  a.dirs[0].c_saved = &dummy, a.dirs[0].gates_saved = &dummy;
  const kernels::Cost f = kernels::lstm_seq_fwd_cost(a);
  // GEMMs 2 N G (C + H) = 2*12*12*8 = 2304; pointwise 23 N H = 23*12*3 = 828.
  CHECK(f.flops == 2304.0 + 828.0);
  // Storage: x 60 + weights and bias 12*9 = 108 + y 36 + h_n, c_n 18 + h0 9 = 231 floats;
  // saved: c 36 + gates 144 = 180 floats.
  CHECK(f.bytes == 4.0 * 231 + 4.0 * 180);
  a.D = 2;  // the second direction has neither h0 nor saved buffers: 222 floats
  CHECK(kernels::lstm_seq_fwd_cost(a).bytes == 4.0 * 231 + 4.0 * 180 + 4.0 * 222);

  kernels::LstmSeqBwdArgs b;
  a.D = 1;
  b.fwd = a;
  b.dy = &dummy, b.dx = &dummy;
  b.grads[0].dw_ih = b.grads[0].dw_hh = b.grads[0].dbias = &dummy;
  b.grads[0].dh0 = b.grads[0].dc0 = &dummy;
  b.grads[0].dh_n = &dummy;
  b.param_mode = GradMode::Accumulate, b.input_mode = GradMode::Overwrite;
  const kernels::Cost g = kernels::lstm_seq_bwd_cost(b);
  // GEMMs: dh_prev and dW_hh 2 N G H = 864 each, dW_ih and dx 2 N G C = 1440 each;
  // pointwise 25 N H = 900; db column sum N G = 144.
  CHECK(g.flops == 2 * 864.0 + 2 * 1440.0 + 900.0 + 144.0);
  // Reads: x 60 + weights 96 + dy 36 + h0 9 + dh_n 9 = 210 floats, saved 180 floats;
  // parameter gradients 108 floats read and written; dh0, dc0 18 written; dx 60 written.
  CHECK(g.bytes == 4.0 * 210 + 4.0 * 180 + 4.0 * 2 * 108 + 4.0 * 18 + 4.0 * 60);
  b.grads[0].dw_ih = b.grads[0].dw_hh = b.grads[0].dbias = nullptr;
  b.dx = nullptr;  // only dh0, dc0 wanted: the dh_prev GEMM and the pointwise pass remain
  CHECK(kernels::lstm_seq_bwd_cost(b).flops == 864.0 + 900.0);
  CHECK(kernels::lstm_seq_bwd_cost(b).bytes == 4.0 * 210 + 4.0 * 180 + 4.0 * 18);
}

TEST_CASE("lstm_seq cpu rows: bad arguments") {
  for (const LstmVariantRow* row : cpu_rows()) {
    INFO("row ", row->name);
    const std::string fwd = std::string("lstm_seq_fwd_") + row->name, bwd = std::string("lstm_seq_bwd_") + row->name;
    LstmCase c = random_case(1, Direction::Reverse, {4, 5, 1}, 101);
    CHECK_SHAPE_ERROR([&] { run_lstm(c, DType::F32, nullptr, {}, *row); }, fwd, "lengths[1] = 5", "T = 4");
    c.lengths = {4, 2, -1};
    CHECK_SHAPE_ERROR([&] { run_lstm(c, DType::F64, nullptr, {}, *row); }, fwd, "lengths[2] = -1", "T = 4");

    kernels::LstmSeqFwdArgs a;
    a.T = 4, a.B = 3, a.C = 5, a.H = 3, a.D = 3;
    CHECK_SHAPE_ERROR([&] { row->forward(a, nullptr); }, fwd, "D = 3");
    a.D = 1, a.dtype = DType::I32;
    CHECK_SHAPE_ERROR([&] { row->forward(a, nullptr); }, fwd, "i32");

    kernels::LstmSeqBwdArgs b;
    b.fwd.T = 4, b.fwd.B = 3, b.fwd.C = 5, b.fwd.H = 3;
    const std::int32_t lengths[3] = {4, 7, 1};
    b.fwd.lengths = lengths;
    CHECK_SHAPE_ERROR([&] { row->backward(b, nullptr, nullptr); }, bwd, "lengths[1] = 7", "T = 4");
    b.fwd.lengths = nullptr;  // an inference forward saved nothing
    CHECK_SHAPE_ERROR([&] { row->backward(b, nullptr, nullptr); }, bwd, "saved");
  }
}

// Layer 2: each CPU row against the reference, on every dtype, with every feature of the contract.
TEST_CASE("lstm_seq: the variant table") {
  const std::vector<LstmVariantRow>& rows = kernels::lstm_variants();
  REQUIRE(rows.size() >= 2);
  CHECK(std::string(rows[0].name) == "reference");
  CHECK(std::string(rows[1].name) == "cpu");
  for (const LstmVariantRow& row : rows) {
    CHECK(&kernels::lstm_variant(row.name) == &row);
    CHECK((row.forward != nullptr && row.backward != nullptr));
  }
  CHECK_THROWS_WITH_AS(kernels::lstm_variant("cuda-v9"), doctest::Contains("reference, cpu"), Error);
}

// ---- the vectorized F32 pointwise passes (kernels/lstm/lstm_pointwise_cpu.h) -------------------

TEST_CASE("lstm_seq cpu: the polynomial exp against exp in double") {
  // Bound, derived: the Taylor tail r^8 / 8! <= 5.3e-9 relative for |r| <= ln2 / 2, plus one
  // rounding (<= 2^-24 = 6.0e-8 relative) in each of the 7 Horner steps, the reduction and the final
  // product with 2^n: 5.3e-9 + 9 * 6.0e-8 = 5.5e-7. The measured maximum is printed.
  double max_rel = 0, at = 0;
  for (std::int64_t k = -87 * 4096; k <= 88 * 4096; ++k) {  // every 1/4096 of [-87, 88]
    const float x = static_cast<float>(k) / 4096.0f;
    const double want = std::exp(static_cast<double>(x));
    const double rel = std::fabs(static_cast<double>(kernels::lstm_cpu::fast_exp(x)) - want) / want;
    if (rel > max_rel) max_rel = rel, at = x;
  }
  MESSAGE("polynomial exp: max relative error ", max_rel, " at x = ", at);
  CHECK(max_rel <= 5.5e-7);
  // Outside the range it clamps (exp(88) = 1.65e38, exp(-87) = 1.6e-38): sigmoid and tanh are
  // then 0, 1 or -1 to F32 already. NaN propagates, so a diverging run stays visibly NaN.
  CHECK(kernels::lstm_cpu::fast_exp(1000.0f) == kernels::lstm_cpu::fast_exp(88.0f));
  CHECK(std::isfinite(kernels::lstm_cpu::fast_exp(std::numeric_limits<float>::infinity())));
  CHECK(std::isnan(kernels::lstm_cpu::fast_exp(std::numeric_limits<float>::quiet_NaN())));
}

namespace {

struct PointwiseBuffers {
  std::vector<float> zx, zh, bias, c, h, y, c_saved, gates;
};

PointwiseBuffers pointwise_inputs(std::int64_t H, std::uint64_t seed) {
  const std::int64_t G = 4 * H;
  PointwiseBuffers p;
  std::vector<double> z = random_values(3 * G + H, seed, -6.0, 6.0);
  auto take = [&](std::size_t from, std::int64_t n) {
    return std::vector<float>(z.begin() + static_cast<std::ptrdiff_t>(from), z.begin() + static_cast<std::ptrdiff_t>(from + n));
  };
  p.zx = take(0, G), p.zh = take(static_cast<std::size_t>(G), G), p.bias = take(static_cast<std::size_t>(2 * G), G);
  p.c = take(static_cast<std::size_t>(3 * G), H);
  p.zx[0] = 200.0f, p.zx[1] = -200.0f, p.zx[2 * H] = 1e-6f;  // saturated gates, and tanh near 0
  p.h.assign(static_cast<std::size_t>(H), 0.0f), p.y = p.h, p.c_saved = p.h;
  p.gates.assign(static_cast<std::size_t>(G), 0.0f);
  return p;
}

kernels::lstm_cpu::PointwiseFwd fwd_args(PointwiseBuffers& p) {
  return {p.zx.data(), p.zh.data(), p.bias.data(), p.c.data(), p.h.data(), p.y.data(), p.c_saved.data(), p.gates.data()};
}

}  // namespace

TEST_CASE("lstm_seq cpu: the pointwise passes give the same bits from the baseline and the dispatched build") {
  MESSAGE("dispatched pointwise build: ", std::string(kernels::lstm_cpu::pointwise_isa()));
  for (std::int64_t H : {1, 37, 256}) {  // 37: a vector body and a remainder in every lane width
    INFO("H = ", H);
    PointwiseBuffers a = pointwise_inputs(H, 700 + static_cast<std::uint64_t>(H)), b = a;
    kernels::lstm_cpu::pointwise_fwd(fwd_args(a), H);
    kernels::lstm_cpu::pointwise_fwd_baseline(fwd_args(b), H);
    CHECK(a.c == b.c);
    CHECK(a.h == b.h);
    CHECK(a.y == a.h);
    CHECK(a.c_saved == a.c);
    CHECK(a.gates == b.gates);
    for (float v : a.gates) CHECK((v >= -1.0f && v <= 1.0f));  // saturated gates stay in range, no NaN
    // Backward from what the forward saved; dc_out aliases dc_in, as in the kernel.
    const std::int64_t G = 4 * H;
    std::vector<double> r = random_values(3 * H, 800 + static_cast<std::uint64_t>(H), -1.0, 1.0);
    std::vector<float> dy(r.begin(), r.begin() + H), dh(r.begin() + H, r.begin() + 2 * H);
    std::vector<float> dc_a(r.begin() + 2 * H, r.end()), dc_b = dc_a, c_prev = b.zh;
    std::vector<float> dz_a(static_cast<std::size_t>(G)), dz_b = dz_a, hn_a(static_cast<std::size_t>(H)), hn_b = hn_a;
    kernels::lstm_cpu::pointwise_bwd({a.gates.data(), a.c.data(), c_prev.data(), dy.data(), dh.data(), dc_a.data(),
                                      dz_a.data(), dc_a.data(), hn_a.data()}, H);
    kernels::lstm_cpu::pointwise_bwd_baseline({b.gates.data(), b.c.data(), c_prev.data(), dy.data(), dh.data(),
                                               dc_b.data(), dz_b.data(), dc_b.data(), hn_b.data()}, H);
    CHECK(dz_a == dz_b);
    CHECK(dc_a == dc_b);
    CHECK(hn_a == hn_b);
    CHECK(hn_a == a.h);  // the backward's recomputed h is the forward's h, bit for bit
  }
  // A NaN pre-activation gives a NaN state, not a clamped number.
  PointwiseBuffers n = pointwise_inputs(4, 900);
  n.zx[2 * 4 + 1] = std::numeric_limits<float>::quiet_NaN();  // g of unit 1
  kernels::lstm_cpu::pointwise_fwd(fwd_args(n), 4);
  CHECK(std::isnan(n.c[1]));
  CHECK(std::isnan(n.h[1]));
  CHECK(!std::isnan(n.h[0]));
}

TEST_CASE("lstm_seq cpu: the pointwise passes' bf16 outputs are core/dtype.h's rounding, in both builds") {
  // The native BF16 path (lstm_cpu.cc) has the passes round h, y and dz to bf16 with a branch-free
  // copy of float_to_bf16_bits; it must give those bits exactly, NaN included, in both builds.
  // H 37: one chunk of the passes' 64-unit blocks, a 16-lane body and a tail; H 130: two full
  // chunks and a 2-unit one (the AVX-512 rounding loop's body and its scalar tail both round NaN).
  for (const std::int64_t H : {std::int64_t{37}, std::int64_t{130}}) {
    INFO("H = " << H);
    const std::int64_t G = 4 * H;
    PointwiseBuffers f = pointwise_inputs(H, 950 + static_cast<std::uint64_t>(H));
    f.zx[3] = std::numeric_limits<float>::quiet_NaN();  // i of unit 3: h and y NaN
    f.zx[H - 1] = std::numeric_limits<float>::quiet_NaN();  // and the last unit (a scalar tail)
    PointwiseBuffers a = f, b = f;
    kernels::lstm_cpu::pointwise_fwd(fwd_args(f), H);  // the F32 outputs, rounded here
    std::vector<std::uint16_t> h16_a(static_cast<std::size_t>(H)), y16_a = h16_a, h16_b = h16_a, y16_b = h16_a;
    kernels::lstm_cpu::PointwiseFwd pa = fwd_args(a), pb = fwd_args(b);
    pa.h_bf16 = h16_a.data(), pa.y_bf16 = y16_a.data(), pb.h_bf16 = h16_b.data(), pb.y_bf16 = y16_b.data();
    kernels::lstm_cpu::pointwise_fwd(pa, H);
    kernels::lstm_cpu::pointwise_fwd_baseline(pb, H);
    for (std::int64_t j = 0; j < H; ++j) {
      CHECK(h16_a[j] == float_to_bf16_bits(f.h[j]));
      CHECK(y16_a[j] == h16_a[j]);
    }
    CHECK(h16_a[3] == 0x7fffu);
    CHECK(h16_a[H - 1] == 0x7fffu);
    CHECK(h16_a == h16_b);
    CHECK(y16_b == h16_b);
    // The F32 cell state and gates are the F32 pass's, bit for bit (NaN included, hence memcmp).
    CHECK(std::memcmp(a.c.data(), f.c.data(), a.c.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(a.gates.data(), f.gates.data(), a.gates.size() * sizeof(float)) == 0);
    // Backward (from a forward without NaN): dz stays F32 and gets a bf16 copy; h_next is written in
    // bf16 only, and both builds agree.
    PointwiseBuffers g = pointwise_inputs(H, 960 + static_cast<std::uint64_t>(H));
    kernels::lstm_cpu::pointwise_fwd(fwd_args(g), H);
    const std::vector<float> dy(static_cast<std::size_t>(H), 0.25f), dc0(static_cast<std::size_t>(H), 0.5f);
    std::vector<float> dc_f32 = dc0, dz_f32(static_cast<std::size_t>(G)), h_f32(static_cast<std::size_t>(H));
    kernels::lstm_cpu::pointwise_bwd({g.gates.data(), g.c.data(), g.zh.data(), dy.data(), dy.data(), dc_f32.data(),
                                      dz_f32.data(), dc_f32.data(), h_f32.data()}, H);
    for (int build = 0; build < 2; ++build) {
      INFO((build == 0 ? "dispatched" : "baseline"));
      std::vector<float> dc = dc0, dz(static_cast<std::size_t>(G));
      std::vector<std::uint16_t> dz16(static_cast<std::size_t>(G)), hn16(static_cast<std::size_t>(H));
      kernels::lstm_cpu::PointwiseBwd q{g.gates.data(), g.c.data(), g.zh.data(), dy.data(), dy.data(), dc.data(),
                                        dz.data(), dc.data(), nullptr};
      q.dz_bf16 = dz16.data(), q.h_next_bf16 = hn16.data();
      if (build == 0) kernels::lstm_cpu::pointwise_bwd(q, H);
      else kernels::lstm_cpu::pointwise_bwd_baseline(q, H);
      CHECK(dz == dz_f32);
      CHECK(dc == dc_f32);
      for (std::int64_t k = 0; k < G; ++k) CHECK(dz16[k] == float_to_bf16_bits(dz_f32[k]));
      for (std::int64_t j = 0; j < H; ++j) CHECK(hn16[j] == float_to_bf16_bits(h_f32[j]));
    }
  }
}

TEST_CASE("lstm_seq cpu: the bias gradient's column sums equal the plain loop, bit for bit") {
  // column_sums keeps a full 64-column block in AVX-512 registers where the CPU has them; each
  // column must still be summed from 0 in row order, so the plain nested loop's bits. Values of
  // mixed sign and magnitude, so a different order would change low bits.
  const std::int64_t rows = 301, ld = 80;
  std::vector<float> z(static_cast<std::size_t>(rows * ld));
  for (std::size_t k = 0; k < z.size(); ++k)
    z[k] = std::ldexp(static_cast<float>((k * 2654435761u) % 2001) - 1000.0f, static_cast<int>(k % 23) - 11);
  for (const std::int64_t width : {std::int64_t{64}, std::int64_t{17}, std::int64_t{1}}) {
    for (const std::int64_t first : {std::int64_t{0}, std::int64_t{16}}) {
      CAPTURE(width);
      CAPTURE(first);
      std::vector<float> got(64, std::numeric_limits<float>::quiet_NaN()), want(64, 0.0f);
      kernels::lstm_cpu::column_sums(z.data() + first, rows, ld, width, got.data());
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t q = 0; q < width; ++q) want[q] += z[r * ld + first + q];
      CHECK(std::memcmp(got.data(), want.data(), static_cast<std::size_t>(width) * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("lstm_seq cpu: round_to_bf16 gives float_to_bf16_bits for every value, tails and threads included") {
  // The bulk rounding of the native BF16 outputs (lstm_widen_cpu.h): 16-lane AVX-512 where the CPU
  // has it. Special values: NaN (-> 0x7fff), infinities, the largest float (rounds to inf), ties
  // to even either way, subnormals, signed zeros. Sizes: every tail 0..40, and 100,003 values
  // (threaded, blocks of 4096, a ragged last one).
  const std::vector<float> special = {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                                      std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                                      std::numeric_limits<float>::max(), 1.00390625f /* 1 + 2^-8: tie, stays 1 */,
                                      1.01171875f /* 1 + 3 * 2^-8: tie, rounds up to even */,
                                      std::numeric_limits<float>::denorm_min(), -1e-40f, 0.0f, -0.0f};
  for (std::int64_t n : {0, 1, 15, 16, 17, 31, 40, 100003}) {
    INFO("n = " << n);
    std::vector<double> r = random_values(n, 1200 + static_cast<std::uint64_t>(n), -1e4, 1e4);
    std::vector<float> src(r.begin(), r.end());
    for (std::size_t k = 0; k < src.size(); ++k)
      if (k % 7 == 3) src[k] = special[(k / 7) % special.size()];
    std::vector<std::uint16_t> got(static_cast<std::size_t>(n), 0x1234);
    kernels::lstm_cpu::round_to_bf16(src.data(), n, got.data());
    std::int64_t wrong = 0;
    for (std::size_t k = 0; k < src.size(); ++k) wrong += got[k] != float_to_bf16_bits(src[k]);
    CHECK(wrong == 0);
  }
}

// ---- the scratch arena (kernels/lstm/lstm_scratch_cpu.h) ---------------------------------------

namespace {

// Every output and gradient of `r` is finite and has exactly the bits of `want`. Finite matters:
// a "fresh" arena can be memory glibc hands back from an exited thread, full of the harness's NaN
// prefill, so a buffer read before it is written could give NaN in both and still compare equal.
// Every output and gradient is finite by construction (bounded random inputs, T <= 9 steps); the
// saved c and gates are not checked for it, as their padding positions are left unwritten (lstm.h).
void check_same_bits(const LstmResult& r, const LstmResult& want, int D, const std::string& what) {
  auto same = [&](const std::vector<double>& a, const std::vector<double>& b, const char* name_c) {
    const std::string name = name_c;
    const bool equal = a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
    CHECK_MESSAGE(equal, what, ": ", name, " differs from a call on a fresh arena");
    if (name == "c_saved" || name == "gates_saved") return;
    const bool finite = std::all_of(a.begin(), a.end(), [](double v) { return std::isfinite(v); });
    CHECK_MESSAGE(finite, what, ": ", name, " has a NaN or infinity (a position read before it was written)");
  };
  same(r.y, want.y, "y");
  same(r.dx, want.dx, "dx");
  for (int d = 0; d < D; ++d) {
    for (auto [a, b, name] : {std::tuple{&r.h_n[d], &want.h_n[d], "h_n"}, {&r.c_n[d], &want.c_n[d], "c_n"},
                              {&r.c_saved[d], &want.c_saved[d], "c_saved"},
                              {&r.gates_saved[d], &want.gates_saved[d], "gates_saved"},
                              {&r.dw_ih[d], &want.dw_ih[d], "dw_ih"}, {&r.dw_hh[d], &want.dw_hh[d], "dw_hh"},
                              {&r.dbias[d], &want.dbias[d], "dbias"}, {&r.dh0[d], &want.dh0[d], "dh0"},
                              {&r.dc0[d], &want.dc0[d], "dc0"}})
      same(*a, *b, name);
  }
}

// One forward + backward on a thread of its own, so on an arena nobody has used.
LstmResult on_fresh_thread(const LstmCase& c, DType t, const Seeds& w) {
  LstmResult r;
  std::thread([&] { r = run_lstm(c, t, &w, {}, kernels::lstm_variant("cpu")); }).join();
  return r;
}

// Every byte the calling thread's arena holds becomes 0xFF: a NaN in F32, F64 and BF16 alike.
void poison_arena() {
  kernels::lstm_cpu::ScratchArena& arena = kernels::lstm_cpu::thread_scratch();
  for (int slot = 0; slot < kernels::lstm_cpu::ScratchArena::kSlots; ++slot) {
    const std::size_t bytes = arena.capacity_bytes(slot);
    if (bytes > 0) std::memset(arena.get<unsigned char>(slot, static_cast<std::int64_t>(bytes)), 0xFF, bytes);
  }
}

}  // namespace

TEST_CASE("lstm_seq cpu: reused scratch gives the bits of a fresh call") {
  ThreadCount use(2);
  // Two directions, mixed lengths and a reverse direction: every scratch buffer is in use
  // (Zx, Zh, the states, dZ, Hprev, the gathered dz_step, the zeros), and the BF16 path adds dZs.
  const LstmCase small = threaded_case(61);
  LstmCase big_shape;
  big_shape.T = 9, big_shape.C = 10, big_shape.H = 16;
  const LstmCase big = random_case(2, Direction::Reverse, {9, 2, 9, 0, 5, 8, 9, 1, 3, 9, 7, 4}, 62, true, big_shape);
  const Seeds ws = random_seeds(small, 63), wb = random_seeds(big, 64);
  const LstmVariantRow& cpu = kernels::lstm_variant("cpu");

  // On this thread, back to back: small, big (the arena grows), then small again on buffers the
  // big call left full of its values, then again on buffers full of NaN; each F32, BF16 and F64
  // (the slots change element type between them). This catches state carried from one call to
  // the next (a forward that skipped initializing c_state fails it: tried). It cannot catch the
  // backward reading dZ's padding unzeroed, because the same call's forward has just filled that
  // slot with Zx, the same values every time; the comparisons with the reference row
  // (test_lstm_cpu_rows.cc, "results do not depend on the thread count") fail for that (tried).
  for (DType t : {DType::F32, DType::BF16, DType::F64}) {
    const std::string name = dtype_name(t);
    const LstmResult fresh_small = on_fresh_thread(small, t, ws), fresh_big = on_fresh_thread(big, t, wb);
    check_same_bits(run_lstm(small, t, &ws, {}, cpu), fresh_small, small.D, name + " first small call");
    check_same_bits(run_lstm(big, t, &wb, {}, cpu), fresh_big, big.D, name + " bigger call (grows)");
    check_same_bits(run_lstm(small, t, &ws, {}, cpu), fresh_small, small.D, name + " small after big");
    poison_arena();
    check_same_bits(run_lstm(small, t, &ws, {}, cpu), fresh_small, small.D, name + " small on NaN scratch");
    check_same_bits(run_lstm(big, t, &wb, {}, cpu), fresh_big, big.D, name + " big on NaN scratch");
  }
  // The arena keeps what the biggest call needed: at least big's [T*B, 4H] F64 buffer.
  CHECK(kernels::lstm_cpu::thread_scratch().resident_bytes() >= static_cast<std::size_t>(big.T * big.B * 4 * big.H) * 8);
}

TEST_CASE("lstm_seq cpu: two threads calling at once each get their own scratch") {
  ThreadCount use(2);
  const LstmCase a = threaded_case(71);
  LstmCase shape;
  shape.T = 6, shape.C = 7, shape.H = 12;
  const LstmCase b = random_case(2, Direction::Forward, {6, 6, 3, 6, 1, 6, 4}, 72, true, shape);
  const Seeds wa = random_seeds(a, 73), wb = random_seeds(b, 74);
  const LstmResult want_a = on_fresh_thread(a, DType::F32, wa), want_b = on_fresh_thread(b, DType::F32, wb);
  const LstmVariantRow& cpu = kernels::lstm_variant("cpu");
  // Several calls per thread so the two overlap whatever the scheduler does; a shared buffer would
  // mix one call's dZ or state into the other's and change its bits.
  constexpr int kCalls = 20;
  std::vector<LstmResult> got_a(kCalls), got_b(kCalls);
  std::thread ta([&] {
    for (LstmResult& r : got_a) r = run_lstm(a, DType::F32, &wa, {}, cpu);
  });
  std::thread tb([&] {
    for (LstmResult& r : got_b) r = run_lstm(b, DType::F32, &wb, {}, cpu);
  });
  ta.join(), tb.join();
  for (int i = 0; i < kCalls; ++i) {
    check_same_bits(got_a[i], want_a, a.D, "thread a call " + std::to_string(i));
    check_same_bits(got_b[i], want_b, b.D, "thread b call " + std::to_string(i));
  }
}

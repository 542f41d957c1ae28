// tests/ops/test_ops_embedding.cc: embedding lookup and its deterministic backward.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ops/embedding.h"
#include "kernels/embedding/embedding.h"
#include "tests/support/backends.h"
#include "tests/support/compare.h"
#include "tests/support/devices.h"
#include "tests/support/errors.h"
#include "tests/support/gradcheck.h"
#include "tests/support/values.h"

using namespace loom;
using namespace loom::test;

namespace {

// Ids with repeats (id 2 three times, id 0 twice) and an id that never occurs (4 of V = 6):
// repeated ids must sum their gradients, untouched rows must get zero.
const std::vector<std::int32_t> kIds = {2, 0, 2, 5, 1, 2, 0, 3};

}  // namespace

TEST_CASE("embedding: F64 gradcheck of the weight with repeated ids") {
  const Tensor ids = i32(kIds, {2, 4});
  auto f = [&](const std::vector<Tensor>& in) { return ops::embedding(in[0], ids); };
  gradcheck(f, {f64_random({6, 3}, 1)}, "embedding [6,3] with ids [2,4]");
}

TEST_CASE("embedding: forward gathers rows and backward sums repeated ids") {
  const std::int64_t V = 6, E = 3;
  const std::vector<double> w = random_values(V * E, 2, -1, 1);
  Tensor weight = f64(w, {V, E});
  weight.set_requires_grad(true);
  const Tensor ids = i32(kIds, {2, 4});
  Tape tape;
  Tensor out;
  {
    auto rec = tape.record();
    out = ops::embedding(weight, ids);
  }
  CHECK(out.shape() == Shape{2, 4, 3});
  std::vector<double> expected;
  for (std::int32_t id : kIds)
    for (std::int64_t e = 0; e < E; ++e) expected.push_back(w[static_cast<std::size_t>(id * E + e)]);
  CHECK(out.to_vector_f64() == expected);  // a gather copies exactly

  // dout[n, e] = n + e / 10: each gradient row is the sum of the dout rows with that id.
  std::vector<double> dout;
  for (std::size_t n = 0; n < kIds.size(); ++n)
    for (std::int64_t e = 0; e < E; ++e) dout.push_back(static_cast<double>(n) + static_cast<double>(e) / 10);
  tape.backward(out, f64(dout, {2, 4, 3}));
  std::vector<double> dw(static_cast<std::size_t>(V * E), 0.0);
  for (std::size_t n = 0; n < kIds.size(); ++n)
    for (std::int64_t e = 0; e < E; ++e) dw[static_cast<std::size_t>(kIds[n] * E + e)] += dout[n * E + static_cast<std::size_t>(e)];
  check_close(weight.grad().to_vector_f64(), dw, DType::F64, "embedding backward");
  // Row 4 is never looked up: exactly zero.
  for (std::int64_t e = 0; e < E; ++e) CHECK(weight.grad().to_vector_f64()[static_cast<std::size_t>(4 * E + e)] == 0.0);
}

TEST_CASE("embedding: backward is the same bits run to run") {
  // Many repeats of few ids in F32: a non-deterministic summation order would show in the bits.
  const std::int64_t V = 7, E = 64, n = 20000;
  const Tensor ids = i32(random_ints(n, 3, static_cast<std::int32_t>(V)), {n});
  const Tensor dout = Tensor::from_vector(random_floats(n * E, 4, -1, 1), {n, E});
  std::vector<float> first;
  for (int run = 0; run < 2; ++run) {
    Tensor weight = Tensor::zeros({V, E});
    weight.set_requires_grad(true);
    Tape tape;
    Tensor out;
    {
      auto rec = tape.record();
      out = ops::embedding(weight, ids);
    }
    tape.backward(out, dout);
    if (run == 0) first = weight.grad().to_vector();
    else CHECK(weight.grad().to_vector() == first);
  }
}

TEST_CASE("embedding: errors name the op and the bad id and V") {
  const Tensor weight = Tensor::zeros({5, 3});
  CHECK_SHAPE_ERROR([&] { ops::embedding(weight, i32({0, 123, 1}, {3})); }, "embedding", "123", "5");
  CHECK_SHAPE_ERROR([&] { ops::embedding(weight, i32({-1}, {1})); }, "embedding", "-1", "5");
  CHECK_SHAPE_ERROR([&] { ops::embedding(weight, Tensor::zeros({3})); }, "embedding", "f32");  // ids must be i32
  CHECK_SHAPE_ERROR([&] { ops::embedding(Tensor::zeros({15}), i32({0}, {1})); }, "embedding", "[15]");
}

TEST_CASE("embedding: CPU half storage matches F32") {
  const std::vector<float> ids(kIds.begin(), kIds.end());
  auto f = [](const std::vector<Tensor>& in) { return ops::embedding(in[0], in[1]); };
  compare_cpu_half_storage(f, {diff_input({6, 5}, 5), {ids, {8}, InputKind::Int}}, "embedding");
}

TEST_CASE("embedding: cost is the ids plus the rows read and written") {
  kernels::EmbeddingFwdArgs a;
  a.n = 10;
  a.V = 1000;
  a.E = 16;
  a.dtype = DType::BF16;
  const kernels::Cost c = kernels::embedding_fwd_cost(a);
  CHECK(c.flops == 0.0);
  CHECK(c.bytes == 4.0 * 10 + 2.0 * 10 * 16 * 2);
}

TEST_SUITE("cuda") {
  TEST_CASE("embedding: CUDA matches CPU and is deterministic with repeated ids") {
    LOOM_REQUIRE_CUDA_DEVICE();
    // 3000 ids over a vocabulary of 50: long runs of equal ids for the sorted backward.
    const std::vector<std::int32_t> many = random_ints(3000, 6, 50);
    const std::vector<float> ids(many.begin(), many.end());
    auto f = [](const std::vector<Tensor>& in) { return ops::embedding(in[0], in[1]); };
    // Each gradient row sums ~60 dout rows: scale the absolute tolerance like a reduction.
    compare_cuda_with_cpu(f, {diff_input({50, 40}, 7), {ids, {30, 100}, InputKind::Int}}, "embedding", 8.0);

    // Bit-identical gradients on two runs (no float atomics).
    const Tensor cuda_ids = i32(many, {3000}, Device::cuda());
    const Tensor dout = Tensor::from_vector(random_floats(3000 * 40, 8, -1, 1), {3000, 40}, DType::F32, Device::cuda());
    std::vector<float> first;
    for (int run = 0; run < 2; ++run) {
      Tensor weight = Tensor::zeros({50, 40}, DType::F32, Device::cuda());
      weight.set_requires_grad(true);
      Tape tape;
      Tensor out;
      {
        auto rec = tape.record();
        out = ops::embedding(weight, cuda_ids);
      }
      tape.backward(out, dout);
      if (run == 0) first = weight.grad().to(Device::cpu()).to_vector();
      else CHECK(weight.grad().to(Device::cpu()).to_vector() == first);
    }
    // A bad id is caught on the device too.
    const Tensor w = Tensor::zeros({5, 3}, DType::F32, Device::cuda());
    CHECK_SHAPE_ERROR([&] { ops::embedding(w, i32({0, 123, 1}, {3}, Device::cuda())); }, "embedding", "123", "5");
  }
}

// tests/ops/test_tensor.cc: creation, views, copies, conversions and errors of loom::Tensor.
#include <doctest/doctest.h>

#include <cstdlib>

#include <cstdint>
#include <string>
#include <vector>

#include "ops/build_info.h"
#include "core/device.h"
#include "core/storage.h"
#include "ops/tensor.h"
#include "tests/support/devices.h"
#include "tests/support/errors.h"
#include "tests/support/values.h"

using namespace loom;
using loom::test::round_to;

namespace {
const DType kFloatTypes[] = {DType::F32, DType::F16, DType::BF16, DType::F64};
}

TEST_CASE("tensor: empty and zeros and full describe themselves") {
  const Tensor undefined;
  CHECK_FALSE(undefined.defined());
  CHECK(describe(undefined) == "undefined tensor");

  const Tensor e = Tensor::empty({2, 3, 4});
  CHECK(e.defined());
  CHECK(e.shape() == Shape{2, 3, 4});
  CHECK(e.ndim() == 3);
  CHECK(e.numel() == 24);
  CHECK(e.dim(0) == 2);
  CHECK(e.dim(-1) == 4);
  CHECK(e.dtype() == DType::F32);
  CHECK(e.nbytes() == 96);
  CHECK(e.device() == Device::cpu());
  CHECK(e.str() == "f32[2, 3, 4] on cpu");
  // CPU storage is 64-byte aligned (one cache line, one AVX-512 vector).
  CHECK(reinterpret_cast<std::uintptr_t>(e.data_ptr()) % 64 == 0);

  for (DType dt : kFloatTypes) {
    INFO(std::string(dtype_name(dt)));
    const Tensor z = Tensor::zeros({5, 7}, dt);
    CHECK(z.dtype() == dt);
    CHECK(z.nbytes() == 35 * dtype_size(dt));
    CHECK(z.to_vector() == std::vector<float>(35, 0.0f));
    CHECK(Tensor::full({3}, -2.5, dt).to_vector() == std::vector<float>(3, -2.5f));  // exact in all
  }
  CHECK(Tensor::zeros({4}, DType::I32).to_vector_i32() == std::vector<std::int32_t>(4, 0));
  CHECK(Tensor::full({2}, 7, DType::I32).to_vector_i32() == std::vector<std::int32_t>{7, 7});
  // A scalar has shape [] and one element.
  const Tensor s = Tensor::full({}, 3.0);
  CHECK(s.numel() == 1);
  CHECK(s.item() == 3.0);
}

TEST_CASE("tensor: from_vector / to_vector round trip for every dtype") {
  // Values exactly representable in every float type, including a half subnormal (2^-24).
  const std::vector<float> exact = {0.0f, -1.25f, 0.5f, 1024.0f, 5.9604644775390625e-8f, -3.0f};
  for (DType dt : kFloatTypes) {
    INFO(std::string(dtype_name(dt)));
    const Tensor t = Tensor::from_vector(exact, {2, 3}, dt);
    CHECK(t.dtype() == dt);
    CHECK(t.shape() == Shape{2, 3});
    CHECK(t.to_vector() == exact);
  }
  // Values that are not representable are rounded to nearest even on the way in.
  const std::vector<float> inexact = {0.1f, 1.0f / 3.0f, 70000.0f, -1e-9f};
  CHECK(Tensor::from_vector(inexact, {4}, DType::F16).to_vector() == round_to(inexact, DType::F16));
  CHECK(Tensor::from_vector(inexact, {4}, DType::BF16).to_vector() == round_to(inexact, DType::BF16));
  // The storage holds exactly those bits.
  const Tensor h = Tensor::from_vector(inexact, {4}, DType::F16);
  for (int i = 0; i < 4; ++i) CHECK(h.data<Half>()[i].bits == float_to_half_bits(inexact[i]));
  const Tensor b = Tensor::from_vector(inexact, {4}, DType::BF16);
  for (int i = 0; i < 4; ++i) CHECK(b.data<BFloat16>()[i].bits == float_to_bf16_bits(inexact[i]));
  // F64 keeps every double bit.
  const std::vector<double> d = {0.1, 1.0 / 3.0, -1e300, 4.9e-324};
  const Tensor t64 = Tensor::from_vector(d, {4});
  CHECK(t64.dtype() == DType::F64);
  CHECK(t64.to_vector_f64() == d);
  CHECK(t64.data<double>()[1] == 1.0 / 3.0);
  // I32 round trip, including the extremes.
  const std::vector<std::int32_t> ints = {0, -1, 2147483647, -2147483647 - 1, 42};
  const Tensor ti = Tensor::from_vector(ints, {5});
  CHECK(ti.dtype() == DType::I32);
  CHECK(ti.to_vector_i32() == ints);
  CHECK(ti.data<std::int32_t>()[2] == 2147483647);
}

TEST_CASE("tensor: slice along dim 0 is a view that shares data") {
  Tensor t = Tensor::from_vector(std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {4, 3});
  const Tensor s = t.slice(1, 3);
  CHECK(s.shape() == Shape{2, 3});
  CHECK(s.to_vector() == std::vector<float>{3, 4, 5, 6, 7, 8});
  CHECK_FALSE(s.same_data(t));  // same storage, different offset
  CHECK(t.slice(0, 4).same_data(t));
  s.data<float>()[0] = 100.0f;  // writing through the view is visible in the base
  CHECK(t.to_vector()[3] == 100.0f);
  // A slice of a slice composes the offsets.
  CHECK(s.slice(1, 2).to_vector() == std::vector<float>{6, 7, 8});
  // Empty slice is allowed; out-of-range or reversed is a shape error.
  CHECK(t.slice(2, 2).numel() == 0);
  CHECK_THROWS_AS(t.slice(3, 5), ShapeError);
  CHECK_THROWS_AS(t.slice(-1, 2), ShapeError);
  CHECK_THROWS_AS(t.slice(3, 2), ShapeError);
}

TEST_CASE("tensor: reshape is a view and one dimension may be -1") {
  Tensor t = Tensor::from_vector(test::random_floats(24, 1, -1, 1), {2, 3, 4});
  const Tensor r = t.reshape({4, -1});
  CHECK(r.shape() == Shape{4, 6});
  CHECK(r.same_data(t));
  CHECK(r.to_vector() == t.to_vector());
  r.data<float>()[5] = 42.0f;
  CHECK(t.to_vector()[5] == 42.0f);
  CHECK(t.reshape({-1}).shape() == Shape{24});
  CHECK(t.reshape({2, -1, 3}).shape() == Shape{2, 4, 3});
  // A reshape of a slice views the slice's rows only.
  const Tensor rows = t.slice(1, 2).reshape({-1});
  CHECK(rows.numel() == 12);
  CHECK(rows.to_vector()[0] == t.to_vector()[12]);

  CHECK_SHAPE_ERROR([&] { (void)t.reshape({5, 5}); }, "[2, 3, 4]", "[5, 5]");
  CHECK_SHAPE_ERROR([&] { (void)t.reshape({5, -1}); }, "[2, 3, 4]");  // 24 is not a multiple of 5
  CHECK_THROWS_AS((void)t.reshape({-1, -1}), ShapeError);
}

TEST_CASE("tensor: to(DType) converts and the same dtype returns the same tensor") {
  const std::vector<float> v = {0.1f, -2.0f, 65520.0f, 3.0e-5f};
  const Tensor f32 = Tensor::from_vector(v, {4});
  CHECK(f32.to(DType::F32).same_data(f32));
  const Tensor f16 = f32.to(DType::F16);
  CHECK(f16.dtype() == DType::F16);
  CHECK(f16.to_vector() == round_to(v, DType::F16));  // 65520 -> inf, 3e-5 -> subnormal
  CHECK(f32.to(DType::BF16).to_vector() == round_to(v, DType::BF16));
  const Tensor f64 = f32.to(DType::F64);
  CHECK(f64.dtype() == DType::F64);
  CHECK(f64.to_vector_f64() == std::vector<double>(v.begin(), v.end()));
  // F64 -> F32 rounds to nearest.
  CHECK(Tensor::from_vector(std::vector<double>{0.1}, {1}).to(DType::F32).to_vector()[0] == 0.1f);
  // F16 -> BF16 goes through the exact f32 value.
  CHECK(f16.to(DType::BF16).to_vector() == round_to(round_to(v, DType::F16), DType::BF16));
  CHECK(f32.to(Device::cpu()).same_data(f32));
}

TEST_CASE("tensor: clone and copy_from are independent copies") {
  Tensor a = Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  Tensor c = a.clone();
  CHECK_FALSE(c.same_data(a));
  CHECK(c.to_vector() == a.to_vector());
  c.data<float>()[0] = -9.0f;
  CHECK(a.to_vector()[0] == 1.0f);
  // Clone of a slice copies only the slice.
  CHECK(a.slice(1, 2).clone().to_vector() == std::vector<float>{3, 4});
  Tensor dst = Tensor::zeros({2, 2});
  dst.copy_from(a);
  CHECK(dst.to_vector() == a.to_vector());
  CHECK_FALSE(dst.same_data(a));
  Tensor wrong = Tensor::zeros({4});
  CHECK_THROWS_AS(wrong.copy_from(a), ShapeError);
  Tensor wrong_dtype = Tensor::zeros({2, 2}, DType::F64);
  CHECK_THROWS_AS(wrong_dtype.copy_from(a), ShapeError);
}

TEST_CASE("tensor: data<T> with the wrong type names both dtypes") {
  const Tensor t = Tensor::zeros({3});
  CHECK_NOTHROW((void)t.data<float>());
  CHECK_SHAPE_ERROR([&] { (void)t.data<double>(); }, "f32", "f64");
  CHECK_SHAPE_ERROR([&] { (void)t.data<Half>(); }, "f32", "f16");
  CHECK_SHAPE_ERROR([&] { (void)Tensor::zeros({1}, DType::I32).data<float>(); }, "i32", "f32");
  CHECK_THROWS_AS((void)Tensor::zeros({2}).item(), Error);  // item() needs exactly one element
}

TEST_CASE("tensor: from_vector checks the element count") {
  CHECK_THROWS_AS(Tensor::from_vector(std::vector<float>{1, 2, 3}, {2, 2}), ShapeError);
  CHECK_THROWS_AS(Tensor::from_vector(std::vector<std::int32_t>{1}, {2}), ShapeError);
}

TEST_CASE("device: parsing and availability") {
  CHECK(parse_device("cpu") == Device::cpu());
  CHECK(parse_device("cuda") == Device::cuda(0));
  CHECK(parse_device("cuda:1") == Device::cuda(1));
  CHECK(Device::cuda(1).str() == "cuda:1");
  CHECK_THROWS_AS(parse_device("gpu"), Error);
  CHECK_THROWS_AS(parse_device("cuda:x"), Error);
  CHECK_NOTHROW(require_usable(Device::cpu()));
  // Never throws, even without a driver.
  const int count = cuda_device_count();
  CHECK(count >= 0);
  if (!cuda_compiled()) CHECK(count == 0);
  if (count == 0) CHECK_FALSE(cuda_unavailable_reason().empty());
  const BuildInfo info = build_info();
  CHECK(info.cuda == cuda_compiled());
  CHECK(static_cast<int>(info.devices.size()) == count);
  CHECK(info.threads >= 1);
  CHECK_FALSE(build_info_text(info).empty());
}

TEST_CASE("tensor: creating a CUDA tensor without a usable GPU throws the right error") {
  if (cuda_compiled() && cuda_device_count() > 0) {
    CHECK_NOTHROW(Tensor::zeros({2}, DType::F32, Device::cuda()));
    return;
  }
  const Tensor cpu = Tensor::zeros({2});
  if (!cuda_compiled()) {
    // CPU-only build: the backend is absent.
    CHECK_THROWS_AS(Tensor::zeros({2}, DType::F32, Device::cuda()), NotCompiled);
    CHECK_THROWS_AS(cpu.to(Device::cuda()), NotCompiled);
    CHECK_THROWS_AS(require_usable(Device::cuda()), NotCompiled);
    CHECK_THROWS_AS(cuda_alloc_stats(0), NotCompiled);
  } else {
    // CUDA build on a machine without a GPU (this CI): the device is absent.
    CHECK_THROWS_AS(Tensor::zeros({2}, DType::F32, Device::cuda()), NoDevice);
    CHECK_THROWS_AS(Tensor::from_vector(std::vector<float>{1}, {1}, DType::F32, Device::cuda()), NoDevice);
    CHECK_THROWS_AS(cpu.to(Device::cuda()), NoDevice);
    CHECK_THROWS_AS(require_usable(Device::cuda()), NoDevice);
  }
}

TEST_SUITE("cuda") {
  TEST_CASE("tensor: CPU -> CUDA -> CPU round trip for every dtype") {
    LOOM_REQUIRE_CUDA_DEVICE();
    const std::vector<float> v = test::random_floats(1000, 3, -100, 100);
    for (DType dt : {DType::F32, DType::F16, DType::BF16}) {
      INFO(std::string(dtype_name(dt)));
      const Tensor cpu = Tensor::from_vector(v, {10, 100}, dt);
      const Tensor gpu = cpu.to(Device::cuda());
      CHECK(gpu.device() == Device::cuda());
      CHECK(gpu.dtype() == dt);
      CHECK(gpu.shape() == cpu.shape());
      CHECK(gpu.to(Device::cuda()).same_data(gpu));
      CHECK(gpu.to(Device::cpu()).to_vector() == cpu.to_vector());
      // Created directly on the device, sliced there, cloned there.
      const Tensor direct = Tensor::from_vector(v, {10, 100}, dt, Device::cuda());
      CHECK(direct.to(Device::cpu()).to_vector() == cpu.to_vector());
      const Tensor rows = direct.slice(3, 5).clone();
      CHECK(rows.device() == Device::cuda());
      CHECK(rows.to(Device::cpu()).to_vector() == cpu.slice(3, 5).to_vector());
      // Conversion on the device rounds exactly like the CPU.
      CHECK(Tensor::from_vector(v, {1000}, DType::F32, Device::cuda()).to(dt).to(Device::cpu()).to_vector() ==
            round_to(v, dt));
      CHECK(Tensor::zeros({7}, dt, Device::cuda()).to(Device::cpu()).to_vector() == std::vector<float>(7, 0.0f));
      CHECK(Tensor::full({7}, 1.5, dt, Device::cuda()).to(Device::cpu()).to_vector() == std::vector<float>(7, 1.5f));
    }
    const std::vector<std::int32_t> ints = {1, -2, 3, 2147483647};
    CHECK(Tensor::from_vector(ints, {4}).to(Device::cuda()).to(Device::cpu()).to_vector_i32() == ints);
    // copy_from across devices.
    Tensor dst = Tensor::zeros({1000}, DType::F32, Device::cuda());
    dst.copy_from(Tensor::from_vector(v, {1000}));
    CHECK(dst.to(Device::cpu()).to_vector() == v);
  }

  TEST_CASE("tensor: the CUDA allocator reuses freed blocks when caching and frees them when plain") {
    LOOM_REQUIRE_CUDA_DEVICE();
    const std::size_t bytes = std::size_t{1} << 20;
    const CudaAllocStats before = cuda_alloc_stats(0);
    CudaAllocStats during;
    {
      const Tensor t = Tensor::empty({static_cast<std::int64_t>(bytes / 4)}, DType::F32, Device::cuda());
      during = cuda_alloc_stats(0);
      CHECK(during.in_use >= before.in_use + bytes);
      CHECK(during.peak >= during.in_use);
    }
    const CudaAllocStats after_free = cuda_alloc_stats(0);
    CHECK(after_free.in_use + bytes <= during.in_use);
    // LOOM_CUDA_ALLOC=plain (the SIM shape's second seed runs with it): no caching, so the same
    // request is a fresh cudaMalloc; this checks that mode instead.
    const char* mode = std::getenv("LOOM_CUDA_ALLOC");
    const bool plain = mode && std::string(mode) == "plain";
    if (plain) CHECK(after_free.cached == 0);
    else CHECK(after_free.cached >= bytes);  // kept for reuse, not cudaFree'd
    {
      const Tensor again = Tensor::empty({static_cast<std::int64_t>(bytes / 4)}, DType::F32, Device::cuda());
      const CudaAllocStats reused = cuda_alloc_stats(0);
      if (plain) {
        CHECK(reused.reuses == after_free.reuses);
        CHECK(reused.device_allocs == after_free.device_allocs + 1);
      } else {
        CHECK(reused.reuses > after_free.reuses);
        CHECK(reused.device_allocs == after_free.device_allocs);  // no new cudaMalloc
      }
    }
    cuda_alloc_release_cached(0);
    CHECK(cuda_alloc_stats(0).cached == 0);
  }
}

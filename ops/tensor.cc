// ops/tensor.cc: creation, views, copies and conversions of Tensor.
#include "ops/tensor.h"

#include <cmath>
#include <sstream>

#include "ops/autograd.h"
#include "ops/dispatch.h"
#include "core/philox.h"
#include "kernels/elementwise/elementwise.h"

namespace loom {
namespace {

void fill(const Tensor& t, double value) {
  kernels::FillArgs a;
  a.n = t.numel();
  a.dtype = t.dtype();
  a.value = value;
  a.y = t.data_ptr();
  ops::run_kernel("fill", t, a, kernels::fill_cpu, LOOM_CUDA_FN(kernels::fill_cuda));
}

void check_shape_valid(const Shape& shape, const char* what) {
  for (auto d : shape)
    LOOM_CHECK_SHAPE(d >= 0, what, ": negative dimension in shape ", shape_str(shape));
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  check_shape_valid(shape, "Tensor::empty");
  LOOM_CHECK_SHAPE(!(device.is_cuda() && dtype == DType::F64), "Tensor::empty: f64 is CPU-only (",
                   device.str(), " requested)");
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.storage_ = std::make_shared<Storage>(static_cast<std::size_t>(loom::numel(shape)) * dtype_size(dtype), device);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  fill(t, value);
  return t;
}

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape, DType dtype, Device device) {
  LOOM_CHECK_SHAPE(static_cast<std::int64_t>(values.size()) == loom::numel(shape), "Tensor::from_vector: ",
                   values.size(), " values for shape ", shape_str(shape));
  Tensor host = empty(shape, DType::F32);
  std::copy(values.begin(), values.end(), host.data<float>());
  return host.to(dtype).to(device);
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype, Device device) {
  LOOM_CHECK_SHAPE(static_cast<std::int64_t>(values.size()) == loom::numel(shape), "Tensor::from_vector: ",
                   values.size(), " values for shape ", shape_str(shape));
  Tensor host = empty(shape, DType::F64);
  std::copy(values.begin(), values.end(), host.data<double>());
  // f64 -> f32 first when the target lives on a GPU (no f64 there).
  return host.to(dtype).to(device);
}

Tensor Tensor::from_vector(const std::vector<std::int32_t>& values, const Shape& shape, Device device) {
  LOOM_CHECK_SHAPE(static_cast<std::int64_t>(values.size()) == loom::numel(shape), "Tensor::from_vector: ",
                   values.size(), " values for shape ", shape_str(shape));
  Tensor host = empty(shape, DType::I32);
  std::copy(values.begin(), values.end(), host.data<std::int32_t>());
  return host.to(device);
}

Tensor Tensor::uniform(const Shape& shape, float low, float high, std::uint64_t seed, std::uint64_t offset,
                       DType dtype, Device device) {
  Tensor host = empty(shape, DType::F64);
  double* p = host.data<double>();
  const std::int64_t n = host.numel();
  for (std::int64_t i = 0; i < n; ++i)
    p[i] = low + (static_cast<double>(high) - low) * philox_uniform(seed, offset + i);
  return host.to(dtype).to(device);
}

Tensor Tensor::normal(const Shape& shape, float mean, float stddev, std::uint64_t seed, std::uint64_t offset,
                      DType dtype, Device device) {
  // Box-Muller on the pair (offset + 2i, offset + 2i + 1); 1 - u1 lies in (0, 1], so the log is finite.
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  Tensor host = empty(shape, DType::F64);
  double* p = host.data<double>();
  const std::int64_t n = host.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    const double u1 = philox_uniform(seed, offset + 2 * i);
    const double u2 = philox_uniform(seed, offset + 2 * i + 1);
    p[i] = mean + stddev * std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(kTwoPi * u2);
  }
  return host.to(dtype).to(device);
}

std::int64_t Tensor::dim(int i) const {
  const int n = ndim();
  const int j = i < 0 ? i + n : i;
  LOOM_CHECK_SHAPE(j >= 0 && j < n, "Tensor::dim: dimension ", i, " out of range for ", str());
  return shape_[j];
}

std::string Tensor::str() const {
  std::ostringstream os;
  os << dtype_name(dtype_) << shape_str(shape_) << " on " << device().str();
  return os.str();
}

void* Tensor::data_ptr() const {
  LOOM_CHECK(defined(), "Tensor::data_ptr: undefined tensor");
  return static_cast<char*>(storage_->data()) + offset_ * static_cast<std::int64_t>(dtype_size(dtype_));
}

void Tensor::check_dtype_is(DType wanted) const {
  LOOM_CHECK_SHAPE(dtype_ == wanted, "Tensor::data<", dtype_name(wanted), ">: tensor is ", str());
}

Tensor Tensor::slice(std::int64_t begin, std::int64_t end) const {
  LOOM_CHECK_SHAPE(ndim() >= 1, "Tensor::slice: needs at least one dimension, got ", str());
  LOOM_CHECK_SHAPE(0 <= begin && begin <= end && end <= shape_[0], "Tensor::slice: rows [", begin, ", ", end,
                   ") out of range for ", str());
  Tensor t;
  t.storage_ = storage_;
  t.dtype_ = dtype_;
  t.shape_ = shape_;
  t.shape_[0] = end - begin;
  t.offset_ = offset_ + begin * (shape_[0] ? numel() / shape_[0] : 0);
  return t;
}

Tensor Tensor::reshape(Shape shape) const {
  int infer = -1;
  std::int64_t known = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      LOOM_CHECK_SHAPE(infer < 0, "Tensor::reshape: more than one -1 in ", shape_str(shape));
      infer = static_cast<int>(i);
    } else {
      LOOM_CHECK_SHAPE(shape[i] >= 0, "Tensor::reshape: negative dimension in ", shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    LOOM_CHECK_SHAPE(known > 0 && numel() % known == 0, "Tensor::reshape: cannot infer -1 reshaping ",
                     shape_str(shape_), " to ", shape_str(shape));
    shape[infer] = numel() / known;
  }
  LOOM_CHECK_SHAPE(loom::numel(shape) == numel(), "Tensor::reshape: ", shape_str(shape_), " has ", numel(),
                   " elements, ", shape_str(shape), " has ", loom::numel(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  t.meta_.reset();
  return t;
}

Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
  Tensor t = empty(shape_, dtype_, device);
  copy_bytes(t.data_ptr(), device, data_ptr(), this->device(), nbytes());
  return t;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  LOOM_CHECK_SHAPE(is_floating(dtype) && is_floating(dtype_), "Tensor::to: no conversion from ",
                   dtype_name(dtype_), " to ", dtype_name(dtype), " (integer tensors do not convert)");
  Tensor t = empty(shape_, dtype, device());
  kernels::CastArgs a;
  a.n = numel();
  a.src_dtype = dtype_;
  a.dst_dtype = dtype;
  a.src = data_ptr();
  a.dst = t.data_ptr();
  ops::run_kernel("cast", *this, a, kernels::cast_cpu, LOOM_CUDA_FN(kernels::cast_cuda));
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_, device());
  t.copy_from(*this);
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  LOOM_CHECK_SHAPE(shape_ == src.shape_ && dtype_ == src.dtype_, "Tensor::copy_from: destination ", str(),
                   " and source ", src.str(), " differ");
  copy_bytes(data_ptr(), device(), src.data_ptr(), src.device(), nbytes());
}

std::vector<float> Tensor::to_vector() const {
  LOOM_CHECK_SHAPE(is_floating(dtype_), "Tensor::to_vector: ", str(), " is not a float tensor");
  Tensor host = to(Device::cpu()).to(DType::F32);
  const float* p = host.data<float>();
  return std::vector<float>(p, p + numel());
}

std::vector<double> Tensor::to_vector_f64() const {
  LOOM_CHECK_SHAPE(is_floating(dtype_), "Tensor::to_vector_f64: ", str(), " is not a float tensor");
  Tensor host = to(Device::cpu()).to(DType::F64);
  const double* p = host.data<double>();
  return std::vector<double>(p, p + numel());
}

std::vector<std::int32_t> Tensor::to_vector_i32() const {
  Tensor host = to(Device::cpu());
  const std::int32_t* p = host.data<std::int32_t>();
  return std::vector<std::int32_t>(p, p + numel());
}

double Tensor::item() const {
  LOOM_CHECK_SHAPE(numel() == 1, "Tensor::item: needs exactly one element, got ", str());
  if (dtype_ == DType::I32) return to_vector_i32()[0];
  return to_vector_f64()[0];
}

bool Tensor::requires_grad() const { return meta_ && meta_->requires_grad; }

Tensor& Tensor::set_requires_grad(bool on) {
  if (!meta_) meta_ = std::make_shared<AutogradMeta>();
  LOOM_CHECK(!on || is_floating(dtype_), "set_requires_grad: ", str(), " is not a float tensor");
  meta_->requires_grad = on;
  meta_->is_leaf = true;
  return *this;
}

Tensor Tensor::grad() const { return meta_ ? meta_->grad : Tensor(); }

void Tensor::zero_grad() {
  if (meta_) meta_->grad = Tensor();
}

}  // namespace loom

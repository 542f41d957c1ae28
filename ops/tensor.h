// ops/tensor.h: the one tensor type.
//
// {shared storage, element offset, shape, dtype} plus an optional autograd handle. Row-major and
// ALWAYS contiguous: there are no general strides. The one view is slice() along dimension 0,
// which with the time-major [T, B, C] layout gives contiguous x[t] slabs. reshape() is a view of
// the same bytes. Anything else (transpose, cast, device move) is an explicit copy.
// slice() and reshape() here are raw views without autograd; inside a recorded computation use
// ops::reshape / ops::slice0 (ops/shape_ops.h), which record their backward.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/shape.h"
#include "core/storage.h"

namespace loom {

struct AutogradMeta;

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false

  // ---- creation ----
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32,
                     Device device = Device::cpu());
  // Values are converted (rounded) to `dtype`; the vector's size must equal numel(shape).
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape,
                            DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                            DType dtype = DType::F64, Device device = Device::cpu());
  static Tensor from_vector(const std::vector<std::int32_t>& values, const Shape& shape,
                            Device device = Device::cpu());
  // Philox streams (core/random.h): element i is the (offset + i)-th number for `seed`, the same
  // on every device and thread count. Generated on the CPU and copied, so bits match everywhere.
  static Tensor uniform(const Shape& shape, float low, float high, std::uint64_t seed,
                        std::uint64_t offset = 0, DType dtype = DType::F32,
                        Device device = Device::cpu());
  static Tensor normal(const Shape& shape, float mean, float stddev, std::uint64_t seed,
                       std::uint64_t offset = 0, DType dtype = DType::F32,
                       Device device = Device::cpu());

  // ---- description ----
  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  std::int64_t dim(int i) const;  // negative i counts from the end
  std::int64_t numel() const { return loom::numel(shape_); }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::cpu(); }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
  std::string str() const;  // "f32[2, 3] on cpu"

  // ---- data ----
  void* data_ptr() const;
  template <typename T>
  T* data() const {
    check_dtype_is(storage_dtype<T>());
    return static_cast<T*>(data_ptr());
  }

  // ---- views and copies ----
  Tensor slice(std::int64_t begin, std::int64_t end) const;  // rows [begin, end) of dimension 0
  Tensor reshape(Shape shape) const;                         // one dimension may be -1
  Tensor to(Device device) const;                            // copy (returns *this if same device)
  Tensor to(DType dtype) const;                              // converting copy (*this if same dtype)
  Tensor clone() const;
  void copy_from(const Tensor& src);                         // same shape and dtype, any devices
  std::vector<float> to_vector() const;                      // any float dtype -> f32 on the host
  std::vector<double> to_vector_f64() const;
  std::vector<std::int32_t> to_vector_i32() const;
  double item() const;                                       // the one value of a 1-element tensor

  // ---- autograd (core/autograd.h) ----
  bool requires_grad() const;
  // Marks a leaf (a parameter or an input to differentiate by); its gradient accumulates.
  Tensor& set_requires_grad(bool on);
  Tensor grad() const;  // undefined until a backward pass reached it
  void zero_grad();     // drops the gradient buffer; the next backward overwrites
  const std::shared_ptr<AutogradMeta>& autograd_meta() const { return meta_; }
  void set_autograd_meta(std::shared_ptr<AutogradMeta> m) { meta_ = std::move(m); }

  // Same storage and element offset: `a` is a view of, or the same tensor as, `b`.
  bool same_data(const Tensor& other) const {
    return storage_ == other.storage_ && offset_ == other.offset_;
  }

 private:
  template <typename T>
  static constexpr DType storage_dtype();
  void check_dtype_is(DType wanted) const;  // throws ShapeError naming both dtypes

  std::shared_ptr<Storage> storage_;
  std::int64_t offset_ = 0;  // in elements
  Shape shape_;
  DType dtype_ = DType::F32;
  std::shared_ptr<AutogradMeta> meta_;
};

template <typename T>
constexpr DType Tensor::storage_dtype() {
  if constexpr (std::is_same_v<T, float>) return DType::F32;
  else if constexpr (std::is_same_v<T, double>) return DType::F64;
  else if constexpr (std::is_same_v<T, Half>) return DType::F16;
  else if constexpr (std::is_same_v<T, BFloat16>) return DType::BF16;
  else if constexpr (std::is_same_v<T, std::int32_t>) return DType::I32;
  else static_assert(sizeof(T) == 0, "no DType for this C++ type");
}

// "f32[2, 3] on cpu" for error messages.
inline std::string describe(const Tensor& t) { return t.defined() ? t.str() : "undefined tensor"; }

}  // namespace loom

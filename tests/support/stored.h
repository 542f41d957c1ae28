// tests/support/stored.h: a host buffer in any float storage type, for tests that call kernels
// directly with raw pointers. Written from doubles (rounded once to the storage type) and read
// back as doubles, so one test body serves F64, F32, F16 and BF16.
//
//   Stored x(values, DType::F16);           // rounds each value to f16
//   Stored y(n, std::nan(""), DType::F32);  // an output that starts as NaN: unwritten slots fail
//   kernel(x.ptr(), y.ptr()); check_close(y.values(), expected, ...);
//
// An empty buffer hands the kernel nullptr, which is how the kernels' nullable arguments say "absent".
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/dtype.h"

namespace loom::test {

class Stored {
 public:
  Stored(const std::vector<double>& v, DType t) : t_(t), n_(v.size()), bytes_(v.size() * dtype_size(t)) {
    for (std::size_t k = 0; k < n_; ++k) set(k, v[k]);
  }
  Stored(std::size_t n, double fill, DType t) : Stored(std::vector<double>(n, fill), t) {}
  void* ptr() { return n_ == 0 ? nullptr : bytes_.data(); }
  std::size_t size() const { return n_; }
  std::vector<double> values() const {
    std::vector<double> v(n_);
    for (std::size_t k = 0; k < n_; ++k) v[k] = get(k);
    return v;
  }

 private:
  void set(std::size_t k, double v) {
    unsigned char* p = bytes_.data() + k * dtype_size(t_);
    const float f = static_cast<float>(v);
    std::uint16_t h = 0;
    switch (t_) {
      case DType::F64: std::memcpy(p, &v, 8); return;
      case DType::F32: std::memcpy(p, &f, 4); return;
      case DType::F16: h = float_to_half_bits(f); break;
      case DType::BF16: h = float_to_bf16_bits(f); break;
      case DType::I32: return;  // not a float storage type; the tests never ask for it
    }
    std::memcpy(p, &h, 2);
  }
  double get(std::size_t k) const {
    const unsigned char* p = bytes_.data() + k * dtype_size(t_);
    double d = 0;
    float f = 0;
    std::uint16_t h = 0;
    switch (t_) {
      case DType::F64: std::memcpy(&d, p, 8); return d;
      case DType::F32: std::memcpy(&f, p, 4); return f;
      case DType::F16: std::memcpy(&h, p, 2); return half_bits_to_float(h);
      case DType::BF16: std::memcpy(&h, p, 2); return bf16_bits_to_float(h);
      case DType::I32: break;
    }
    return 0;
  }
  DType t_;
  std::size_t n_;
  std::vector<unsigned char> bytes_;
};

}  // namespace loom::test

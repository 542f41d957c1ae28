// ops/conv1d.h: 1-D convolution over time and the fused text-CNN block, with autograd.
//
// x [T, B, C] time-major, weight [F, K, C] (layers::Conv1d converts from/to PyTorch's [F, C, K]),
// bias [F], output [T', B, F]. Layouts and formulas: kernels/conv1d/conv1d.h; the implementations
// the front-end chooses from: kernels/conv1d/conv1d_variants.h.
#pragma once

#include <string>
#include <vector>

#include "ops/impl.h"
#include "ops/tensor.h"

namespace loom::ops {

// Which of our CUDA kernels Impl::Cuda runs (the rows cuda-v1, cuda-v2, cuda-v3 of the kernel
// family's variant tables), or, with Impl::Cpu, the naive reference instead of the GEMM form.
enum class Conv1dVariant {
  Direct,        // v1: one thread per output element (the teaching baseline)
  ImplicitGemm,  // v2: shared-memory tiles over time and channels; tensor cores for F16/BF16
  Fused,         // v3: the text-CNN block in one kernel (textcnn() and layers::TextCnnBlock only)
  Reference,     // Impl::Cpu only: the plain loops the tests hold everything against (slow)
};
const char* conv1d_variant_name(Conv1dVariant);  // "cuda-v1", "cuda-v2", "cuda-v3", "reference"

// The most filter widths one text-CNN block takes (the fused kernel's fixed-size argument array).
inline constexpr int kMaxTextCnnWidths = 8;

enum class Padding { Valid, Same, Explicit };

// Sizes and resolved padding of one convolution: x [T, B, C], weight [F, K, C], output [T', B, F].
struct Conv1dGeometry {
  std::int64_t T = 0, B = 0, C = 0, F = 0, K = 1;
  std::int64_t dilation = 1;
  std::int64_t pad_left = 0, pad_right = 0;
  std::int64_t out_T() const { return T + pad_left + pad_right - dilation * (K - 1); }
};

struct Conv1dOptions {
  Padding padding = Padding::Valid;
  std::int64_t pad_left = 0, pad_right = 0;  // Padding::Explicit only
  std::int64_t dilation = 1;
  Impl impl = Impl::Auto;                    // Auto: CPU -> cpu; CUDA -> cuda if supported, else cudnn
  Conv1dVariant variant = Conv1dVariant::ImplicitGemm;  // for Impl::Cuda (and Auto on CUDA)
};

// The geometry these arguments give (padding resolved); throws ShapeError when T' < 1.
Conv1dGeometry conv1d_geometry(const Tensor& x, const Tensor& weight, const Conv1dOptions& options);

// x [T, B, C], weight [F, K, C], bias [F] or undefined -> [T', B, F].
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv1dOptions& options = {});

// Valid output positions per row, [B] I32 on the lengths' device: a row of length len keeps
// clamp(len + pad_left + pad_right - dilation*(K-1), 0, T') outputs.
Tensor conv1d_output_lengths(const Tensor& lengths, const Conv1dGeometry& g);

struct TextCnnFilter {
  Tensor weight;  // [F, K, C]
  Tensor bias;    // [F] or undefined
  Conv1dOptions options;  // padding and dilation (impl/variant are taken from the block's options)
};

struct TextCnnResult {
  Tensor pooled;  // [B, sum F]: max over valid t' of relu(conv + bias), widths side by side
  Tensor argmax;  // [B, sum F] I32: the t' of each max, -1 when a row has no valid position
  Impl impl = Impl::Auto;
};

// Whether the fused block can run these arguments (always on the CPU; on CUDA when the v3 kernel
// supports the shape), and why not.
bool textcnn_supported(const Tensor& x, const std::vector<TextCnnFilter>& filters, std::string* why_not);

// Kim (2014): for every width, conv -> bias -> ReLU -> max over the row's valid positions, in one
// fused node whose backward touches only the argmax positions. lengths [B] I32 or undefined.
TextCnnResult textcnn(const Tensor& x, const Tensor& lengths, const std::vector<TextCnnFilter>& filters,
                      const Conv1dOptions& block_options = {});

}  // namespace loom::ops

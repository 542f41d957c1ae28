// ops/conv1d.h: 1-D convolution over time and the fused text-CNN block, with autograd.
//
// Layouts and formulas: kernels/conv1d/conv1d.h. x [T, B, C] time-major, weight [F, K, C]
// (layers::Conv1d converts from/to PyTorch's [F, C, K]), bias [F], output [T', B, F].
#pragma once

#include <string>
#include <vector>

#include "ops/impl.h"
#include "ops/tensor.h"
#include "kernels/conv1d/conv1d.h"

namespace loom::ops {

using kernels::Conv1dVariant;

// The most filter widths one text-CNN block takes (the fused kernel's fixed-size argument array).
inline constexpr int kMaxTextCnnWidths = kernels::kMaxTextCnnWidths;

enum class Padding { Valid, Same, Explicit };

struct Conv1dOptions {
  Padding padding = Padding::Valid;
  std::int64_t pad_left = 0, pad_right = 0;  // Padding::Explicit only
  std::int64_t dilation = 1;
  Impl impl = Impl::Auto;                    // Auto: CPU -> cpu; CUDA -> cuda if supported, else cudnn
  Conv1dVariant variant = Conv1dVariant::ImplicitGemm;  // for Impl::Cuda
};

// The geometry these arguments give (padding resolved); throws ShapeError when T' < 1.
kernels::Conv1dGeometry conv1d_geometry(const Tensor& x, const Tensor& weight, const Conv1dOptions& options);

// x [T, B, C], weight [F, K, C], bias [F] or undefined -> [T', B, F].
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv1dOptions& options = {});

// Valid output positions per row, [B] I32 on the lengths' device (conv1d_output_length).
Tensor conv1d_output_lengths(const Tensor& lengths, const kernels::Conv1dGeometry& g);

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

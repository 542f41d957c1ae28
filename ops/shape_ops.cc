// ops/shape_ops.cc: reshape, slice0, concat0, concat_last and split_last, each forward followed
// by its backward (record_op).
//
// reshape and slice0 are views (no copy); their backward writes the gradient into the matching
// place of the input's gradient. concat_last/split_last copy blocks of columns: each part is a
// [rows, width] block of the [rows, total] joined matrix; concat0 copies each part as one run of
// elements (kernels: copy_block in elementwise).
#include "ops/shape_ops.h"

#include <numeric>

#include "ops/autocast.h"
#include "ops/autograd.h"
#include "ops/dispatch.h"
#include "ops/op_util.h"
#include "kernels/elementwise/elementwise.h"

namespace loom::ops {
namespace {

void copy_block(const char* op, const Tensor& on, const kernels::CopyBlockArgs& a) {
  run_kernel(op, on, a, kernels::copy_block_cpu, LOOM_CUDA_FN(kernels::copy_block_cuda));
}

void fill_zero(const char* op, const Tensor& t) {
  kernels::FillArgs a;
  a.n = t.numel();
  a.dtype = t.dtype();
  a.value = 0.0;
  a.y = t.data_ptr();
  run_kernel(op, t, a, kernels::fill_cpu, LOOM_CUDA_FN(kernels::fill_cuda));
}

// dst (+)= src over n elements.
void add_into(const char* op, const Tensor& src, void* dst, GradMode mode) {
  kernels::ScaleArgs a;
  a.n = src.numel();
  a.dtype = src.dtype();
  a.x = src.data_ptr();
  a.y = dst;
  a.mode = mode;
  run_kernel(op, src, a, kernels::scale_cpu, LOOM_CUDA_FN(kernels::scale_cuda));
}

// Copies part (rows x width) into / out of column `col` of a rows x total matrix.
kernels::CopyBlockArgs column_block(std::int64_t rows, std::int64_t width, std::int64_t total, std::int64_t col,
                                    DType dtype) {
  kernels::CopyBlockArgs a;
  a.rows = rows;
  a.cols = width;
  a.dtype = dtype;
  a.src_ld = width;
  a.dst_ld = total;
  a.dst_col = col;
  return a;
}

}  // namespace

Tensor concat0(const std::vector<Tensor>& parts_in) {
  const std::vector<Tensor> parts = autocast_inputs("concat0", parts_in);  // Widest in a region
  LOOM_CHECK_SHAPE(!parts.empty(), "concat0: no tensors to join");
  const Tensor& first = parts[0];
  detail::check_defined("concat0", first, "part 0");
  LOOM_CHECK_SHAPE(first.ndim() >= 1, "concat0: parts need at least one dimension, got ", first.str());
  const Shape tail(first.shape().begin() + 1, first.shape().end());
  std::int64_t rows = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Tensor& p = parts[i];
    detail::check_defined("concat0", p, "a part");
    detail::check_same_kind("concat0", first, p);
    LOOM_CHECK_SHAPE(p.ndim() == first.ndim() && Shape(p.shape().begin() + 1, p.shape().end()) == tail, "concat0: part ",
                     i, " has shape ", shape_str(p.shape()), ", part 0 has ", shape_str(first.shape()),
                     " (all but the first dimension must match)");
    rows += p.dim(0);
  }
  Shape out_shape = first.shape();
  out_shape[0] = rows;
  Tensor y = Tensor::empty(out_shape, first.dtype(), first.device());
  std::vector<std::int64_t> offsets;
  std::int64_t offset = 0;
  for (const Tensor& p : parts) {
    offsets.push_back(offset);
    kernels::CopyBlockArgs a;  // one row of p.numel() elements into the joined row
    a.rows = 1;
    a.cols = p.numel();
    a.dtype = p.dtype();
    a.src = p.data_ptr();
    a.src_ld = a.cols;
    a.dst = y.data_ptr();
    a.dst_ld = y.numel();
    a.dst_col = offset;
    if (a.cols > 0) copy_block("concat0", p, a);
    offset += p.numel();
  }

  // Each part is a contiguous run of elements in the joined tensor: part i starts at offsets[i].
  std::vector<const Tensor*> inputs;
  for (const Tensor& p : parts) inputs.push_back(&p);
  record_op("concat0", inputs, {&y}, [offsets](Node& node) {
    const Tensor dy = node.grad_output(0);
    for (std::size_t i = 0; i < offsets.size(); ++i) {
      if (!node.needs_grad(static_cast<int>(i))) continue;
      const GradTarget dx = node.grad_input(static_cast<int>(i));
      kernels::CopyBlockArgs a;
      a.rows = 1;
      a.cols = dx.buffer.numel();
      a.dtype = dy.dtype();
      a.src = dy.data_ptr();
      a.src_ld = dy.numel();
      a.src_col = offsets[i];
      a.dst = dx.buffer.data_ptr();
      a.dst_ld = a.cols;
      a.mode = dx.mode;
      copy_block("concat0", dy, a);
    }
  });
  return y;
}

Tensor reshape(const Tensor& x_in, const Shape& shape) {
  const Tensor x = autocast_input("reshape", x_in);  // AsIs: checks the op has a row
  detail::check_defined("reshape", x, "x");
  Tensor y = x.reshape(shape);
  record_op("reshape", {&x}, {&y}, [](Node& node) {
    const Tensor dy = node.grad_output(0);
    const GradTarget dx = node.grad_input(0);
    add_into("reshape", dy, dx.buffer.data_ptr(), dx.mode);
  });
  return y;
}

Tensor slice0(const Tensor& x_in, std::int64_t begin, std::int64_t end) {
  const Tensor x = autocast_input("slice0", x_in);  // AsIs: checks the op has a row
  detail::check_defined("slice0", x, "x");
  Tensor y = x.slice(begin, end);
  record_op("slice0", {&x}, {&y}, [begin](Node& node) {
    const Tensor dy = node.grad_output(0);
    const GradTarget dx = node.grad_input(0);
    // Rows outside the slice get zero gradient: a fresh buffer is zeroed first.
    if (dx.mode == GradMode::Overwrite) fill_zero("slice0", dx.buffer);
    Tensor rows = dx.buffer.slice(begin, begin + dy.dim(0));
    add_into("slice0", dy, rows.data_ptr(), GradMode::Accumulate);
  });
  return y;
}

Tensor concat_last(const std::vector<Tensor>& parts_in) {
  const std::vector<Tensor> parts = autocast_inputs("concat_last", parts_in);  // Widest in a region
  LOOM_CHECK_SHAPE(!parts.empty(), "concat_last: no tensors to join");
  const Tensor& first = parts[0];
  detail::check_defined("concat_last", first, "part 0");
  LOOM_CHECK_SHAPE(first.ndim() >= 1, "concat_last: parts need at least one dimension, got ", first.str());
  std::vector<std::int64_t> widths;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Tensor& p = parts[i];
    detail::check_defined("concat_last", p, "a part");
    detail::check_same_kind("concat_last", first, p);
    Shape lead_p(p.shape().begin(), p.shape().end() - (p.ndim() ? 1 : 0));
    Shape lead_0(first.shape().begin(), first.shape().end() - 1);
    LOOM_CHECK_SHAPE(p.ndim() == first.ndim() && lead_p == lead_0, "concat_last: part ", i, " has shape ",
                     shape_str(p.shape()), ", part 0 has ", shape_str(first.shape()),
                     " (all but the last dimension must match)");
    widths.push_back(p.dim(-1));
  }
  const std::int64_t total = std::accumulate(widths.begin(), widths.end(), std::int64_t{0});
  Shape out_shape = first.shape();
  out_shape.back() = total;
  Tensor y = Tensor::empty(out_shape, first.dtype(), first.device());
  // The rows are the product of the leading dimensions: not rows_of(first), which is 0 when part 0
  // is empty ([B, 0]) and would leave every other part uncopied.
  std::int64_t rows = 1;
  for (std::size_t d = 0; d + 1 < out_shape.size(); ++d) rows *= out_shape[d];
  std::int64_t col = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    kernels::CopyBlockArgs a = column_block(rows, widths[i], total, col, first.dtype());
    a.src = parts[i].data_ptr();
    a.dst = y.data_ptr();
    copy_block("concat_last", first, a);
    col += widths[i];
  }

  std::vector<const Tensor*> inputs;
  for (const Tensor& p : parts) inputs.push_back(&p);
  record_op("concat_last", inputs, {&y}, [widths](Node& node) {
    const Tensor dy = node.grad_output(0);
    const std::int64_t total = detail::cols_of(dy), rows = detail::rows_of(dy);
    std::int64_t col = 0;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      if (node.needs_grad(static_cast<int>(i))) {
        const GradTarget dx = node.grad_input(static_cast<int>(i));
        kernels::CopyBlockArgs a;
        a.rows = rows;
        a.cols = widths[i];
        a.dtype = dy.dtype();
        a.src = dy.data_ptr();
        a.src_ld = total;
        a.src_col = col;
        a.dst = dx.buffer.data_ptr();
        a.dst_ld = widths[i];
        a.mode = dx.mode;
        copy_block("concat_last", dy, a);
      }
      col += widths[i];
    }
  });
  return y;
}

std::vector<Tensor> split_last(const Tensor& x_in, const std::vector<std::int64_t>& widths) {
  const Tensor x = autocast_input("split_last", x_in);  // AsIs: checks the op has a row
  detail::check_defined("split_last", x, "x");
  LOOM_CHECK_SHAPE(x.ndim() >= 1 && !widths.empty(), "split_last: needs a tensor with dimensions and widths, got ",
                   x.str());
  const std::int64_t total = x.dim(-1);
  std::int64_t sum = 0;
  for (auto w : widths) {
    LOOM_CHECK_SHAPE(w >= 0, "split_last: negative width ", w);
    sum += w;
  }
  LOOM_CHECK_SHAPE(sum == total, "split_last: widths sum to ", sum, " but ", shape_str(x.shape()),
                   " has last dimension ", total);
  const std::int64_t rows = detail::rows_of(x);
  std::vector<Tensor> parts;
  std::int64_t col = 0;
  for (auto w : widths) {
    Shape s = x.shape();
    s.back() = w;
    Tensor part = Tensor::empty(s, x.dtype(), x.device());
    kernels::CopyBlockArgs a;
    a.rows = rows;
    a.cols = w;
    a.dtype = x.dtype();
    a.src = x.data_ptr();
    a.src_ld = total;
    a.src_col = col;
    a.dst = part.data_ptr();
    a.dst_ld = w;
    copy_block("split_last", x, a);
    parts.push_back(part);
    col += w;
  }

  std::vector<Tensor*> outs;
  for (auto& p : parts) outs.push_back(&p);
  record_op("split_last", {&x}, outs, [widths](Node& node) {
    const GradTarget dx = node.grad_input(0);
    const std::int64_t total = detail::cols_of(dx.buffer), rows = detail::rows_of(dx.buffer);
    std::int64_t col = 0;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const Tensor dy = node.grad_output(static_cast<int>(i));  // zeros when that part was unused
      kernels::CopyBlockArgs a = column_block(rows, widths[i], total, col, dy.dtype());
      a.src = dy.data_ptr();
      a.dst = dx.buffer.data_ptr();
      a.mode = dx.mode;  // the parts tile the columns, so each element is written exactly once
      copy_block("split_last", dy, a);
      col += widths[i];
    }
  });
  return parts;
}

}  // namespace loom::ops

// ops/shape_ops.cc: reshape, slice0, concat_last and split_last with autograd.
//
// reshape and slice0 are views (no copy); their backward writes the gradient into the matching
// place of the input's gradient. concat_last/split_last copy blocks of columns: each part is a
// [rows, width] block of the [rows, total] joined matrix (kernels: copy_block in elementwise).
#include "ops/shape_ops.h"

#include <numeric>

#include "ops/autograd.h"
#include "ops/op_util.h"
#include "kernels/elementwise/elementwise.h"

namespace loom::ops {
namespace {

void run_copy_block(const kernels::CopyBlockArgs& a, const Tensor& on) {
  if (on.device().is_cpu()) kernels::copy_block_cpu(a);
  else LOOM_IF_CUDA(kernels::copy_block_cuda(a, detail::ctx(on)));
}

void run_scale(const kernels::ScaleArgs& a, const Tensor& on) {
  if (on.device().is_cpu()) kernels::scale_cpu(a);
  else LOOM_IF_CUDA(kernels::scale_cuda(a, detail::ctx(on)));
}

void run_fill(const Tensor& t, double v) {
  kernels::FillArgs a;
  a.n = t.numel();
  a.dtype = t.dtype();
  a.value = v;
  a.y = t.data_ptr();
  if (t.device().is_cpu()) kernels::fill_cpu(a);
  else LOOM_IF_CUDA(kernels::fill_cuda(a, detail::ctx(t)));
}

// dst (+)= src over n elements.
void add_into(const Tensor& src, void* dst, GradMode mode) {
  kernels::ScaleArgs a;
  a.n = src.numel();
  a.dtype = src.dtype();
  a.x = src.data_ptr();
  a.y = dst;
  a.mode = mode;
  run_scale(a, src);
}

struct ReshapeNode final : Node {
  const char* name() const override { return "reshape"; }
  void backward() override {
    const Tensor dy = grad_output(0);
    const GradTarget dx = grad_input(0);
    add_into(dy, dx.buffer.data_ptr(), dx.mode);
  }
};

struct Slice0Node final : Node {
  std::int64_t begin = 0;
  const char* name() const override { return "slice0"; }
  void backward() override {
    const Tensor dy = grad_output(0);
    const GradTarget dx = grad_input(0);
    // Rows outside the slice get zero gradient: a fresh buffer is zeroed first.
    if (dx.mode == GradMode::Overwrite) run_fill(dx.buffer, 0.0);
    Tensor rows = dx.buffer.slice(begin, begin + dy.dim(0));
    add_into(dy, rows.data_ptr(), GradMode::Accumulate);
  }
};

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

struct ConcatNode final : Node {
  std::vector<std::int64_t> widths;
  const char* name() const override { return "concat_last"; }
  void backward() override {
    const Tensor dy = grad_output(0);
    const std::int64_t total = detail::cols_of(dy), rows = detail::rows_of(dy);
    std::int64_t col = 0;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      if (needs_grad(static_cast<int>(i))) {
        const GradTarget dx = grad_input(static_cast<int>(i));
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
        run_copy_block(a, dy);
      }
      col += widths[i];
    }
  }
};

struct SplitNode final : Node {
  std::vector<std::int64_t> widths;
  const char* name() const override { return "split_last"; }
  void backward() override {
    const GradTarget dx = grad_input(0);
    const std::int64_t total = detail::cols_of(dx.buffer), rows = detail::rows_of(dx.buffer);
    std::int64_t col = 0;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const Tensor dy = grad_output(static_cast<int>(i));  // zeros when that part was unused
      kernels::CopyBlockArgs a = column_block(rows, widths[i], total, col, dy.dtype());
      a.src = dy.data_ptr();
      a.dst = dx.buffer.data_ptr();
      a.mode = dx.mode;  // the parts tile the columns, so each element is written exactly once
      run_copy_block(a, dy);
      col += widths[i];
    }
  }
};

// Each part is a contiguous run of elements in the joined tensor: part i starts at offsets[i].
struct Concat0Node final : Node {
  std::vector<std::int64_t> offsets;
  const char* name() const override { return "concat0"; }
  void backward() override {
    const Tensor dy = grad_output(0);
    for (std::size_t i = 0; i < offsets.size(); ++i) {
      if (!needs_grad(static_cast<int>(i))) continue;
      const GradTarget dx = grad_input(static_cast<int>(i));
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
      run_copy_block(a, dy);
    }
  }
};

}  // namespace

Tensor concat0(const std::vector<Tensor>& parts) {
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
  detail::trace("concat0", first);
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
    if (a.cols > 0) run_copy_block(a, p);
    offset += p.numel();
  }
  std::vector<const Tensor*> inputs;
  bool record = false;
  for (const Tensor& p : parts) {
    inputs.push_back(&p);
    record = record || should_record({&p});
  }
  if (record) {
    auto node = std::make_unique<Concat0Node>();
    node->offsets = offsets;
    record_node(std::move(node), inputs, {&y});
  }
  return y;
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  detail::check_defined("reshape", x, "x");
  Tensor y = x.reshape(shape);
  if (should_record({&x})) record_node(std::make_unique<ReshapeNode>(), {&x}, {&y});
  return y;
}

Tensor slice0(const Tensor& x, std::int64_t begin, std::int64_t end) {
  detail::check_defined("slice0", x, "x");
  Tensor y = x.slice(begin, end);
  if (should_record({&x})) {
    auto node = std::make_unique<Slice0Node>();
    node->begin = begin;
    record_node(std::move(node), {&x}, {&y});
  }
  return y;
}

Tensor concat_last(const std::vector<Tensor>& parts) {
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
  const std::int64_t rows = detail::rows_of(first);
  detail::trace("concat_last", first);
  std::int64_t col = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    kernels::CopyBlockArgs a = column_block(rows, widths[i], total, col, first.dtype());
    a.src = parts[i].data_ptr();
    a.dst = y.data_ptr();
    run_copy_block(a, first);
    col += widths[i];
  }
  std::vector<const Tensor*> inputs;
  bool record = false;
  for (const Tensor& p : parts) {
    inputs.push_back(&p);
    record = record || should_record({&p});
  }
  if (record) {
    auto node = std::make_unique<ConcatNode>();
    node->widths = widths;
    record_node(std::move(node), inputs, {&y});
  }
  return y;
}

std::vector<Tensor> split_last(const Tensor& x, const std::vector<std::int64_t>& widths) {
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
  detail::trace("split_last", x);
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
    run_copy_block(a, x);
    parts.push_back(part);
    col += w;
  }
  if (should_record({&x})) {
    auto node = std::make_unique<SplitNode>();
    node->widths = widths;
    std::vector<Tensor*> outs;
    for (auto& p : parts) outs.push_back(&p);
    record_node(std::move(node), {&x}, outs);
  }
  return parts;
}

}  // namespace loom::ops

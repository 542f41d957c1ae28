// ops/conv1d.cc: conv1d and the fused text-CNN block with autograd. ONE switch over Impl
// per direction of the computation; Auto resolves CPU -> Cpu, CUDA -> our kernels when they
// support the shape, else cuDNN.
#include "ops/conv1d.h"

#include <string>

#include "ops/autograd.h"
#include "ops/op_util.h"

namespace loom::ops {
namespace {

const void* ptr_or_null(const Tensor& t) { return t.defined() ? t.data_ptr() : nullptr; }

kernels::Conv1dGeometry geometry_for(std::int64_t T, std::int64_t B, std::int64_t C, const Tensor& weight,
                                     const Conv1dOptions& o) {
  kernels::Conv1dGeometry g;
  g.T = T;
  g.B = B;
  g.C = C;
  g.F = weight.dim(0);
  g.K = weight.dim(1);
  g.dilation = o.dilation;
  switch (o.padding) {
    case Padding::Valid: break;
    case Padding::Same: kernels::conv1d_same_padding(g.K, g.dilation, &g.pad_left, &g.pad_right); break;
    case Padding::Explicit:
      g.pad_left = o.pad_left;
      g.pad_right = o.pad_right;
      break;
  }
  return g;
}

void check_weight(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv1dOptions& o) {
  detail::check_defined(op, weight, "weight");
  detail::check_same_kind(op, x, weight);
  LOOM_CHECK_SHAPE(weight.ndim() == 3 && weight.dim(2) == x.dim(2) && weight.dim(1) >= 1, op, ": weight must be [F, K, ",
                   x.dim(2), "] for input ", shape_str(x.shape()), ", got ", shape_str(weight.shape()));
  if (bias.defined()) {
    detail::check_same_kind(op, x, bias);
    LOOM_CHECK_SHAPE(bias.shape() == Shape({weight.dim(0)}), op, ": bias must be [", weight.dim(0), "], got ",
                     shape_str(bias.shape()));
  }
  LOOM_CHECK_SHAPE(o.dilation >= 1 && o.pad_left >= 0 && o.pad_right >= 0, op,
                   ": dilation must be >= 1 and padding >= 0, got dilation ", o.dilation, ", padding ", o.pad_left, "/",
                   o.pad_right);
}

void check_input(const char* op, const Tensor& x) {
  detail::check_defined(op, x, "x");
  detail::check_float(op, x);
  LOOM_CHECK_SHAPE(x.ndim() == 3, op, ": x must be [T, B, C], got ", shape_str(x.shape()));
}

Impl resolve_conv_impl(const Tensor& x, [[maybe_unused]] const kernels::Conv1dFwdArgs& a, const Conv1dOptions& o) {
  const bool on_cpu = x.device().is_cpu();
  if (o.impl != Impl::Auto) {
    LOOM_CHECK(on_cpu == (o.impl == Impl::Cpu), "conv1d: --impl ", impl_name(o.impl), " cannot run tensors on ",
               x.device().str());
    return o.impl;
  }
  if (on_cpu) return Impl::Cpu;
  std::string why_cuda = "not compiled", why_cudnn = "cuDNN is not compiled in";
  bool ok = false;
  LOOM_IF_CUDA(ok = kernels::conv1d_cuda_supports(a, o.variant, &why_cuda));
  if (ok) return Impl::Cuda;
  if (cudnn_compiled()) {
    LOOM_IF_CUDNN(ok = kernels::conv1d_cudnn_supports(a, &why_cudnn));
    if (ok) return Impl::Cudnn;
  }
  LOOM_THROW(Error, "conv1d: no CUDA implementation fits: ", why_cuda, "; cuDNN: ", why_cudnn);
}

struct Conv1dNode final : Node {
  kernels::Conv1dGeometry g;
  Impl impl = Impl::Cpu;
  Conv1dVariant variant = Conv1dVariant::ImplicitGemm;
  Tensor saved_x, saved_weight;
  const char* name() const override { return "conv1d"; }
  void backward() override {
    const Tensor dy = grad_output(0);
    kernels::Conv1dBwdArgs a;
    a.g = g;
    a.dtype = dy.dtype();
    a.x = saved_x.data_ptr();
    a.weight = saved_weight.data_ptr();
    a.dy = dy.data_ptr();
    GradTarget dx, dw, db;
    if (needs_grad(0)) {
      dx = grad_input(0);
      a.dx = dx.buffer.data_ptr();
      a.input_mode = dx.mode;
    }
    // One param_mode for dweight and dbias: a fresh buffer is zeroed when its sibling accumulates.
    if (needs_grad(1)) dw = grad_input(1);
    if (inputs.size() > 2 && needs_grad(2)) db = grad_input(2);
    const bool accumulate = (dw.buffer.defined() && dw.mode == GradMode::Accumulate) ||
                            (db.buffer.defined() && db.mode == GradMode::Accumulate);
    for (GradTarget* t : {&dw, &db}) {
      if (accumulate && t->buffer.defined() && t->mode == GradMode::Overwrite)
        t->buffer.copy_from(Tensor::zeros(t->buffer.shape(), t->buffer.dtype(), t->buffer.device()));
    }
    a.dweight = dw.buffer.defined() ? dw.buffer.data_ptr() : nullptr;
    a.dbias = db.buffer.defined() ? db.buffer.data_ptr() : nullptr;
    a.param_mode = accumulate ? GradMode::Accumulate : GradMode::Overwrite;
    switch (impl) {
      case Impl::Cpu: kernels::conv1d_bwd_cpu(a); return;
      case Impl::Cuda: LOOM_IF_CUDA(kernels::conv1d_bwd_cuda(a, detail::ctx(dy), variant)); return;
      case Impl::Cudnn: LOOM_IF_CUDNN(kernels::conv1d_bwd_cudnn(a, detail::ctx(dy))); return;
      case Impl::Auto: break;
    }
  }
};

struct TextCnnNode final : Node {
  kernels::TextCnnFwdArgs args;  // geometry; pointers refreshed from the saved tensors
  Impl impl = Impl::Cpu;
  Tensor saved_x, saved_lengths, saved_pooled, saved_argmax;
  std::vector<Tensor> saved_weights, saved_biases;
  const char* name() const override { return "textcnn"; }
  void backward() override {
    const Tensor dpooled = grad_output(0);
    kernels::TextCnnBwdArgs a;
    a.fwd = args;
    a.fwd.x = saved_x.data_ptr();
    a.fwd.lengths = saved_lengths.defined() ? saved_lengths.data<std::int32_t>() : nullptr;
    a.fwd.pooled = saved_pooled.data_ptr();
    a.fwd.argmax = saved_argmax.data<std::int32_t>();
    a.dpooled = dpooled.data_ptr();
    if (needs_grad(0)) {
      const GradTarget dx = grad_input(0);
      a.dx = dx.buffer.data_ptr();
      a.input_mode = dx.mode;
    }
    // Inputs: 0 x, then per width w: 1 + 2w weight, 2 + 2w bias.
    std::vector<GradTarget> targets;
    targets.reserve(2 * args.num_widths);
    bool accumulate = false;
    for (int w = 0; w < args.num_widths; ++w) {
      for (int k = 0; k < 2; ++k) {
        const int input = 1 + 2 * w + k;
        targets.push_back(input < static_cast<int>(inputs.size()) && needs_grad(input) ? grad_input(input) : GradTarget{});
        accumulate = accumulate || (targets.back().buffer.defined() && targets.back().mode == GradMode::Accumulate);
      }
    }
    for (GradTarget& t : targets)
      if (accumulate && t.buffer.defined() && t.mode == GradMode::Overwrite)
        t.buffer.copy_from(Tensor::zeros(t.buffer.shape(), t.buffer.dtype(), t.buffer.device()));
    for (int w = 0; w < args.num_widths; ++w) {
      kernels::TextCnnWidth& k = a.fwd.widths[w];
      k.weight = saved_weights[w].data_ptr();
      k.bias = ptr_or_null(saved_biases[w]);
      k.dweight = targets[2 * w].buffer.defined() ? targets[2 * w].buffer.data_ptr() : nullptr;
      k.dbias = targets[2 * w + 1].buffer.defined() ? targets[2 * w + 1].buffer.data_ptr() : nullptr;
    }
    a.param_mode = accumulate ? GradMode::Accumulate : GradMode::Overwrite;
    if (impl == Impl::Cpu) kernels::textcnn_bwd_cpu(a);
    else LOOM_IF_CUDA(kernels::textcnn_bwd_cuda(a, detail::ctx(dpooled)));
  }
};

}  // namespace

kernels::Conv1dGeometry conv1d_geometry(const Tensor& x, const Tensor& weight, const Conv1dOptions& options) {
  const kernels::Conv1dGeometry g = geometry_for(x.dim(0), x.dim(1), x.dim(2), weight, options);
  LOOM_CHECK_SHAPE(g.out_T() >= 1, "conv1d: input of T = ", g.T, " steps is too short for K = ", g.K, ", dilation ",
                   g.dilation, " and padding ", g.pad_left, "/", g.pad_right, " (output would have ", g.out_T(),
                   " steps; use padding same)");
  return g;
}

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv1dOptions& options) {
  check_input("conv1d", x);
  check_weight("conv1d", x, weight, bias, options);
  const kernels::Conv1dGeometry g = conv1d_geometry(x, weight, options);
  Tensor y = Tensor::empty({g.out_T(), g.B, g.F}, x.dtype(), x.device());
  kernels::Conv1dFwdArgs a;
  a.g = g;
  a.dtype = x.dtype();
  a.x = x.data_ptr();
  a.weight = weight.data_ptr();
  a.bias = ptr_or_null(bias);
  a.y = y.data_ptr();
  const Impl impl = resolve_conv_impl(x, a, options);
  const std::string choice =
      std::string(impl_name(impl)) + (impl == Impl::Cuda ? std::string("/") + kernels::conv1d_variant_name(options.variant) : "");
  ::loom::detail::trace_choice("conv1d", choice.c_str());
  switch (impl) {
    case Impl::Cpu: kernels::conv1d_fwd_cpu(a); break;
    case Impl::Cuda: LOOM_IF_CUDA(kernels::conv1d_fwd_cuda(a, detail::ctx(x), options.variant)); break;
    case Impl::Cudnn: LOOM_IF_CUDNN(kernels::conv1d_fwd_cudnn(a, detail::ctx(x))); break;
    case Impl::Auto: break;
  }
  if (should_record({&x, &weight, &bias})) {
    auto node = std::make_unique<Conv1dNode>();
    node->g = g;
    node->impl = impl;
    node->variant = options.variant;
    node->saved_x = x;
    node->saved_weight = weight;
    if (bias.defined()) record_node(std::move(node), {&x, &weight, &bias}, {&y});
    else record_node(std::move(node), {&x, &weight}, {&y});
  }
  return y;
}

Tensor conv1d_output_lengths(const Tensor& lengths, const kernels::Conv1dGeometry& g) {
  LOOM_CHECK_SHAPE(lengths.dtype() == DType::I32 && lengths.ndim() == 1, "conv1d_output_lengths: lengths must be i32 [B], got ",
                   lengths.str());
  std::vector<std::int32_t> len = lengths.to_vector_i32();
  for (auto& l : len) l = static_cast<std::int32_t>(kernels::conv1d_output_length(g, l));
  return Tensor::from_vector(len, lengths.shape(), lengths.device());
}

namespace {

// The kernel arguments of a text-CNN block (pointers of x's weights; outputs left null).
kernels::TextCnnFwdArgs textcnn_args(const Tensor& x, const std::vector<TextCnnFilter>& filters,
                                     std::int64_t* total_F) {
  check_input("textcnn", x);
  LOOM_CHECK_SHAPE(!filters.empty() && filters.size() <= static_cast<std::size_t>(kernels::kMaxTextCnnWidths),
                   "textcnn: between 1 and ", kernels::kMaxTextCnnWidths, " filter widths, got ", filters.size());
  kernels::TextCnnFwdArgs a;
  a.T = x.dim(0);
  a.B = x.dim(1);
  a.C = x.dim(2);
  a.dtype = x.dtype();
  a.num_widths = static_cast<int>(filters.size());
  *total_F = 0;
  for (std::size_t w = 0; w < filters.size(); ++w) {
    const TextCnnFilter& f = filters[w];
    check_weight("textcnn", x, f.weight, f.bias, f.options);
    const kernels::Conv1dGeometry g = conv1d_geometry(x, f.weight, f.options);
    kernels::TextCnnWidth& k = a.widths[w];
    k.F = g.F;
    k.K = g.K;
    k.dilation = g.dilation;
    k.pad_left = g.pad_left;
    k.pad_right = g.pad_right;
    k.weight = f.weight.data_ptr();
    k.bias = ptr_or_null(f.bias);
    *total_F += g.F;
  }
  a.x = x.data_ptr();
  return a;
}

}  // namespace

bool textcnn_supported(const Tensor& x, const std::vector<TextCnnFilter>& filters, std::string* why_not) {
  std::int64_t total_F = 0;
  [[maybe_unused]] const kernels::TextCnnFwdArgs a = textcnn_args(x, filters, &total_F);
  if (x.device().is_cpu()) return true;
  bool ok = false;
  if (why_not) *why_not = "CUDA is not compiled in";
  LOOM_IF_CUDA(ok = kernels::textcnn_cuda_supports(a, why_not));
  return ok;
}

TextCnnResult textcnn(const Tensor& x, const Tensor& lengths, const std::vector<TextCnnFilter>& filters,
                      const Conv1dOptions& block) {
  std::int64_t total_F = 0;
  kernels::TextCnnFwdArgs a = textcnn_args(x, filters, &total_F);
  const std::int64_t T = x.dim(0), B = x.dim(1);
  if (lengths.defined()) {
    LOOM_CHECK_SHAPE(lengths.dtype() == DType::I32 && lengths.shape() == Shape({B}) && lengths.device() == x.device(),
                     "textcnn: lengths must be i32 [", B, "] on ", x.device().str(), ", got ", lengths.str());
    for (std::int32_t l : lengths.to_vector_i32())
      LOOM_CHECK_SHAPE(l >= 0 && l <= T, "textcnn: length ", l, " is outside [0, T] = [0, ", T, "]");
  }
  a.lengths = lengths.defined() ? lengths.data<std::int32_t>() : nullptr;
  TextCnnResult r;
  r.pooled = Tensor::empty({B, total_F}, x.dtype(), x.device());
  r.argmax = Tensor::empty({B, total_F}, DType::I32, x.device());
  a.pooled = r.pooled.data_ptr();
  a.argmax = r.argmax.data<std::int32_t>();
  r.impl = x.device().is_cpu() ? Impl::Cpu : Impl::Cuda;
  if (block.impl != Impl::Auto)
    LOOM_CHECK(block.impl == r.impl, "textcnn: the fused block runs on ", impl_name(r.impl), " for tensors on ",
               x.device().str(), ", not ", impl_name(block.impl), " (layers::TextCnnBlock composes ops otherwise)");
  if (r.impl == Impl::Cuda) {
    std::string why;
    bool ok = false;
    LOOM_IF_CUDA(ok = kernels::textcnn_cuda_supports(a, &why));
    LOOM_CHECK(ok, "textcnn: the fused CUDA block does not support these arguments: ", why);
  }
  ::loom::detail::trace_choice("textcnn", r.impl == Impl::Cpu ? "cpu/fused" : "cuda/fused");
  if (r.impl == Impl::Cpu) kernels::textcnn_fwd_cpu(a);
  else LOOM_IF_CUDA(kernels::textcnn_fwd_cuda(a, detail::ctx(x)));

  bool record = should_record({&x});
  for (const auto& f : filters) record = record || should_record({&f.weight, &f.bias});
  if (record) {
    auto node = std::make_unique<TextCnnNode>();
    node->args = a;
    node->impl = r.impl;
    node->saved_x = x;
    node->saved_lengths = lengths;
    node->saved_pooled = r.pooled;
    node->saved_argmax = r.argmax;
    std::vector<const Tensor*> inputs{&x};
    for (const auto& f : filters) {
      node->saved_weights.push_back(f.weight);
      node->saved_biases.push_back(f.bias);
      inputs.push_back(&f.weight);
      inputs.push_back(&f.bias);
    }
    record_node(std::move(node), inputs, {&r.pooled});
  }
  return r;
}

}  // namespace loom::ops

// ops/conv1d.cc: conv1d and the fused text-CNN block with autograd. Each op checks its arguments,
// picks one row of the kernel family's variant table (kernels/conv1d/conv1d_variants.h), runs its
// forward, and records its backward right below, with whatever the row saved for it.
//
// Which row: Impl::Cpu -> "cpu" ("reference" with Conv1dVariant::Reference); Impl::Cuda -> our
// kernel named by Conv1dVariant ("cuda-v1", "cuda-v2"; the text-CNN block: "cuda-v3");
// Impl::Cudnn -> "cudnn". Auto: CPU tensors -> "cpu"; CUDA tensors -> our kernel when it supports
// the arguments, else cuDNN, else an error with both reasons. LOOM_TRACE=1 prints the row and why
// it was chosen.
#include "ops/conv1d.h"

#include <memory>
#include <string>

#include "ops/autocast.h"
#include "ops/autograd.h"
#include "ops/dispatch.h"
#include "ops/op_util.h"
#include "kernels/conv1d/conv1d_variants.h"

namespace loom::ops {

static_assert(kMaxTextCnnWidths == kernels::kMaxTextCnnWidths, "ops and the fused kernel must agree");

const char* conv1d_variant_name(Conv1dVariant v) {
  switch (v) {
    case Conv1dVariant::Direct: return "cuda-v1";
    case Conv1dVariant::ImplicitGemm: return "cuda-v2";
    case Conv1dVariant::Fused: return "cuda-v3";
    case Conv1dVariant::Reference: return "reference";
  }
  return "?";
}

namespace {

using SavedPtr = std::shared_ptr<const kernels::BackendSaved>;

const void* ptr_or_null(const Tensor& t) { return t.defined() ? t.data_ptr() : nullptr; }
void* out_ptr_or_null(const GradTarget& t) { return t.buffer.defined() ? t.buffer.data_ptr() : nullptr; }

kernels::Conv1dGeometry to_kernel(const Conv1dGeometry& g) {
  kernels::Conv1dGeometry k;
  k.T = g.T, k.B = g.B, k.C = g.C, k.F = g.F, k.K = g.K;
  k.dilation = g.dilation, k.pad_left = g.pad_left, k.pad_right = g.pad_right;
  return k;
}

// The row of `rows` named `name`, or nullptr when this build lacks it.
template <class Row>
const Row* find_row(const std::vector<Row>& rows, const std::string& name) {
  for (const Row& r : rows)
    if (name == r.name) return &r;
  return nullptr;
}

// The row for an explicit Impl, or the NotCompiled error of the backend it needs.
template <class Row>
const Row& required_row(const std::vector<Row>& rows, const std::string& name, const char* backend, const char* op) {
  const Row* row = find_row(rows, name);
  if (row == nullptr) ::loom::detail::throw_not_compiled(backend, op);
  return *row;
}

Conv1dGeometry geometry_for(std::int64_t T, std::int64_t B, std::int64_t C, const Tensor& weight,
                            const Conv1dOptions& o) {
  Conv1dGeometry g;
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

// The conv1d row for these arguments (policy in the opening comment); *why says why it was chosen.
const kernels::Conv1dVariantRow& pick_conv_row(const Tensor& x, const kernels::Conv1dFwdArgs& a,
                                               const Conv1dOptions& o, std::string* why) {
  const auto& rows = kernels::conv1d_variants();
  const bool on_cpu = x.device().is_cpu();
  if (o.impl != Impl::Auto) {
    LOOM_CHECK(on_cpu == (o.impl == Impl::Cpu), "conv1d: --impl ", impl_name(o.impl), " cannot run tensors on ",
               x.device().str());
    *why = std::string("impl ") + impl_name(o.impl);
    if (o.impl == Impl::Cpu)
      return required_row(rows, o.variant == Conv1dVariant::Reference ? "reference" : "cpu", "CPU", "conv1d");
    if (o.impl == Impl::Cudnn) return required_row(rows, "cudnn", "cuDNN", "conv1d");
    LOOM_CHECK_SHAPE(o.variant != Conv1dVariant::Fused && o.variant != Conv1dVariant::Reference,
                     "conv1d: Conv1dVariant::",
                     o.variant == Conv1dVariant::Fused ? "Fused is the text-CNN block (ops::textcnn)"
                                                       : "Reference runs on the CPU (Impl::Cpu)",
                     ", not a CUDA convolution");
    return required_row(rows, conv1d_variant_name(o.variant), "CUDA", "conv1d");
  }
  if (on_cpu) {
    *why = "auto, CPU tensors";
    return required_row(rows, "cpu", "CPU", "conv1d");
  }
  std::string why_cuda = "not compiled", why_cudnn = "cuDNN is not compiled in";
  const kernels::Conv1dVariantRow* ours = find_row(rows, conv1d_variant_name(o.variant));
  if (o.variant == Conv1dVariant::Fused || o.variant == Conv1dVariant::Reference)
    why_cuda = std::string(conv1d_variant_name(o.variant)) + " is not a CUDA convolution";
  else if (ours != nullptr && kernels::variant_supports(*ours, a, &why_cuda)) {
    *why = "auto";
    return *ours;
  }
  const kernels::Conv1dVariantRow* cudnn = find_row(rows, "cudnn");
  if (cudnn != nullptr && kernels::variant_supports(*cudnn, a, &why_cudnn)) {
    *why = std::string("auto; ") + conv1d_variant_name(o.variant) + ": " + why_cuda;
    return *cudnn;
  }
  LOOM_THROW(Error, "conv1d: no CUDA implementation fits: ", why_cuda, "; cuDNN: ", why_cudnn);
}

// Gradient destinations of parameters that share one GradMode in the kernel (a weight and its
// bias): when any of them accumulates, a fresh (Overwrite) sibling is zeroed so all can accumulate.
GradMode shared_param_mode(std::vector<GradTarget*> targets) {
  bool accumulate = false;
  for (const GradTarget* t : targets)
    accumulate = accumulate || (t->buffer.defined() && t->mode == GradMode::Accumulate);
  for (GradTarget* t : targets)
    if (accumulate && t->buffer.defined() && t->mode == GradMode::Overwrite)
      t->buffer.copy_from(Tensor::zeros(t->buffer.shape(), t->buffer.dtype(), t->buffer.device()));
  return accumulate ? GradMode::Accumulate : GradMode::Overwrite;
}

}  // namespace

Conv1dGeometry conv1d_geometry(const Tensor& x, const Tensor& weight, const Conv1dOptions& options) {
  const Conv1dGeometry g = geometry_for(x.dim(0), x.dim(1), x.dim(2), weight, options);
  LOOM_CHECK_SHAPE(g.out_T() >= 1, "conv1d: input of T = ", g.T, " steps is too short for K = ", g.K, ", dilation ",
                   g.dilation, " and padding ", g.pad_left, "/", g.pad_right, " (output would have ", g.out_T(),
                   " steps; use padding same)");
  return g;
}

Tensor conv1d(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in, const Conv1dOptions& options) {
  // In a region x, weight and bias become the region's dtype (the weight through the cache).
  const Tensor x = autocast_input("conv1d", x_in), weight = autocast_input("conv1d", weight_in),
               bias = autocast_input("conv1d", bias_in);
  check_input("conv1d", x);
  check_weight("conv1d", x, weight, bias, options);
  const kernels::Conv1dGeometry g = to_kernel(conv1d_geometry(x, weight, options));
  Tensor y = Tensor::empty({g.out_T(), g.B, g.F}, x.dtype(), x.device());
  kernels::Conv1dFwdArgs a;
  a.g = g;
  a.dtype = x.dtype();
  a.x = x.data_ptr();
  a.weight = weight.data_ptr();
  a.bias = ptr_or_null(bias);
  a.y = y.data_ptr();
  std::string why;
  const kernels::Conv1dVariantRow& row = pick_conv_row(x, a, options, &why);
  const SavedPtr saved = run_row_forward("conv1d", row, why, x, a);

  const kernels::Conv1dVariantRow* ran = &row;
  record_op("conv1d", {&x, &weight, &bias}, {&y}, [ran, g, saved, saved_x = x, saved_weight = weight](Node& node) {
    const Tensor dy = node.grad_output(0);
    kernels::Conv1dBwdArgs b;
    b.g = g;
    b.dtype = dy.dtype();
    b.x = saved_x.data_ptr();
    b.weight = saved_weight.data_ptr();
    b.dy = dy.data_ptr();
    GradTarget dx, dw, db;
    if (node.needs_grad(0)) {
      dx = node.grad_input(0);
      b.dx = dx.buffer.data_ptr();
      b.input_mode = dx.mode;
    }
    if (node.needs_grad(1)) dw = node.grad_input(1);
    if (node.needs_grad(2)) db = node.grad_input(2);
    b.param_mode = shared_param_mode({&dw, &db});  // one param_mode for dweight and dbias
    b.dweight = out_ptr_or_null(dw);
    b.dbias = out_ptr_or_null(db);
    run_row_backward(*ran, dy, b, saved.get());
  });
  return y;
}

Tensor conv1d_output_lengths(const Tensor& lengths_in, const Conv1dGeometry& g) {
  const Tensor lengths = autocast_input("conv1d_output_lengths", lengths_in);  // integers: untouched
  LOOM_CHECK_SHAPE(lengths.dtype() == DType::I32 && lengths.ndim() == 1, "conv1d_output_lengths: lengths must be i32 [B], got ",
                   lengths.str());
  std::vector<std::int32_t> len = lengths.to_vector_i32();
  for (auto& l : len) l = static_cast<std::int32_t>(kernels::conv1d_output_length(to_kernel(g), l));
  return Tensor::from_vector(len, lengths.shape(), lengths.device());
}

namespace {

// The filters as the autocast policy wants them (Low: weights and biases in the region's dtype,
// through the per-region weight cache).
// `holder` keeps the cast copies; outside a region nothing is copied.
const std::vector<TextCnnFilter>& autocast_filters(const std::vector<TextCnnFilter>& filters,
                                                   std::vector<TextCnnFilter>* holder) {
  if (autocast_precision() == Precision::F32) return filters;
  *holder = filters;
  for (TextCnnFilter& f : *holder) {
    f.weight = autocast_input("textcnn", f.weight);
    f.bias = autocast_input("textcnn", f.bias);
  }
  return *holder;
}

// The kernel arguments of a text-CNN block (pointers of x's weights; outputs left null).
kernels::TextCnnFwdArgs textcnn_args(const Tensor& x, const std::vector<TextCnnFilter>& filters,
                                     std::int64_t* total_F) {
  check_input("textcnn", x);
  LOOM_CHECK_SHAPE(!filters.empty() && filters.size() <= static_cast<std::size_t>(kMaxTextCnnWidths),
                   "textcnn: between 1 and ", kMaxTextCnnWidths, " filter widths, got ", filters.size());
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
    const Conv1dGeometry g = conv1d_geometry(x, f.weight, f.options);
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

// The fused block's row for x's device: "cpu" on the CPU ("reference" with Impl::Cpu and
// Conv1dVariant::Reference), the fused kernel "cuda-v3" on CUDA.
const kernels::TextCnnVariantRow* textcnn_row(const Tensor& x, const Conv1dOptions& block) {
  const bool reference = block.impl == Impl::Cpu && block.variant == Conv1dVariant::Reference;
  const char* name = !x.device().is_cpu() ? conv1d_variant_name(Conv1dVariant::Fused) : reference ? "reference" : "cpu";
  return find_row(kernels::textcnn_variants(), name);
}

}  // namespace

bool textcnn_supported(const Tensor& x_in, const std::vector<TextCnnFilter>& filters_in, std::string* why_not) {
  // Asked with the dtypes textcnn itself will see in a region.
  const Tensor x = autocast_input("textcnn", x_in);
  std::vector<TextCnnFilter> cast_filters;
  const std::vector<TextCnnFilter>& filters = autocast_filters(filters_in, &cast_filters);
  std::int64_t total_F = 0;
  const kernels::TextCnnFwdArgs a = textcnn_args(x, filters, &total_F);
  const kernels::TextCnnVariantRow* row = textcnn_row(x, {});
  if (row == nullptr) {
    if (why_not) *why_not = "CUDA is not compiled in";
    return false;
  }
  return kernels::variant_supports(*row, a, why_not);
}

TextCnnResult textcnn(const Tensor& x_in, const Tensor& lengths, const std::vector<TextCnnFilter>& filters_in,
                      const Conv1dOptions& block) {
  const Tensor x = autocast_input("textcnn", x_in);
  std::vector<TextCnnFilter> cast_filters;
  const std::vector<TextCnnFilter>& filters = autocast_filters(filters_in, &cast_filters);
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
  const kernels::TextCnnVariantRow* row = textcnn_row(x, block);
  if (row == nullptr) ::loom::detail::throw_not_compiled("CUDA", "textcnn");
  std::string why;
  LOOM_CHECK(kernels::variant_supports(*row, a, &why),
             "textcnn: the fused CUDA block does not support these arguments: ", why);
  const SavedPtr saved = run_row_forward("textcnn", *row, x.device().is_cpu() ? "CPU tensors" : "CUDA tensors", x, a);

  std::vector<const Tensor*> inputs{&x};
  std::vector<Tensor> weights, biases;
  for (const auto& f : filters) {
    inputs.push_back(&f.weight);
    inputs.push_back(&f.bias);
    weights.push_back(f.weight);
    biases.push_back(f.bias);
  }
  // The closure keeps the forward's arguments for their geometry; its pointers are refreshed from
  // the saved tensors (the tensors are what keeps that memory alive).
  record_op("textcnn", inputs, {&r.pooled},
            [row, a, saved, saved_x = x, saved_lengths = lengths, saved_pooled = r.pooled, saved_argmax = r.argmax,
             weights, biases](Node& node) {
              const Tensor dpooled = node.grad_output(0);
              kernels::TextCnnBwdArgs b;
              b.fwd = a;
              b.fwd.x = saved_x.data_ptr();
              b.fwd.lengths = saved_lengths.defined() ? saved_lengths.data<std::int32_t>() : nullptr;
              b.fwd.pooled = saved_pooled.data_ptr();
              b.fwd.argmax = saved_argmax.data<std::int32_t>();
              b.dpooled = dpooled.data_ptr();
              if (node.needs_grad(0)) {
                const GradTarget dx = node.grad_input(0);
                b.dx = dx.buffer.data_ptr();
                b.input_mode = dx.mode;
              }
              // Inputs: 0 x, then per width w: 1 + 2w weight, 2 + 2w bias; one param_mode for all.
              std::vector<GradTarget> targets(2 * static_cast<std::size_t>(a.num_widths));
              std::vector<GradTarget*> all;
              for (std::size_t i = 0; i < targets.size(); ++i) {
                if (node.needs_grad(static_cast<int>(i) + 1)) targets[i] = node.grad_input(static_cast<int>(i) + 1);
                all.push_back(&targets[i]);
              }
              b.param_mode = shared_param_mode(all);
              for (int w = 0; w < a.num_widths; ++w) {
                kernels::TextCnnWidth& k = b.fwd.widths[w];
                k.weight = weights[w].data_ptr();
                k.bias = ptr_or_null(biases[w]);
                k.dweight = out_ptr_or_null(targets[2 * w]);
                k.dbias = out_ptr_or_null(targets[2 * w + 1]);
              }
              run_row_backward(*row, dpooled, b, saved.get());
            });
  return r;
}

}  // namespace loom::ops

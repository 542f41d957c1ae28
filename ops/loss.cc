// ops/loss.cc: softmax cross-entropy and BCE-with-logits with autograd (formulas and
// stability notes in kernels/loss/loss.h). Gradients flow to the logits only; targets and weights
// are constants. The loss is F32 (F64 for F64 logits), a one-element tensor of shape [].
#include "ops/loss.h"

#include "ops/autograd.h"
#include "ops/op_util.h"
#include "kernels/loss/loss.h"

namespace loom::ops {
namespace {

DType loss_dtype(const Tensor& logits) { return logits.dtype() == DType::F64 ? DType::F64 : DType::F32; }

const void* ptr_or_null(const Tensor& t) { return t.defined() ? t.data_ptr() : nullptr; }

void check_weight(const char* op, const Tensor& w, const char* name, std::int64_t K, const Tensor& logits) {
  if (!w.defined()) return;
  LOOM_CHECK_SHAPE(w.dtype() == loss_dtype(logits) && w.device() == logits.device(), op, ": ", name, " must be ",
                   dtype_name(loss_dtype(logits)), " on ", logits.device().str(), ", got ", w.str());
  LOOM_CHECK_SHAPE(w.ndim() == 1 && w.dim(0) == K, op, ": ", name, " ", shape_str(w.shape()),
                   " does not fit logits ", shape_str(logits.shape()), " (expected [", K, "])");
}

struct SoftmaxXentNode final : Node {
  Tensor saved_logits, saved_targets, saved_class_weight, saved_weight_sum;
  const char* name() const override { return "softmax_cross_entropy"; }
  void backward() override {
    const Tensor dloss = grad_output(0);
    const GradTarget dz = grad_input(0);
    kernels::SoftmaxXentBwdArgs a;
    a.N = saved_logits.dim(0);
    a.K = saved_logits.dim(1);
    a.dtype = saved_logits.dtype();
    a.logits = saved_logits.data_ptr();
    a.targets = saved_targets.data<std::int32_t>();
    a.class_weight = ptr_or_null(saved_class_weight);
    a.weight_sum = saved_weight_sum.data_ptr();
    a.dloss = dloss.data_ptr();
    a.dlogits = dz.buffer.data_ptr();
    a.mode = dz.mode;
    if (dloss.device().is_cpu()) kernels::softmax_xent_bwd_cpu(a);
    else LOOM_IF_CUDA(kernels::softmax_xent_bwd_cuda(a, detail::ctx(dloss)));
  }
};

struct BceLogitsNode final : Node {
  Tensor saved_logits, saved_targets, saved_pos_weight;
  std::int64_t N = 0, K = 1;
  const char* name() const override { return "bce_with_logits"; }
  void backward() override {
    const Tensor dloss = grad_output(0);
    const GradTarget dz = grad_input(0);
    kernels::BceLogitsBwdArgs a;
    a.N = N;
    a.K = K;
    a.dtype = saved_logits.dtype();
    a.logits = saved_logits.data_ptr();
    a.targets = saved_targets.data_ptr();
    a.pos_weight = ptr_or_null(saved_pos_weight);
    a.dloss = dloss.data_ptr();
    a.dlogits = dz.buffer.data_ptr();
    a.mode = dz.mode;
    if (dloss.device().is_cpu()) kernels::bce_logits_bwd_cpu(a);
    else LOOM_IF_CUDA(kernels::bce_logits_bwd_cuda(a, detail::ctx(dloss)));
  }
};

}  // namespace

Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& targets, const Tensor& class_weight) {
  const char* op = "softmax_cross_entropy";
  detail::check_defined(op, logits, "logits");
  detail::check_defined(op, targets, "targets");
  detail::check_float(op, logits);
  LOOM_CHECK_SHAPE(logits.ndim() == 2 && logits.dim(1) >= 1, op, ": logits must be [N, K], got ",
                   shape_str(logits.shape()));
  const std::int64_t N = logits.dim(0), K = logits.dim(1);
  LOOM_CHECK_SHAPE(targets.dtype() == DType::I32 && targets.device() == logits.device(), op,
                   ": targets must be i32 on ", logits.device().str(), ", got ", targets.str());
  LOOM_CHECK_SHAPE(targets.ndim() == 1 && targets.dim(0) == N, op, ": targets ", shape_str(targets.shape()),
                   " do not fit logits ", shape_str(logits.shape()), " (expected [", N, "])");
  LOOM_CHECK_SHAPE(N > 0, op, ": empty batch, logits ", shape_str(logits.shape()));
  check_weight(op, class_weight, "class_weight", K, logits);

  const DType ld = loss_dtype(logits);
  Tensor loss = Tensor::empty({}, ld, logits.device());
  Tensor weight_sum = Tensor::empty({1}, ld, logits.device());
  kernels::SoftmaxXentFwdArgs a;
  a.N = N;
  a.K = K;
  a.dtype = logits.dtype();
  a.logits = logits.data_ptr();
  a.targets = targets.data<std::int32_t>();
  a.class_weight = ptr_or_null(class_weight);
  a.loss = loss.data_ptr();
  a.weight_sum = weight_sum.data_ptr();
  detail::trace(op, logits);
  if (logits.device().is_cpu()) {
    const std::int32_t* t = a.targets;
    for (std::int64_t n = 0; n < N; ++n)
      LOOM_CHECK_SHAPE(t[n] >= 0 && t[n] < K, op, ": target ", t[n], " at row ", n, " is outside [0, ", K,
                       ") for logits ", shape_str(logits.shape()));
    kernels::softmax_xent_fwd_cpu(a);
  } else {
    Tensor bad = Tensor::zeros({1}, DType::I32, logits.device());
    a.bad_targets = bad.data<std::int32_t>();
    LOOM_IF_CUDA(kernels::softmax_xent_fwd_cuda(a, detail::ctx(logits)));
    const auto count = static_cast<std::int64_t>(bad.item());
    LOOM_CHECK_SHAPE(count == 0, op, ": ", count, " target(s) outside [0, ", K, ") for logits ",
                     shape_str(logits.shape()));
  }
  if (should_record({&logits})) {
    auto node = std::make_unique<SoftmaxXentNode>();
    node->saved_logits = logits;
    node->saved_targets = targets;
    node->saved_class_weight = class_weight;
    node->saved_weight_sum = weight_sum;
    record_node(std::move(node), {&logits}, {&loss});
  }
  return loss;
}

Tensor bce_with_logits(const Tensor& logits, const Tensor& targets, const Tensor& pos_weight) {
  const char* op = "bce_with_logits";
  detail::check_defined(op, logits, "logits");
  detail::check_defined(op, targets, "targets");
  detail::check_float(op, logits);
  detail::check_same_kind(op, logits, targets);
  LOOM_CHECK_SHAPE(logits.ndim() == 1 || logits.ndim() == 2, op, ": logits must be [N] or [N, K], got ",
                   shape_str(logits.shape()));
  LOOM_CHECK_SHAPE(targets.shape() == logits.shape(), op, ": targets ", shape_str(targets.shape()),
                   " do not match logits ", shape_str(logits.shape()));
  const std::int64_t N = logits.dim(0), K = logits.ndim() == 2 ? logits.dim(1) : 1;
  LOOM_CHECK_SHAPE(N * K > 0, op, ": empty logits ", shape_str(logits.shape()));
  check_weight(op, pos_weight, "pos_weight", K, logits);

  Tensor loss = Tensor::empty({}, loss_dtype(logits), logits.device());
  kernels::BceLogitsFwdArgs a;
  a.N = N;
  a.K = K;
  a.dtype = logits.dtype();
  a.logits = logits.data_ptr();
  a.targets = targets.data_ptr();
  a.pos_weight = ptr_or_null(pos_weight);
  a.loss = loss.data_ptr();
  detail::trace(op, logits);
  if (logits.device().is_cpu()) kernels::bce_logits_fwd_cpu(a);
  else LOOM_IF_CUDA(kernels::bce_logits_fwd_cuda(a, detail::ctx(logits)));
  if (should_record({&logits})) {
    auto node = std::make_unique<BceLogitsNode>();
    node->saved_logits = logits;
    node->saved_targets = targets;
    node->saved_pos_weight = pos_weight;
    node->N = N;
    node->K = K;
    record_node(std::move(node), {&logits}, {&loss});
  }
  return loss;
}

}  // namespace loom::ops

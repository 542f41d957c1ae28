// ops/loss.cc: softmax cross-entropy and BCE-with-logits with autograd (formulas and
// stability notes in kernels/loss/loss.h). Gradients flow to the logits only; targets and weights
// are constants. The loss is F32 (F64 for F64 logits), a one-element tensor of shape [].
#include "ops/loss.h"

#include "ops/autocast.h"
#include "ops/autograd.h"
#include "ops/dispatch.h"
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

// The CPU forward, after naming the first target outside [0, K) (the counter stays zero).
void softmax_xent_fwd_checked_cpu(const kernels::SoftmaxXentFwdArgs& a) {
  for (std::int64_t n = 0; n < a.N; ++n)
    LOOM_CHECK_SHAPE(a.targets[n] >= 0 && a.targets[n] < a.K, "softmax_cross_entropy: target ", a.targets[n],
                     " at row ", n, " is outside [0, ", a.K, ") for logits ", shape_str({a.N, a.K}));
  kernels::softmax_xent_fwd_cpu(a);
}

}  // namespace

Tensor softmax_cross_entropy(const Tensor& logits_in, const Tensor& targets, const Tensor& class_weight_in) {
  const char* op = "softmax_cross_entropy";
  // In a region: logits and class weights in F32 (log-sum-exp needs the range; the cast's backward
  // hands the low-precision logits their gradient). Targets are integers and stay.
  const Tensor logits = autocast_input(op, logits_in), class_weight = autocast_input(op, class_weight_in);
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
  Tensor bad = Tensor::zeros({1}, DType::I32, logits.device());  // the kernel counts targets outside [0, K)
  kernels::SoftmaxXentFwdArgs a;
  a.N = N;
  a.K = K;
  a.dtype = logits.dtype();
  a.logits = logits.data_ptr();
  a.targets = targets.data<std::int32_t>();
  a.class_weight = ptr_or_null(class_weight);
  a.loss = loss.data_ptr();
  a.weight_sum = weight_sum.data_ptr();
  a.bad_targets = bad.data<std::int32_t>();
  run_kernel(op, logits, a, softmax_xent_fwd_checked_cpu, LOOM_CUDA_FN(kernels::softmax_xent_fwd_cuda));
  const auto count = static_cast<std::int64_t>(bad.item());
  LOOM_CHECK_SHAPE(count == 0, op, ": ", count, " target(s) outside [0, ", K, ") for logits ",
                   shape_str(logits.shape()));

  // Backward recomputes the softmax from the logits; the weight sum scales it like the forward.
  record_op(op, {&logits}, {&loss}, [logits, targets, class_weight, weight_sum](Node& node) {
    const Tensor dloss = node.grad_output(0);
    const GradTarget dz = node.grad_input(0);
    kernels::SoftmaxXentBwdArgs b;
    b.N = logits.dim(0);
    b.K = logits.dim(1);
    b.dtype = logits.dtype();
    b.logits = logits.data_ptr();
    b.targets = targets.data<std::int32_t>();
    b.class_weight = ptr_or_null(class_weight);
    b.weight_sum = weight_sum.data_ptr();
    b.dloss = dloss.data_ptr();
    b.dlogits = dz.buffer.data_ptr();
    b.mode = dz.mode;
    run_kernel("softmax_cross_entropy", dloss, b, kernels::softmax_xent_bwd_cpu,
               LOOM_CUDA_FN(kernels::softmax_xent_bwd_cuda));
  });
  return loss;
}

Tensor bce_with_logits(const Tensor& logits_in, const Tensor& targets_in, const Tensor& pos_weight_in) {
  const char* op = "bce_with_logits";
  // In a region: logits, targets and pos_weight all in F32 (as softmax_cross_entropy).
  const Tensor logits = autocast_input(op, logits_in), targets = autocast_input(op, targets_in),
               pos_weight = autocast_input(op, pos_weight_in);
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
  run_kernel(op, logits, a, kernels::bce_logits_fwd_cpu, LOOM_CUDA_FN(kernels::bce_logits_fwd_cuda));

  record_op(op, {&logits}, {&loss}, [logits, targets, pos_weight, N, K](Node& node) {
    const Tensor dloss = node.grad_output(0);
    const GradTarget dz = node.grad_input(0);
    kernels::BceLogitsBwdArgs b;
    b.N = N;
    b.K = K;
    b.dtype = logits.dtype();
    b.logits = logits.data_ptr();
    b.targets = targets.data_ptr();
    b.pos_weight = ptr_or_null(pos_weight);
    b.dloss = dloss.data_ptr();
    b.dlogits = dz.buffer.data_ptr();
    b.mode = dz.mode;
    run_kernel("bce_with_logits", dloss, b, kernels::bce_logits_bwd_cpu,
               LOOM_CUDA_FN(kernels::bce_logits_bwd_cuda));
  });
  return loss;
}

}  // namespace loom::ops

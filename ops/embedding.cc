// ops/embedding.cc: embedding lookup with autograd (kernels: kernels/embedding/).
//
// Forward gathers rows; backward scatters dout rows back into dweight, summing repeated ids in a
// fixed order (deterministic: no float atomics). Ids are validated: on the CPU before the lookup
// (they are host memory), on a GPU through a device counter that the kernel fills (one small
// read-back per call).
#include "ops/embedding.h"

#include "ops/autocast.h"
#include "ops/autograd.h"
#include "ops/dispatch.h"
#include "ops/op_util.h"
#include "kernels/embedding/embedding.h"

namespace loom::ops {
namespace {

// The CPU lookup, after naming the first id outside the vocabulary (the counter stays zero).
void embedding_fwd_checked_cpu(const kernels::EmbeddingFwdArgs& a) {
  for (std::int64_t i = 0; i < a.n; ++i)
    LOOM_CHECK_SHAPE(a.ids[i] >= 0 && a.ids[i] < a.V, "embedding: id ", a.ids[i], " at position ", i,
                     " is outside the vocabulary [0, ", a.V, ") of weight ", shape_str({a.V, a.E}));
  kernels::embedding_fwd_cpu(a);
}

}  // namespace

Tensor embedding(const Tensor& weight, const Tensor& ids) {
  detail::check_defined("embedding", weight, "weight");
  detail::check_defined("embedding", ids, "ids");
  detail::check_float("embedding", weight);
  LOOM_CHECK_SHAPE(weight.ndim() == 2, "embedding: weight must be [V, E], got ", shape_str(weight.shape()));
  LOOM_CHECK_SHAPE(ids.dtype() == DType::I32, "embedding: ids must be i32, got ", ids.str());
  LOOM_CHECK_SHAPE(ids.device() == weight.device(), "embedding: ids ", ids.str(), " and weight ", weight.str(),
                   " are on different devices");
  const std::int64_t V = weight.dim(0), E = weight.dim(1);
  Shape out_shape = ids.shape();
  out_shape.push_back(E);
  Tensor out = Tensor::empty(out_shape, weight.dtype(), weight.device());
  Tensor bad = Tensor::zeros({1}, DType::I32, weight.device());  // the kernel counts ids outside [0, V)
  kernels::EmbeddingFwdArgs a;
  a.n = ids.numel();
  a.V = V;
  a.E = E;
  a.dtype = weight.dtype();
  a.ids = ids.data<std::int32_t>();
  a.weight = weight.data_ptr();
  a.out = out.data_ptr();
  a.bad_ids = bad.data<std::int32_t>();
  run_kernel("embedding", weight, a, embedding_fwd_checked_cpu, LOOM_CUDA_FN(kernels::embedding_fwd_cuda));
  const auto count = static_cast<std::int64_t>(bad.item());
  if (count != 0) {
    // The error path only: bring the ids to the host to name the first bad one.
    const std::vector<std::int32_t> host = ids.to_vector_i32();
    std::int64_t i = 0;
    while (i < a.n && host[i] >= 0 && host[i] < V) ++i;
    LOOM_THROW(ShapeError, "embedding: id ", i < a.n ? host[i] : -1, " at position ", i,
               " is outside the vocabulary [0, ", V, ") of weight ", shape_str(weight.shape()), " (", count,
               " bad id(s) in all)");
  }

  // Backward needs only the ids (already validated) to scatter dout back into rows of dweight.
  record_op("embedding", {&weight}, {&out}, [saved_ids = ids, V, E](Node& node) {
    const Tensor dout = node.grad_output(0);
    const GradTarget dw = node.grad_input(0);
    kernels::EmbeddingBwdArgs b;
    b.n = saved_ids.numel();
    b.V = V;
    b.E = E;
    b.dtype = dout.dtype();
    b.ids = saved_ids.data<std::int32_t>();
    b.dout = dout.data_ptr();
    b.dweight = dw.buffer.data_ptr();
    b.mode = dw.mode;
    run_kernel("embedding", dout, b, kernels::embedding_bwd_cpu, LOOM_CUDA_FN(kernels::embedding_bwd_cuda));
  });
  // In a region the gathered rows, not the table, are cast (the table stays the F32 master: one
  // cast of T*B rows instead of V); the cast's backward hands the scatter F32 gradients.
  return autocast_output("embedding", out);
}

}  // namespace loom::ops

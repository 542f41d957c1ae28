// ops/embedding.cc: embedding lookup with autograd (kernels: kernels/embedding/).
//
// Forward gathers rows; backward scatters dout rows back into dweight, summing repeated ids in a
// fixed order (deterministic: no float atomics). Ids are validated: on the CPU directly, on a GPU
// through a device counter that the kernel fills (one small read-back per call).
#include "ops/embedding.h"

#include "ops/autograd.h"
#include "ops/op_util.h"
#include "kernels/embedding/embedding.h"

namespace loom::ops {
namespace {

struct EmbeddingNode final : Node {
  Tensor saved_ids;
  std::int64_t V = 0, E = 0;
  const char* name() const override { return "embedding"; }
  void backward() override {
    const Tensor dout = grad_output(0);
    const GradTarget dw = grad_input(0);
    kernels::EmbeddingBwdArgs a;
    a.n = saved_ids.numel();
    a.V = V;
    a.E = E;
    a.dtype = dout.dtype();
    a.ids = saved_ids.data<std::int32_t>();
    a.dout = dout.data_ptr();
    a.dweight = dw.buffer.data_ptr();
    a.mode = dw.mode;
    if (dout.device().is_cpu()) kernels::embedding_bwd_cpu(a);
    else LOOM_IF_CUDA(kernels::embedding_bwd_cuda(a, detail::ctx(dout)));
  }
};

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
  kernels::EmbeddingFwdArgs a;
  a.n = ids.numel();
  a.V = V;
  a.E = E;
  a.dtype = weight.dtype();
  a.ids = ids.data<std::int32_t>();
  a.weight = weight.data_ptr();
  a.out = out.data_ptr();
  detail::trace("embedding", weight);
  if (weight.device().is_cpu()) {
    const std::int32_t* p = a.ids;
    for (std::int64_t i = 0; i < a.n; ++i)
      LOOM_CHECK_SHAPE(p[i] >= 0 && p[i] < V, "embedding: id ", p[i], " at position ", i,
                       " is outside the vocabulary [0, ", V, ") of weight ", shape_str(weight.shape()));
    kernels::embedding_fwd_cpu(a);
  } else {
    Tensor bad = Tensor::zeros({1}, DType::I32, weight.device());
    a.bad_ids = bad.data<std::int32_t>();
    LOOM_IF_CUDA(kernels::embedding_fwd_cuda(a, detail::ctx(weight)));
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
  }
  if (should_record({&weight})) {
    auto node = std::make_unique<EmbeddingNode>();
    node->saved_ids = ids;
    node->V = V;
    node->E = E;
    record_node(std::move(node), {&weight}, {&out});
  }
  return out;
}

}  // namespace loom::ops

// ops/autocast_policy.cc: the autocast policy table, one row per op front-end (the name it passes
// to run_kernel and LOOM_TRACE), with the reason for its row. ops/README.md ("Mixed precision")
// lists the same ops; tests/ops/test_autocast.cc checks the two agree and that every op runs in
// a BF16 region with the output dtype its row promises.
//
// The rule of thumb, as in torch.autocast:
//   Low     the GEMM-bound ops: most of the time, half the bytes, and tensor-core / AVX512_BF16
//           throughput; every dot product accumulates in F32 inside the kernel.
//   F32     anything whose result sums many terms at once or needs F32's range (exp in a softmax,
//           log of a probability, a sum over a whole tensor): one bf16 rounding of the result of
//           a long sum costs 2^-9 relative, and exp overflows F16 above 11.
//   Widest  pointwise ops of several inputs: computed in the widest dtype they got, so an F32
//           operand (a cell state, a master bias) is never rounded by a bf16 neighbour.
//   AsIs    one input, no accumulation across elements (or accumulation kept in F32 inside the
//           kernel): running in the arriving dtype loses nothing extra.
// The optimizer steps, grad_norm and clip_grad_norm are not here: they run on the F32 masters
// after the region, never inside a forward.
#include <string>
#include <unordered_map>

#include "core/error.h"
#include "ops/autocast.h"

namespace loom::ops {

const std::vector<OpPolicy>& autocast_policy() {
  using P = OpPrecision;
  static const std::vector<OpPolicy> table = {
      // ---- Low: cast floating inputs to the region's dtype ----
      {"linear", P::Low, "one GEMM (x W^T) plus a bias add: the GEMM accumulates in F32, the bias joins in the same dtype"},
      {"matmul", P::Low, "one GEMM; the kernel accumulates every dot product in F32"},
      {"conv1d", P::Low, "im2col GEMM over K*C taps, accumulated in F32 inside the kernel"},
      {"textcnn", P::Low, "several conv1d filters and a max over time: GEMM-bound like conv1d"},
      {"lstm_seq", P::Low, "the input and recurrent GEMMs dominate; the kernels keep gates and the cell state in F32"},
      {"lstm_cell", P::Low, "two linear GEMMs per step; the cell state c keeps its own dtype (a running sum over time)"},
      {"embedding", P::Low, "table stays the F32 master: gather T*B rows in F32, cast the output (casting all V*E rows per step would cost a pass over the table); backward scatters F32 gradients"},
      // ---- F32: range or long sums ----
      {"softmax_cross_entropy", P::F32, "log-sum-exp over K classes and a mean over the batch: exp needs range, the sum needs F32"},
      {"bce_with_logits", P::F32, "log(1 + exp(-|x|)) and a mean over the batch: log of values near 1 and a long sum"},
      {"sum", P::F32, "sums a whole dimension: the result of many terms keeps F32's 24 bits"},
      {"mean", P::F32, "sums a whole dimension before dividing: as sum"},
      // ---- Widest: pointwise ops of several inputs ----
      {"add", P::Widest, "two operands: an F32 one (master bias, cell state) is not rounded to the other's dtype"},
      {"sub", P::Widest, "two operands: as add"},
      {"mul", P::Widest, "two operands: as add (e.g. f * c with an F32 cell state)"},
      {"concat0", P::Widest, "joins parts that must share one dtype: the widest keeps every part exact"},
      {"concat_last", P::Widest, "joins parts that must share one dtype: the widest keeps every part exact"},
      // ---- AsIs: one input, nothing accumulated across elements ----
      {"cast", P::AsIs, "the conversion itself"},
      {"scale", P::AsIs, "one input times a constant: one rounding, as the input had"},
      {"sigmoid", P::AsIs, "one input, elementwise, bounded output"},
      {"tanh", P::AsIs, "one input, elementwise, bounded output"},
      {"relu", P::AsIs, "one input, exact in any dtype"},
      {"dropout", P::AsIs, "one input, a mask and one scale"},
      {"max_pool1d", P::AsIs, "picks stored values: exact in any dtype"},
      {"global_max_pool", P::AsIs, "picks stored values: exact in any dtype"},
      {"global_mean_pool", P::AsIs, "the kernel sums over time in F32 and rounds once"},
      {"reshape", P::AsIs, "a view: no arithmetic"},
      {"slice0", P::AsIs, "a view: no arithmetic"},
      {"split_last", P::AsIs, "copies: no arithmetic"},
      {"conv1d_output_lengths", P::AsIs, "integer lengths only"},
  };
  return table;
}

OpPrecision autocast_policy_of(const std::string& op) {
  static const std::unordered_map<std::string, OpPrecision> index = [] {
    std::unordered_map<std::string, OpPrecision> m;
    for (const OpPolicy& row : autocast_policy()) m.emplace(row.op, row.precision);
    return m;
  }();
  const auto it = index.find(op);
  LOOM_CHECK(it != index.end(), "autocast: op '", op,
             "' has no row in the autocast policy table (ops/autocast_policy.cc); add one with its reason");
  return it->second;
}

}  // namespace loom::ops

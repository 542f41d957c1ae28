// ops/lstm.cc: lstm_cell (composed) and lstm_seq (one fused node) with their autograd.
//
// lstm_seq is where the implementation is chosen: one row of the LSTM variant table
// (kernels/lstm/lstm_variants.h), from LstmSeqOptions (pick_row below; Auto: CPU -> "cpu", CUDA ->
// "cuda-v2" when it supports the arguments, else "cudnn"). The backward recorded next to the
// forward runs the same row and keeps exactly what it needs: x, y, the folded bias, weights,
// initial states, the F32 cell states and gates, and the row's own saved object (cuDNN's reserve
// space).
#include "ops/lstm.h"

#include <memory>
#include <string>

#include "ops/autocast.h"
#include "ops/autograd.h"
#include "ops/dispatch.h"
#include "ops/elementwise.h"
#include "ops/matmul.h"
#include "ops/op_util.h"
#include "ops/shape_ops.h"
#include "kernels/lstm/lstm_variants.h"

namespace loom::ops {

LstmState lstm_cell(const Tensor& x_in, const LstmState& state_in, const Tensor& w_ih_in, const Tensor& w_hh_in,
                    const Tensor& b_ih_in, const Tensor& b_hh_in) {
  // In a region: x, h and the parameters in the region's dtype (weights through the cache); the
  // cell state c keeps its dtype, as lstm_seq's kernels carry it in F32, so the mul/add below
  // (Widest) run in F32 when c is F32, and the new h is cast back to the region's dtype at the end.
  const char* op = "lstm_cell";
  const Tensor x = autocast_input(op, x_in), w_ih = autocast_input(op, w_ih_in), w_hh = autocast_input(op, w_hh_in),
               b_ih = autocast_input(op, b_ih_in), b_hh = autocast_input(op, b_hh_in);
  const LstmState state{autocast_input(op, state_in.h), state_in.c};
  LOOM_CHECK_SHAPE(w_hh.ndim() == 2 && w_hh.dim(0) == 4 * w_hh.dim(1), "lstm_cell: w_hh must be [4H, H], got ",
                   shape_str(w_hh.shape()));
  const std::int64_t H = w_hh.dim(1);
  const Tensor z = add(linear(x, w_ih, b_ih), linear(state.h, w_hh, b_hh));  // [B, 4H]
  const std::vector<Tensor> gate = split_last(z, {H, H, H, H});            // i, f, g, o
  const Tensor i = sigmoid(gate[0]), f = sigmoid(gate[1]), g = tanh(gate[2]), o = sigmoid(gate[3]);
  LstmState next;
  next.c = add(mul(f, state.c), mul(i, g));
  next.h = autocast_output(op, mul(o, tanh(next.c)));
  return next;
}

namespace {

const void* ptr_or_null(const Tensor& t) { return t.defined() ? t.data_ptr() : nullptr; }
void* out_ptr_or_null(const Tensor& t) { return t.defined() ? t.data_ptr() : nullptr; }

DType saved_dtype(DType storage) { return storage == DType::F64 ? DType::F64 : DType::F32; }

using kernels::LstmVariantRow;

// The tensors one direction of the node keeps.
struct SavedDirection {
  Tensor w_ih, w_hh, bias, h0, c0;  // bias = b_ih + b_hh
  Tensor c_saved, gates_saved;
};

// The kernels take one GradMode for all parameter gradients and one for all input gradients.
// Fresh (Overwrite) buffers are zeroed when a sibling must accumulate, so one mode fits all.
GradMode unify_modes(const std::vector<GradTarget*>& targets) {
  bool any_accumulate = false;
  for (const GradTarget* t : targets) any_accumulate = any_accumulate || t->mode == GradMode::Accumulate;
  if (!any_accumulate) return GradMode::Overwrite;
  for (GradTarget* t : targets) {
    if (t->mode == GradMode::Overwrite) {
      Tensor zero = Tensor::zeros(t->buffer.shape(), t->buffer.dtype(), t->buffer.device());
      t->buffer.copy_from(zero);
      t->mode = GradMode::Accumulate;
    }
  }
  return GradMode::Accumulate;
}

// What the backward closure keeps: the forward's arguments (shapes and flags; pointers are
// refreshed from the saved tensors), the row that ran and what it saved.
struct LstmSeqSaved {
  kernels::LstmSeqFwdArgs args;
  const LstmVariantRow* row = nullptr;
  std::shared_ptr<kernels::BackendSaved> backend;  // the row's own saved state, or null
  Tensor x, y, lengths;
  SavedDirection dirs[2];
};

// The backward of lstm_seq; defined right after it.
void lstm_seq_backward(Node& node, const LstmSeqSaved& saved);

void check_direction(const Tensor& x, const LstmDirectionParams& p, std::int64_t H, int d) {
  const std::int64_t B = x.dim(1), C = x.dim(2);
  const std::string who = "lstm_seq: direction " + std::to_string(d) + " ";
  for (const Tensor* t : {&p.w_ih, &p.w_hh, &p.b_ih, &p.b_hh}) {
    LOOM_CHECK_SHAPE(t->defined(), who, "is missing a weight or bias");
    detail::check_same_kind("lstm_seq", x, *t);
  }
  LOOM_CHECK_SHAPE(p.w_ih.shape() == Shape({4 * H, C}), who, "w_ih must be [4H, C] = ", shape_str({4 * H, C}),
                   ", got ", shape_str(p.w_ih.shape()));
  LOOM_CHECK_SHAPE(p.w_hh.shape() == Shape({4 * H, H}), who, "w_hh must be [4H, H] = ", shape_str({4 * H, H}),
                   ", got ", shape_str(p.w_hh.shape()));
  LOOM_CHECK_SHAPE(p.b_ih.shape() == Shape({4 * H}) && p.b_hh.shape() == Shape({4 * H}), who,
                   "biases must be [4H] = [", 4 * H, "], got ", shape_str(p.b_ih.shape()), " and ",
                   shape_str(p.b_hh.shape()));
  for (const Tensor* t : {&p.h0, &p.c0}) {
    if (!t->defined()) continue;
    detail::check_same_kind("lstm_seq", x, *t);
    LOOM_CHECK_SHAPE(t->shape() == Shape({B, H}), who, "initial state must be [B, H] = ", shape_str({B, H}),
                     ", got ", shape_str(t->shape()));
  }
}

// The row LstmSeqOptions asks for on x's device, and why (for LOOM_TRACE and errors).
const LstmVariantRow& pick_row(const Tensor& x, const kernels::LstmSeqFwdArgs& a, const LstmSeqOptions& o,
                               std::string* reason) {
  const bool on_cpu = x.device().is_cpu();
  auto find = [](const char* name) -> const LstmVariantRow* {
    for (const LstmVariantRow& row : kernels::lstm_variants())
      if (std::string(row.name) == name) return &row;
    return nullptr;
  };
  auto fits = [&](const LstmVariantRow& row) -> const LstmVariantRow& {
    LOOM_CHECK((row.device == DeviceType::Cpu) == on_cpu, "lstm_seq: variant ", row.name, " cannot run tensors on ",
               x.device().str());
    std::string why;
    if (!kernels::variant_supports(row, a, &why)) LOOM_THROW(ShapeError, "lstm_seq: variant ", row.name, ": ", why);
    return row;
  };
  if (!o.row.empty()) {
    *reason = "requested by name";
    return fits(kernels::lstm_variant(o.row));
  }
  if (o.impl != Impl::Auto) {
    LOOM_CHECK(on_cpu == (o.impl == Impl::Cpu), "lstm_seq: --impl ", impl_name(o.impl), " cannot run tensors on ",
               x.device().str());
    *reason = "requested";
    const char* name = "cpu";
    if (o.impl == Impl::Cuda) name = o.variant == LstmVariant::Unfused ? "cuda-v1" : "cuda-v2";
    if (o.impl == Impl::Cudnn) name = o.cudnn_algo == CudnnRnnAlgo::Standard ? "cudnn" : "cudnn-persist";
    const LstmVariantRow* row = find(name);
    if (row == nullptr) ::loom::detail::throw_not_compiled(o.impl == Impl::Cudnn ? "cuDNN" : "CUDA", "lstm_seq");
    return fits(*row);
  }
  if (on_cpu) {
    *reason = "CPU tensors";
    return *find("cpu");
  }
  std::string why_cuda = "CUDA is not compiled in", why_cudnn = "cuDNN is not compiled in";
  const LstmVariantRow* cuda = find("cuda-v2");
  if (cuda != nullptr && kernels::variant_supports(*cuda, a, &why_cuda)) {
    *reason = "hand-written kernels support these arguments";
    return *cuda;
  }
  const LstmVariantRow* cudnn = find("cudnn");
  if (cudnn != nullptr && kernels::variant_supports(*cudnn, a, &why_cudnn)) {
    *reason = "hand-written kernels cannot (" + why_cuda + "); cuDNN can";
    return *cudnn;
  }
  LOOM_THROW(Error, "lstm_seq: no CUDA implementation fits: ", why_cuda, "; cuDNN: ", why_cudnn, " (use CPU tensors)");
}

Impl impl_of(const LstmVariantRow& row) {
  if (row.device == DeviceType::Cpu) return Impl::Cpu;
  return std::string(row.name).rfind("cudnn", 0) == 0 ? Impl::Cudnn : Impl::Cuda;
}

}  // namespace

LstmSeqResult lstm_seq(const Tensor& x_in, const Tensor& lengths, const std::vector<LstmDirectionParams>& dirs_in,
                       const LstmSeqOptions& options) {
  // In a region: x, the weights (through the cache), biases and initial states in the region's
  // dtype; the kernels keep gates and cell states in F32 inside.
  const Tensor x = autocast_input("lstm_seq", x_in);
  std::vector<LstmDirectionParams> cast_dirs;  // filled in a region only: no copy outside one
  if (autocast_precision() != Precision::F32) {
    cast_dirs = dirs_in;
    for (LstmDirectionParams& p : cast_dirs)
      for (Tensor* t : {&p.w_ih, &p.w_hh, &p.b_ih, &p.b_hh, &p.h0, &p.c0}) *t = autocast_input("lstm_seq", *t);
  }
  const std::vector<LstmDirectionParams>& dirs = cast_dirs.empty() ? dirs_in : cast_dirs;
  detail::check_defined("lstm_seq", x, "x");
  detail::check_float("lstm_seq", x);
  LOOM_CHECK_SHAPE(x.ndim() == 3, "lstm_seq: x must be [T, B, C], got ", shape_str(x.shape()));
  LOOM_CHECK_SHAPE(dirs.size() == 1 || dirs.size() == 2, "lstm_seq: one or two directions, got ", dirs.size());
  const std::int64_t T = x.dim(0), B = x.dim(1), C = x.dim(2);
  LOOM_CHECK_SHAPE(dirs[0].w_hh.defined() && dirs[0].w_hh.ndim() == 2, "lstm_seq: w_hh must be [4H, H], got ",
                   describe(dirs[0].w_hh));
  const std::int64_t H = dirs[0].w_hh.dim(1);
  const int D = static_cast<int>(dirs.size());
  for (int d = 0; d < D; ++d) check_direction(x, dirs[d], H, d);
  if (lengths.defined()) {
    LOOM_CHECK_SHAPE(lengths.dtype() == DType::I32 && lengths.shape() == Shape({B}), "lstm_seq: lengths must be i32 [",
                     B, "], got ", lengths.str());
    LOOM_CHECK_SHAPE(lengths.device() == x.device(), "lstm_seq: lengths ", lengths.str(), " must be on x's device ",
                     x.device().str());
    const std::vector<std::int32_t> host = lengths.to_vector_i32();
    for (std::int64_t b = 0; b < B; ++b)
      LOOM_CHECK_SHAPE(host[b] >= 0 && host[b] <= T, "lstm_seq: lengths[", b, "] = ", host[b],
                       " is outside [0, T] = [0, ", T, "] for x ", shape_str(x.shape()));
  }

  bool record = should_record({&x});
  for (const auto& p : dirs) record = record || should_record({&p.w_ih, &p.w_hh, &p.b_ih, &p.b_hh, &p.h0, &p.c0});

  LstmSeqResult result;
  result.y = Tensor::empty({T, B, D * H}, x.dtype(), x.device());
  LstmSeqSaved saved;
  kernels::LstmSeqFwdArgs& a = saved.args;
  a.T = T;
  a.B = B;
  a.C = C;
  a.H = H;
  a.D = D;
  a.dtype = x.dtype();
  a.x = x.data_ptr();
  a.lengths = lengths.defined() ? lengths.data<std::int32_t>() : nullptr;
  a.y = result.y.data_ptr();
  for (int d = 0; d < D; ++d) a.dirs[d].reverse = dirs[d].dir == Direction::Reverse;  // supports() reads it
  std::string reason;
  const LstmVariantRow& row = pick_row(x, a, options, &reason);
  result.impl = impl_of(row);
  result.row = row.name;

  // A training forward is one with somewhere to save (lstm.h): every row gets the F32 buffers.
  const DType sd = saved_dtype(x.dtype());
  for (int d = 0; d < D; ++d) {
    const LstmDirectionParams& p = dirs[d];
    SavedDirection& s = saved.dirs[d];
    s.w_ih = p.w_ih;
    s.w_hh = p.w_hh;
    s.bias = add(p.b_ih, p.b_hh);  // recorded: its backward hands db to both biases
    s.h0 = p.h0;
    s.c0 = p.c0;
    if (record) {
      s.c_saved = Tensor::empty({T, B, H}, sd, x.device());
      s.gates_saved = Tensor::empty({T, B, 4 * H}, sd, x.device());
    }
    result.h_n.push_back(Tensor::empty({B, H}, x.dtype(), x.device()));
    result.c_n.push_back(Tensor::empty({B, H}, x.dtype(), x.device()));
    kernels::LstmDirection& k = a.dirs[d];
    k.w_ih = s.w_ih.data_ptr();
    k.w_hh = s.w_hh.data_ptr();
    k.bias = s.bias.data_ptr();
    k.h0 = ptr_or_null(s.h0);
    k.c0 = ptr_or_null(s.c0);
    k.h_n = result.h_n[d].data_ptr();
    k.c_n = result.c_n[d].data_ptr();
    k.c_saved = out_ptr_or_null(s.c_saved);
    k.gates_saved = out_ptr_or_null(s.gates_saved);
  }
  saved.backend = run_row_forward("lstm_seq", row, reason, x, a);
  if (!record) return result;

  saved.row = &row;
  saved.x = x;
  saved.y = result.y;
  saved.lengths = lengths;
  std::vector<const Tensor*> inputs{&x};
  for (int d = 0; d < D; ++d)
    for (const Tensor* t : {&saved.dirs[d].w_ih, &saved.dirs[d].w_hh, &saved.dirs[d].bias, &saved.dirs[d].h0,
                            &saved.dirs[d].c0})
      inputs.push_back(t);
  std::vector<Tensor*> outputs{&result.y};
  for (int d = 0; d < D; ++d) {
    outputs.push_back(&result.h_n[d]);
    outputs.push_back(&result.c_n[d]);
  }
  record_op("lstm_seq", inputs, outputs, [saved](Node& node) { lstm_seq_backward(node, saved); });
  return result;
}

namespace {

// Node inputs: 0 x, then per direction d: 1+5d w_ih, 2+5d w_hh, 3+5d bias, 4+5d h0, 5+5d c0.
// Outputs: 0 y, then per direction d: 1+2d h_n, 2+2d c_n.
void lstm_seq_backward(Node& node, const LstmSeqSaved& saved) {
  const int D = saved.args.D;
  kernels::LstmSeqBwdArgs b;
  b.fwd = saved.args;
  b.fwd.x = saved.x.data_ptr();
  b.fwd.y = saved.y.data_ptr();
  b.fwd.lengths = saved.lengths.defined() ? saved.lengths.data<std::int32_t>() : nullptr;
  const Tensor dy = node.grad_output_if_any(0);
  b.dy = ptr_or_null(dy);

  std::vector<GradTarget> param_targets, input_targets;
  param_targets.reserve(6);
  input_targets.reserve(5);
  std::vector<Tensor> scratch;  // gradients nobody asked for still need somewhere to go
  auto param_target = [&](int input, const Tensor& like) -> void* {
    if (node.needs_grad(input)) {
      param_targets.push_back(node.grad_input(input));
      return param_targets.back().buffer.data_ptr();
    }
    scratch.push_back(Tensor::empty(like.shape(), like.dtype(), like.device()));
    param_targets.push_back({scratch.back(), GradMode::Overwrite});
    return scratch.back().data_ptr();
  };
  auto input_target = [&](int input) -> void* {
    if (!node.needs_grad(input)) return nullptr;
    input_targets.push_back(node.grad_input(input));
    return input_targets.back().buffer.data_ptr();
  };
  b.dx = input_target(0);
  for (int d = 0; d < D; ++d) {
    const SavedDirection& s = saved.dirs[d];
    kernels::LstmDirection& fd = b.fwd.dirs[d];
    fd.w_ih = s.w_ih.data_ptr();
    fd.w_hh = s.w_hh.data_ptr();
    fd.bias = s.bias.data_ptr();
    fd.h0 = ptr_or_null(s.h0);
    fd.c0 = ptr_or_null(s.c0);
    fd.h_n = fd.c_n = nullptr;  // forward outputs are not rewritten in backward
    fd.c_saved = out_ptr_or_null(s.c_saved);
    fd.gates_saved = out_ptr_or_null(s.gates_saved);
    kernels::LstmDirectionGrad& g = b.grads[d];
    g.dw_ih = param_target(1 + 5 * d, s.w_ih);
    g.dw_hh = param_target(2 + 5 * d, s.w_hh);
    g.dbias = param_target(3 + 5 * d, s.bias);
    g.dh0 = input_target(4 + 5 * d);
    g.dc0 = input_target(5 + 5 * d);
    const Tensor dh_n = node.grad_output_if_any(1 + 2 * d), dc_n = node.grad_output_if_any(2 + 2 * d);
    g.dh_n = ptr_or_null(dh_n);
    g.dc_n = ptr_or_null(dc_n);
    scratch.push_back(dh_n);  // keep alive until the kernel has run
    scratch.push_back(dc_n);
  }
  std::vector<GradTarget*> params, inputs;
  for (auto& t : param_targets) params.push_back(&t);
  for (auto& t : input_targets) inputs.push_back(&t);
  b.param_mode = unify_modes(params);
  b.input_mode = unify_modes(inputs);
  run_row_backward(*saved.row, saved.x, b, saved.backend.get());
}

}  // namespace

}  // namespace loom::ops

// ops/autocast.cc: the autocast regions (a per-thread stack), precision names and what the op
// front-ends call at entry (autocast_input / autocast_inputs). The policy table itself lives in
// ops/autocast_policy.cc.
//
// Per input x of op `op` inside a region of precision p (dtype L = compute_dtype(p)):
//   Low     x -> L       (F32/F16/BF16 inputs; F64 is left alone, as torch.autocast does)
//   F32     x -> F32     (F16/BF16 inputs)
//   Widest  all floating inputs -> the widest of them (F16 with BF16 -> F32: neither holds the other)
//   AsIs    nothing
// Integer and undefined tensors are never touched, and outside a region (or in an F32 one) the
// entry hooks return their argument after one thread-local read.
//
// Weight cache: a Low cast of a leaf that requires grad (a parameter) is kept in the innermost
// region's frame, keyed on the leaf's AutogradMeta (one per parameter, stable while the parameter
// lives; the frame holds a reference so the address cannot be reused) and the target dtype. The
// cached copy's cast node sits on the tape that was current when it was made; if a later op runs
// on another tape (or with recording switched on or off) the copy is made again, so a gradient
// path is never lost. The frame, and with it every copy, goes when the region ends.
#include "ops/autocast.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <utility>

#include "core/error.h"
#include "ops/autograd.h"
#include "ops/cast.h"

namespace loom::ops {
namespace {

struct CachedCast {
  std::shared_ptr<AutogradMeta> master;  // keeps the key's address alive for the frame's life
  Tensor source;                         // the master as cast: same storage and offset, or cast again
  Tensor copy;
  Tape* tape = nullptr;                  // Tape::current() when the copy was made
};

struct Frame {
  Precision precision;
  std::map<std::pair<const AutogradMeta*, DType>, CachedCast> weights;
};

// The innermost region is back(). A vector of unique_ptr so frames never move.
thread_local std::vector<std::unique_ptr<Frame>> regions;
// Cast count for tests: every weight cast the cache had to make (hits do not count).
thread_local std::int64_t weight_casts = 0;

bool is_parameter(const Tensor& x) {
  const std::shared_ptr<AutogradMeta>& m = x.autograd_meta();
  return m && m->requires_grad && m->is_leaf;
}

// A low-precision copy of x for the innermost region: cached for parameters, fresh otherwise.
Tensor to_low(const Tensor& x, DType low) {
  if (!is_parameter(x)) return cast(x, low);
  Frame& frame = *regions.back();
  const auto key = std::make_pair(x.autograd_meta().get(), low);
  auto it = frame.weights.find(key);
  Tape* tape = Tape::current();
  // same_data: a parameter whose storage was swapped (e.g. a load into a new buffer) re-casts.
  if (it != frame.weights.end() && it->second.tape == tape && it->second.source.same_data(x)) return it->second.copy;
  CachedCast entry{x.autograd_meta(), x, cast(x, low), tape};
  ++weight_casts;
  frame.weights[key] = entry;
  return entry.copy;
}

int width_rank(DType t) {
  switch (t) {
    case DType::F16:
    case DType::BF16: return 1;
    case DType::F32: return 2;
    case DType::F64: return 3;
    default: return 0;
  }
}

}  // namespace

Precision parse_precision(const std::string& name) {
  std::string s(name);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (s == "fp32" || s == "f32" || s == "float32") return Precision::F32;
  if (s == "bf16" || s == "bfloat16") return Precision::BF16;
  if (s == "fp16" || s == "f16" || s == "float16" || s == "half") return Precision::F16;
  LOOM_THROW(Error, "unknown precision '", name, "': expected fp32, bf16 or fp16");
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::F32: return "fp32";
    case Precision::BF16: return "bf16";
    case Precision::F16: return "fp16";
  }
  return "?";
}

DType compute_dtype(Precision p) {
  switch (p) {
    case Precision::F32: return DType::F32;
    case Precision::BF16: return DType::BF16;
    case Precision::F16: return DType::F16;
  }
  return DType::F32;
}

AutocastScope::AutocastScope(Precision p) : previous_(autocast_precision()) {
  regions.push_back(std::make_unique<Frame>(Frame{p, {}}));
}

AutocastScope::~AutocastScope() { regions.pop_back(); }

Precision autocast_precision() { return regions.empty() ? Precision::F32 : regions.back()->precision; }

std::int64_t autocast_weight_casts() { return weight_casts; }

Tensor autocast_input(const char* op, const Tensor& x) {
  if (regions.empty() || regions.back()->precision == Precision::F32) return x;  // the fast path
  const OpPrecision rule = autocast_policy_of(op);  // before the early returns: an op without a row throws
  if (!x.defined() || !is_floating(x.dtype())) return x;
  switch (rule) {
    case OpPrecision::Low: {
      const DType low = compute_dtype(regions.back()->precision);
      if (x.dtype() == low || x.dtype() == DType::F64) return x;
      return to_low(x, low);
    }
    case OpPrecision::F32:
      return x.dtype() == DType::F16 || x.dtype() == DType::BF16 ? cast(x, DType::F32) : x;
    case OpPrecision::Widest:  // one input is its own widest
    case OpPrecision::AsIs: return x;
  }
  return x;
}

std::vector<Tensor> autocast_inputs(const char* op, const std::vector<Tensor>& xs) {
  if (regions.empty() || regions.back()->precision == Precision::F32) return xs;
  if (autocast_policy_of(op) != OpPrecision::Widest) {
    std::vector<Tensor> out;
    out.reserve(xs.size());
    for (const Tensor& x : xs) out.push_back(autocast_input(op, x));
    return out;
  }
  // Widest: the widest floating dtype present; F16 next to BF16 widens both to F32.
  int rank = 0;
  bool has_f16 = false, has_bf16 = false;
  for (const Tensor& x : xs) {
    if (!x.defined() || !is_floating(x.dtype())) continue;
    rank = std::max(rank, width_rank(x.dtype()));
    has_f16 = has_f16 || x.dtype() == DType::F16;
    has_bf16 = has_bf16 || x.dtype() == DType::BF16;
  }
  if (rank == 0) return xs;
  DType target = rank == 3 ? DType::F64 : DType::F32;
  if (rank == 1 && !(has_f16 && has_bf16)) target = has_f16 ? DType::F16 : DType::BF16;
  std::vector<Tensor> out;
  out.reserve(xs.size());
  for (const Tensor& x : xs)
    out.push_back(x.defined() && is_floating(x.dtype()) && x.dtype() != target ? cast(x, target) : x);
  return out;
}

Tensor autocast_output(const char* op, const Tensor& y) {
  if (regions.empty() || regions.back()->precision == Precision::F32) return y;
  if (autocast_policy_of(op) != OpPrecision::Low || !y.defined()) return y;
  const DType low = compute_dtype(regions.back()->precision);
  if (!is_floating(y.dtype()) || y.dtype() == low || y.dtype() == DType::F64) return y;
  return cast(y, low);
}

}  // namespace loom::ops

// ops/impl.cc: Impl names and the LOOM_TRACE output of ops/dispatch.h.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

#include "ops/dispatch.h"

namespace loom {

const char* impl_name(Impl impl) {
  switch (impl) {
    case Impl::Auto: return "auto";
    case Impl::Cpu: return "cpu";
    case Impl::Cuda: return "cuda";
    case Impl::Cudnn: return "cudnn";
  }
  return "?";
}

Impl parse_impl(const std::string& s) {
  if (s == "auto") return Impl::Auto;
  if (s == "cpu") return Impl::Cpu;
  if (s == "cuda") return Impl::Cuda;
  if (s == "cudnn") return Impl::Cudnn;
  throw Error("unknown implementation '" + s + "' (expected auto, cpu, cuda or cudnn)");
}

namespace detail {

void trace_choice(const char* op, const char* impl) {
  static const bool enabled = [] {
    const char* v = std::getenv("LOOM_TRACE");
    return v && std::strcmp(v, "0") != 0 && *v;
  }();
  if (!enabled) return;
  static std::mutex mu;
  static std::set<std::string> seen;
  std::lock_guard<std::mutex> lock(mu);
  if (seen.insert(std::string(op) + "/" + impl).second) std::fprintf(stderr, "loom: %s -> %s\n", op, impl);
}

}  // namespace detail
}  // namespace loom

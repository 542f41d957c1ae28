// bench/torch_peer/torch_peer_loader.cc: torch_peer.h in a build with libtorch. The functions here
// load libloom_torch_peer.so (torch_peer.cc) with dlopen() on the first call and forward to it, so
// `loom` itself never links libtorch and only a run that asks for the peer pays its ~3 s of loading
// (torch_peer_plugin.h says why).
//
// Where the plugin is looked for, first found wins:
//   1. $LOOM_TORCH_PEER: an explicit path to the .so;
//   2. next to the running executable (an installed or copied `loom` carries it along);
//   3. where this build tree put it (LOOM_TORCH_PEER_BUILD_PATH), so tests/loom_tests finds it too.
// If none loads, available() is false and every run returns ok = false with dlopen's reasons.
//
// OpenMP's thread count is process-wide and shared with loom (one libgomp): libtorch sets it to its
// own default when it initializes (1 on this 2-core VM, where it counts physical cores differently),
// which would leave oneDNN's GEMM in loom's later kernels on one thread. So every call puts loom's
// count back afterwards, and a run with Settings.threads = 0 runs torch on loom's count
// (loom::num_threads()), so the two sides of a comparison use the same number of threads.
#include <dlfcn.h>
#include <omp.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "bench/torch_peer/torch_peer_plugin.h"
#include "core/parallel.h"

namespace loom::bench::torch_peer {
namespace {

struct Loaded {
  const PluginApi* api = nullptr;  // null when the plugin could not be loaded
  std::string why_not;             // then: every place tried and what went wrong there
};

std::string executable_dir() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  std::string path(buf, static_cast<size_t>(n));
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

std::vector<std::string> candidates() {
  std::vector<std::string> paths;
  if (const char* env = std::getenv("LOOM_TORCH_PEER"); env && *env) paths.push_back(env);
  if (std::string dir = executable_dir(); !dir.empty()) paths.push_back(dir + "/" + kPluginFile);
#ifdef LOOM_TORCH_PEER_BUILD_PATH
  paths.push_back(LOOM_TORCH_PEER_BUILD_PATH);
#endif
  return paths;
}

// Checks the table's versions before anything is called through it: a plugin from another build
// (other API version or libstdc++ string ABI) would otherwise crash on the first std::string.
std::string incompatible(const PluginApi* api) {
  if (api->api_version != kPluginApiVersion)
    return "plugin API version " + std::to_string(api->api_version) + ", this loom expects " +
           std::to_string(kPluginApiVersion) + " (rebuild both)";
  if (api->cxx11_abi != _GLIBCXX_USE_CXX11_ABI)
    return "plugin built with _GLIBCXX_USE_CXX11_ABI=" + std::to_string(api->cxx11_abi) + ", loom with " +
           std::to_string(_GLIBCXX_USE_CXX11_ABI);
  if (api->result_size != sizeof(Result)) return "plugin's Result has another layout (rebuild both)";
  return "";
}

Loaded load() {
  Loaded out;
  for (const std::string& path : candidates()) {
    if (access(path.c_str(), F_OK) != 0) {
      out.why_not += (out.why_not.empty() ? "" : "; ") + path + ": no such file";
      continue;
    }
    // RTLD_LOCAL: libtorch's symbols stay out of the global namespace, so they cannot interpose
    // on loom's (both use the same libdnnl, libopenblas and libgomp, which are shared by soname).
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      out.why_not += (out.why_not.empty() ? "" : "; ") + path + ": " + dlerror();
      continue;
    }
    auto entry = reinterpret_cast<PluginEntry>(dlsym(handle, kPluginSymbol));
    std::string bad = entry ? incompatible(entry()) : std::string("no symbol ") + kPluginSymbol;
    if (bad.empty()) {
      out.api = entry();
      out.why_not.clear();
      return out;  // never dlclose'd: libtorch does not support being unloaded
    }
    out.why_not += (out.why_not.empty() ? "" : "; ") + path + ": " + bad;
  }
  if (out.why_not.empty()) out.why_not = std::string("no place to look for ") + kPluginFile;
  out.why_not = "libtorch peer not loaded (" + out.why_not + ")";
  return out;
}

const Loaded& plugin() {
  static std::once_flag once;
  static Loaded loaded;
  std::call_once(once, [] { loaded = load(); });
  return loaded;
}

Result absent() {
  Result r;
  r.error = plugin().why_not;
  return r;
}

// Calls into the plugin with loom's thread count for torch (unless the caller chose one) and puts
// OpenMP's count back afterwards (see the top of this file).
class OpenMpScope {
 public:
  OpenMpScope() : saved_(omp_get_max_threads()) {}
  ~OpenMpScope() { omp_set_num_threads(saved_); }
  OpenMpScope(const OpenMpScope&) = delete;
  OpenMpScope& operator=(const OpenMpScope&) = delete;

 private:
  int saved_;
};

template <typename Case>
Result run(Result (*PluginApi::*fn)(const Case&, const Settings&), const Case& c, const Settings& s) {
  if (!available()) return absent();
  OpenMpScope keep;
  Settings with_threads = s;
  if (with_threads.threads <= 0) with_threads.threads = loom::num_threads();
  return (plugin().api->*fn)(c, with_threads);
}

}  // namespace

bool available() {
  OpenMpScope keep;  // the first call loads libtorch, whose initialization may set OpenMP's count
  return plugin().api != nullptr;
}
std::string version() {
  if (!available()) return plugin().why_not;
  OpenMpScope keep;
  return plugin().api->version();
}
bool cuda_available() {
  if (!available()) return false;
  OpenMpScope keep;
  return plugin().api->cuda_available();
}
Result run_lstm(const LstmCase& c, const Settings& s) { return run(&PluginApi::run_lstm, c, s); }
Result run_conv1d(const Conv1dCase& c, const Settings& s) { return run(&PluginApi::run_conv1d, c, s); }
Result run_textcnn(const TextCnnCase& c, const Settings& s) { return run(&PluginApi::run_textcnn, c, s); }

}  // namespace loom::bench::torch_peer

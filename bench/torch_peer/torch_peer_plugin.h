// bench/torch_peer/torch_peer_plugin.h: the seam between `loom` and libloom_torch_peer.so.
//
// Why a plugin: Debian's libtorch_cpu.so pulls in some 300 shared libraries (OpenCV, GDAL, Qt, ...);
// linked into `loom`, every run paid ~2.8 s to load them, `loom --help` included (docs/torch_peer.md
// has the numbers). So the peer is a separate shared library that torch_peer_loader.cc dlopen()s on
// the first call, and only `loom bench` pays for libtorch.
//
// The plugin exports one C symbol returning a table of function pointers with the signatures of
// torch_peer.h. The types crossing the seam are std::string and std::vector, so both sides must use
// the same libstdc++ ABI: the table carries the plugin's _GLIBCXX_USE_CXX11_ABI and sizeof(Result),
// and the loader refuses a plugin that disagrees instead of crashing on its first string.
#pragma once

#include <string>

#include "bench/torch_peer/torch_peer.h"

namespace loom::bench::torch_peer {

// Bumped whenever PluginApi or torch_peer.h's structs change.
inline constexpr int kPluginApiVersion = 1;
inline constexpr const char* kPluginFile = "libloom_torch_peer.so";
inline constexpr const char* kPluginSymbol = "loom_torch_peer_plugin_api";

struct PluginApi {
  int api_version;
  int cxx11_abi;            // _GLIBCXX_USE_CXX11_ABI the plugin was compiled with
  unsigned result_size;     // sizeof(Result) in the plugin
  std::string (*version)();
  bool (*cuda_available)();
  Result (*run_lstm)(const LstmCase&, const Settings&);
  Result (*run_conv1d)(const Conv1dCase&, const Settings&);
  Result (*run_textcnn)(const TextCnnCase&, const Settings&);
};

using PluginEntry = const PluginApi* (*)();

}  // namespace loom::bench::torch_peer

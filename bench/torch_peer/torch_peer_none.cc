// bench/torch_peer/torch_peer_none.cc: the peer in a build without libtorch (LOOM_TORCH=OFF, or
// libtorch-dev not installed): it says why, and `loom bench` prints the reason in the libtorch column.
#include "bench/torch_peer/torch_peer.h"

namespace loom::bench::torch_peer {
namespace {
const char* kWhy =
    "no libtorch peer in this build: install libtorch-dev (LOOM_TORCH=1 bash tools/setup.sh) and "
    "configure with -DLOOM_TORCH=ON";
Result absent() {
  Result r;
  r.error = kWhy;
  return r;
}
}  // namespace

bool available() { return false; }
std::string version() { return kWhy; }
bool cuda_available() { return false; }
Result run_lstm(const LstmCase&, const Settings&) { return absent(); }
Result run_conv1d(const Conv1dCase&, const Settings&) { return absent(); }
Result run_textcnn(const TextCnnCase&, const Settings&) { return absent(); }

}  // namespace loom::bench::torch_peer

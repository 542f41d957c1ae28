// tests/support/peer.h: run a live peer (PyTorch, NLTK, scikit-learn) and read its answer.
//
// Layer 4 of the test pyramid (architecture section 11): the same computation in a reference
// library, run live, not frozen into fixtures. Debian's python3-torch & co. are visible only to
// the system interpreter /usr/bin/python3. The test writes its inputs as JSON, runs
// tests/peers/<script> IN OUT, and reads OUT. A script exits with status 3 when its library is
// missing; the test then skips with "skipped: no peer ..." unless LOOM_REQUIRE_PEERS=1 (set by
// .ci/run, so CI can never pass by skipping the parity tests).
#pragma once

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace loom::test {

struct PeerAnswer {
  bool ok = false;       // the peer ran and answered
  std::string problem;   // why not
  nlohmann::json out;
};

inline PeerAnswer run_peer(const std::string& script, const nlohmann::json& input) {
  PeerAnswer answer;
  char dir_template[] = "/tmp/loom_peer_XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (!dir) {
    answer.problem = "cannot create a temporary folder";
    return answer;
  }
  const std::string in = std::string(dir) + "/in.json", out = std::string(dir) + "/out.json",
                    err = std::string(dir) + "/err.txt";
  std::ofstream(in) << input.dump();
  const std::string cmd = "/usr/bin/python3 " LOOM_SOURCE_DIR "/tests/peers/" + script + " " + in + " " + out +
                          " 2> " + err;
  const int status = std::system(cmd.c_str());
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err_stream(err);
  std::stringstream err_text;
  err_text << err_stream.rdbuf();
  if (code == 0) {
    std::ifstream(out) >> answer.out;
    answer.ok = true;
  } else if (code == 3) {
    answer.problem = "its library is not installed: " + err_text.str();
  } else {
    answer.problem = "exit status " + std::to_string(code) + ": " + err_text.str();
  }
  std::remove(in.c_str());
  std::remove(out.c_str());
  std::remove(err.c_str());
  rmdir(dir);
  return answer;
}

// Returns true when the test should go on; otherwise reports the skip or the failure.
inline bool peer_available(const PeerAnswer& a, const std::string& peer) {
  if (a.ok) return true;
  const char* require = std::getenv("LOOM_REQUIRE_PEERS");
  if (a.problem.rfind("its library", 0) == 0 && !(require && std::string(require) == "1")) {
    std::cout << "skipped: no peer " << peer << " (" << a.problem << ")" << std::endl;
    MESSAGE("skipped: no peer " << peer);
    return false;
  }
  FAIL("peer " << peer << " failed: " << a.problem);
  return false;
}

}  // namespace loom::test

// tests/support/peer.h: run a live peer (PyTorch, NLTK, scikit-learn) and read its answer.
//
// Layer 4 of the test pyramid (1 finite differences, 2 backends, 3 invariances, 4 peers,
// 5 learning): the same computation in a reference library, run live, not frozen into fixtures.
// Debian's python3-torch & co. are visible only to the system interpreter /usr/bin/python3. The
// test writes its inputs as JSON, runs tests/peers/<script> IN OUT, and reads OUT. A script exits
// with status 3 when its library is missing; the test then skips with "skipped: no peer ..."
// unless LOOM_REQUIRE_PEERS=1 (set by .ci/run, so CI can never pass by skipping the parity tests).
#pragma once

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>  // kept for the tests that include this header and use them
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "tests/support/temp_dir.h"

namespace loom::test {

struct PeerAnswer {
  bool ok = false;       // the peer ran and answered
  std::string problem;   // why not
  nlohmann::json out;
};

inline PeerAnswer run_peer(const std::string& script, const nlohmann::json& input) {
  PeerAnswer answer;
  const TempDir dir("peer");
  const std::string in = dir.write("in.json", input.dump()), out = dir.file("out.json"), err = dir.file("err.txt");
  const std::string cmd = "/usr/bin/python3 " LOOM_SOURCE_DIR "/tests/peers/" + script + " " + in + " " + out +
                          " 2> " + err;
  const int status = std::system(cmd.c_str());
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  const std::string err_text = read_bytes(err);
  if (code == 0) {
    std::ifstream(out) >> answer.out;
    answer.ok = true;
  } else if (code == 3) {
    answer.problem = "its library is not installed: " + err_text;
  } else {
    answer.problem = "exit status " + std::to_string(code) + ": " + err_text;
  }
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

// tools/selftest.h: `loom selftest`, the engine's smoke test on every available device.
//
// A 3-layer perceptron (8 -> 64 -> 64 -> 4, tanh) learns a fixed synthetic task: 256 points drawn
// uniformly from [-1, 1]^8 (Philox, seed 7), labelled by which of four regions a nonlinear rule
// puts them in. Full-batch AdamW (lr 1e-2) through the autograd tape, softmax cross-entropy loss.
// It exercises tensors, embedding-free core ops (linear, tanh, loss), the tape and the optimizer.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <vector>

#include "core/device.h"

namespace loom::tools {

struct SelftestOptions {
  Device device = Device::cpu();
  int steps = 300;
  int log_every = 50;          // print the loss every this many steps (0: never)
  std::uint64_t seed = 1;      // initialization seed; the data set is fixed
  std::ostream* log = nullptr; // where progress goes (nullptr: nowhere)
};

struct SelftestResult {
  std::vector<float> losses;  // the loss at every step
  float final_loss = 0;       // loss after the last update
  float accuracy = 0;         // training accuracy after the last update
  double seconds = 0;         // wall time of the training loop
};

SelftestResult run_selftest(const SelftestOptions& options);

// The subcommand: runs on the CPU and on every usable CUDA device. Returns 0 when every run
// reached loss < 0.01, 1 otherwise.
int selftest_main(std::ostream& out);

}  // namespace loom::tools

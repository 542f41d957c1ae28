// kernels/common/cost.h: the work an op does, as numbers benches and traces can print.
// Each family's <family>_cost() computes these from the same formulas its kernel comment states,
// and a test checks them against a hand count.
#pragma once

namespace loom::kernels {

struct Cost {
  double flops = 0;  // floating-point operations (a multiply-add counts 2)
  double bytes = 0;  // bytes that must move between memory and the chip at minimum
};

}  // namespace loom::kernels

// tests/models/test_models_grad.cc: every architecture's gradient, end to end, against central
// finite differences in F64 (the models are built with F64 parameters; every op they use runs F64
// on the CPU).
//
// The check itself is tests/models/model_gradcheck.h (shared with hybrid and meta-mlp): the
// analytic gradient of L = sum_i w_i logits_i (fixed random w) from one recorded backward, then for
// each parameter element p_j, (L(p_j + h) - L(p_j - h)) / 2h with h = 1e-6, restored afterwards. Tolerance: the
// table's F64 entry (rtol 1e-6) with gradcheck.h's floor 1e-8, for the reasons given there.
// Dropout is ON (Phase::Train): each evaluation starts a fresh Generator with the same seed, so
// every one draws the same masks, and the check covers dropout's backward too. The batch mixes
// lengths (1, shorter than the conv widths, full), so masking, padded lengths and the pooled
// lengths of cnn-lstm are all differentiated through.
#include <doctest/doctest.h>

#include "tests/models/model_gradcheck.h"
#include "tests/models/model_util.h"

using namespace loom;

TEST_CASE("models: every architecture's gradient passes an F64 finite-difference check") {
  for (models::Arch arch : test::all_archs()) {
    for (std::int64_t K : {1, 3}) {
      const auto m = models::make_text_model(test::tiny_config(arch, K), 17, Device::cpu(), DType::F64);
      // Lengths 6 (full), 1 and 2 (shorter than width 3), 4; garbage ids past each length.
      const test::TokenBatch batch = test::make_batch({6, 1, 2, 4}, 6, 11, 5, /*pad_id=*/9);
      test::classifier_gradcheck(*m, {batch.tokens, batch.lengths, Tensor()},
                                 test::arch_str(arch) + " with " + std::to_string(K) + " outputs");
    }
  }
}

// core/random.cc: the process-wide generator.
#include "core/random.h"

namespace loom {

Generator& default_generator() {
  static Generator gen;
  return gen;
}

void manual_seed(std::uint64_t seed) { default_generator().set_state(seed, 0); }

}  // namespace loom

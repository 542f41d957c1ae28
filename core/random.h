// core/random.h: the counter-based generator (Philox-4x32-10, Salmon et al. SC'11).
//
// A counter-based generator has no sequential state: number n of stream `seed` is a pure function
// philox(seed, n). So the same (seed, offset) yields the same bits on the CPU and on the GPU, for
// any thread count or launch shape, and a dropout mask can be recomputed in backward instead of
// stored. The function itself lives in core/philox.h (host + device).
//
// Generator hands out disjoint ranges of one stream: reserve(n) returns the offset of n fresh
// numbers. Saving (seed, offset) in a checkpoint restores the stream exactly.
#pragma once

#include <cstdint>

namespace loom {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0x10035eedULL) : seed_(seed) {}
  std::uint64_t seed() const { return seed_; }
  std::uint64_t offset() const { return offset_; }
  void set_state(std::uint64_t seed, std::uint64_t offset) { seed_ = seed; offset_ = offset; }
  // Returns the first offset of `count` numbers nobody else will get from this generator.
  // Rounded up to a multiple of 4 so every reservation starts on a fresh Philox block.
  std::uint64_t reserve(std::uint64_t count) {
    const std::uint64_t start = offset_;
    offset_ += (count + 3) & ~std::uint64_t{3};
    return start;
  }

 private:
  std::uint64_t seed_;
  std::uint64_t offset_ = 0;
};

// The process-wide generator used when none is passed; manual_seed() resets it.
Generator& default_generator();
void manual_seed(std::uint64_t seed);

}  // namespace loom

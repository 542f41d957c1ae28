// core/philox.h: Philox-4x32-10, shared by the CPU and CUDA kernels.
//
// One call maps (counter[4], key[2]) to four 32-bit words through 10 rounds of two 32x32->64
// multiplies, a swap and a key xor; the key is bumped by the Weyl constants between rounds.
// Number n of stream `seed` is word (n % 4) of philox(counter = {n/4 low, n/4 high, 0, 0},
// key = {seed low, seed high}). Uniform floats take the top 24 bits, so they are exact and
// identical on every device: u = (word >> 8) * 2^-24, in [0, 1).
#pragma once

#include <cstdint>

#include "core/host_device.h"

namespace loom {

struct Philox4 {
  std::uint32_t v[4];
};

// The raw bijection: counter {c0, c1, c2, c3}, key {k0, k1}. Checked against the published
// known-answer vectors in tests/core/test_random.cc.
LOOM_HD Philox4 philox4x32_10(Philox4 counter, std::uint32_t k0, std::uint32_t k1) {
  std::uint32_t c0 = counter.v[0], c1 = counter.v[1], c2 = counter.v[2], c3 = counter.v[3];
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(0xD2511F53u) * c0;
    const std::uint64_t p1 = static_cast<std::uint64_t>(0xCD9E8D57u) * c2;
    const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
    const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;  // Weyl sequence: golden ratio and sqrt(3) - 1, as in the paper
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// Block `block` of stream `seed`: four consecutive numbers of the stream.
LOOM_HD Philox4 philox_block(std::uint64_t block, std::uint64_t seed) {
  const Philox4 counter{{static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32), 0u, 0u}};
  return philox4x32_10(counter, static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
}

// The n-th 32-bit word of stream `seed`.
LOOM_HD std::uint32_t philox_word(std::uint64_t seed, std::uint64_t n) {
  return philox_block(n >> 2, seed).v[n & 3];
}

// The n-th uniform float in [0, 1) of stream `seed` (24 random bits, exact on every device).
LOOM_HD float philox_uniform(std::uint64_t seed, std::uint64_t n) {
  return static_cast<float>(philox_word(seed, n) >> 8) * (1.0f / 16777216.0f);
}

}  // namespace loom

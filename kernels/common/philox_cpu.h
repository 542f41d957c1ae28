// kernels/common/philox_cpu.h: many consecutive Philox blocks at once on the CPU, for kernels that
// draw one random number per element (dropout).
//
//   philox_blocks_cpu(seed, first, count, words)
//     words[4 j + w] = philox_block(first + j, seed).v[w]   for j in [0, count), w in [0, 4)
//
// So words[] holds numbers 4 first .. 4 (first + count) - 1 of stream `seed`, in order: exactly
// what philox_word (core/philox.h) gives one at a time. On a CPU with AVX-512F eight blocks go
// through the ten rounds together (each counter word in a 64-bit lane, so one VPMULUDQ gives the
// full 32 x 32 -> 64 product); elsewhere, and for the last count % 8 blocks, the scalar
// philox_block runs. Integer arithmetic only: the words are the same on every path, which
// tests/core/test_random.cc checks against philox_block.
#pragma once

#include <cstdint>

namespace loom::kernels {

void philox_blocks_cpu(std::uint64_t seed, std::uint64_t first, std::int64_t count, std::uint32_t* words);

}  // namespace loom::kernels

// kernels/lstm/lstm_scratch_cpu.h: the CPU LSTM's scratch arena. Each thread that calls the kernel
// (lstm_cpu.cc) keeps its own set of grow-only buffers, reused by every later call on that thread
// and freed when the thread exits.
//
// Why: at B 64, T 50, H 512 the largest scratch buffers ([T*B, 4H] floats: Zx in the forward, dZ
// in the backward) are 26 MB each. Allocated per call, glibc hands each one out as fresh pages
// (mmap, or heap grown and trimmed back), and the first write to every 4 KiB page faults and
// zeroes it: tens of thousands of page faults per fwd+bwd (measurements in
// bench/results/2026-12-07-lstm-cpu-h512.md). Reused buffers are already mapped.
//
// Rules of use:
//   - A call asks for its buffers by slot number; a slot's pointer is valid until the next request
//     of the same slot on the same thread. The forward and the backward run one after the other on
//     the calling thread (never nested), so they share slots: the forward's Zx and the backward's dZ
//     are both [T*B, 4H] and live in slot 0, which halves what the arena keeps.
//   - Contents are whatever the last user left: every caller writes a buffer before reading it
//     (lstm_cpu.cc zeroes the positions that must be zero), so reuse cannot change a result.
//   - Grow-only: a request larger than the slot's capacity replaces the buffer (old contents are
//     not kept); smaller requests reuse it. What stays resident per calling thread is the largest
//     shape's scratch: at B 64, T 50, H 512 (F32) about 33 MB (26 MB [T*B, 4H] + 6.5 MB [T*B, H]
//     + a few [B, 4H] and [B, H] buffers); twice the [T*B, 4H] part for BF16 (its bf16 dZ copy is
//     half that size) and for F64 (8-byte elements).
//   - OpenMP worker threads only use the pointers the calling thread got; they own no arena.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace loom::kernels::lstm_cpu {

class ScratchArena {
 public:
  static constexpr int kSlots = 8;

  ScratchArena() = default;
  ScratchArena(const ScratchArena&) = delete;
  ScratchArena& operator=(const ScratchArena&) = delete;
  ~ScratchArena() {
    for (Block& b : blocks_) std::free(b.data);
  }

  // Slot `slot`'s buffer, room for at least n elements of T (at least one), 64-byte aligned.
  template <typename T>
  T* get(int slot, std::int64_t n) {
    Block& b = blocks_[slot];
    const std::size_t want = round_up(static_cast<std::size_t>(n > 0 ? n : 1) * sizeof(T));
    if (want > b.bytes) {
      std::free(b.data);  // grow-only: nothing in the old buffer is needed by the new request
      b.data = nullptr, b.bytes = 0;
      b.data = std::aligned_alloc(kAlign, want);
      if (b.data == nullptr) throw std::bad_alloc();
      b.bytes = want;
    }
    return static_cast<T*>(b.data);
  }

  // Bytes slot `slot` holds now (tests fill whole slots with NaN to show no call reads stale data).
  std::size_t capacity_bytes(int slot) const { return blocks_[slot].bytes; }

  // Bytes this arena holds (for tests and the resident-memory note above).
  std::size_t resident_bytes() const {
    std::size_t total = 0;
    for (const Block& b : blocks_) total += b.bytes;
    return total;
  }

 private:
  static constexpr std::size_t kAlign = 64;  // a cache line; aligned_alloc wants a multiple of it
  static std::size_t round_up(std::size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

  struct Block {
    void* data = nullptr;
    std::size_t bytes = 0;
  };
  Block blocks_[kSlots];
};

// The calling thread's arena: created on first use, freed at thread exit.
inline ScratchArena& thread_scratch() {
  thread_local ScratchArena arena;
  return arena;
}

}  // namespace loom::kernels::lstm_cpu

// sim/fiber.h: fibers, the simulator's CUDA threads.
//
// A fiber is a function running on its own stack that can stop in the middle (switch_to another
// fiber) and later continue where it stopped. The simulator runs every CUDA thread of a block as a
// fiber on one OS thread: a thread runs until it reaches a __syncthreads or a warp operation, switches
// back to the scheduler, and continues when the scheduler resumes it.
//
// Switching is a small hand-written x86-64 routine (fiber.cc): it saves the registers the System V ABI
// says a called function must preserve (rbx, rbp, r12-r15, the stack pointer, and the SSE/x87 control
// words), loads another fiber's, and returns on the other stack. No system call per switch
// (swapcontext makes one to save the signal mask, which the probe measured as 35x slower).
#pragma once

#include <cstddef>

namespace loom::sim {

class Fiber {
 public:
  using Entry = void (*)(void* arg);

  // A fiber that, when first switched to, calls entry(arg). entry must never return: it switches
  // away for the last time instead. The stack comes from mmap with an inaccessible guard page below
  // it, so an overflow faults instead of silently overwriting another fiber's stack.
  Fiber(Entry entry, void* arg, std::size_t stack_bytes = default_stack_bytes());
  ~Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // The fiber for the code that is running now but has no Fiber of its own (the OS thread's own
  // stack, where the scheduler runs). It owns no stack; its context is filled by the first switch.
  static Fiber* for_current_thread();

  // Saves the running context into `from` and continues `to`. Returns when someone switches back.
  static void switch_to(Fiber* from, Fiber* to);

  // Forgets where the fiber stopped: the next switch_to(..., this) calls entry(arg) again from the
  // top. Used to abandon a CUDA thread stuck in a deadlock; nothing on its stack is destroyed.
  void reset();

  const char* stack_lo() const { return stack_lo_; }
  const char* stack_hi() const { return stack_hi_; }

  // 64 KiB; 256 KiB under AddressSanitizer, whose instrumented frames are several times larger.
  static std::size_t default_stack_bytes();

 private:
  Fiber() = default;

  void* sp_ = nullptr;  // saved stack pointer while the fiber is not running (fiber.cc's frame)
  Entry entry_ = nullptr;
  void* arg_ = nullptr;
  char* mapping_ = nullptr;  // guard page + stack, as mmap returned it
  std::size_t mapping_bytes_ = 0;
  char* stack_lo_ = nullptr;
  char* stack_hi_ = nullptr;
  // AddressSanitizer's record of the stack being left (see fiber.cc).
  void* asan_fake_stack_ = nullptr;

  static void start(Fiber* self);  // the first code a new fiber runs
};

}  // namespace loom::sim

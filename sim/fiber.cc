// sim/fiber.cc: the x86-64 context switch, fiber stacks, and the AddressSanitizer annotations.
//
// How a switch works. loom_sim_fiber_switch(&from->sp_, to->sp_) pushes the callee-saved registers
// and the two floating-point control words onto the running stack, stores the stack pointer in
// from->sp_, loads to->sp_ as the stack pointer, pops the same things in reverse, and `ret`s: the
// return address it pops is where `to` called loom_sim_fiber_switch itself. Every other register is
// caller-saved in the System V ABI, so the C++ caller already assumes they are lost across the call.
//
// A fresh fiber's stack is laid out as if it had called loom_sim_fiber_switch: saved registers
// (r12 = the Fiber, r13 = Fiber::start), then a return address pointing at a trampoline that calls
// r13(r12). The first switch to it therefore "returns" into the trampoline.
#include "sim/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
// Weak: -fsanitize=kernel-address (the simulator's check build) also defines __SANITIZE_ADDRESS__
// but links no ASan runtime; then these are null and the annotations are skipped.
#pragma weak __sanitizer_start_switch_fiber
#pragma weak __sanitizer_finish_switch_fiber
#pragma weak __asan_unpoison_memory_region
#endif

#if !defined(__x86_64__)
#error "sim/fiber.cc: the context switch is written for x86-64 (System V ABI) only"
#endif

extern "C" void loom_sim_fiber_switch(void** save_sp, void* load_sp);
extern "C" void loom_sim_fiber_trampoline();

// The 8-byte slot at the lowest address holds MXCSR (low 4 bytes) and the x87 control word: both are
// "callee-saved" control state in the ABI, and a kernel changing the rounding mode must not leak it
// into another fiber.
asm(R"(
  .text
  .globl loom_sim_fiber_switch
  .type loom_sim_fiber_switch, @function
loom_sim_fiber_switch:
  .cfi_startproc
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .cfi_endproc
  .size loom_sim_fiber_switch, .-loom_sim_fiber_switch

  .globl loom_sim_fiber_trampoline
  .type loom_sim_fiber_trampoline, @function
loom_sim_fiber_trampoline:
  .cfi_startproc
  .cfi_undefined rip
  movq %r12, %rdi
  callq *%r13
  ud2
  .cfi_endproc
  .size loom_sim_fiber_trampoline, .-loom_sim_fiber_trampoline
)");

namespace loom::sim {
namespace {

// The fiber a switch is leaving. ASan tells the fiber that starts running the bounds of the stack
// it came from; the OS thread's own stack (the scheduler's) is learned that way.
thread_local Fiber* g_switching_from = nullptr;

std::size_t page_bytes() {
  static const std::size_t bytes = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return bytes;
}

}  // namespace

std::size_t Fiber::default_stack_bytes() {
#if defined(__SANITIZE_ADDRESS__)
  return 256 * 1024;
#else
  return 64 * 1024;
#endif
}

Fiber::Fiber(Entry entry, void* arg, std::size_t stack_bytes) : entry_(entry), arg_(arg) {
  const std::size_t page = page_bytes();
  stack_bytes = (stack_bytes + page - 1) / page * page;
  mapping_bytes_ = stack_bytes + page;
  // MAP_NORESERVE: a 1024-thread block maps 64 MiB of stacks, of which a kernel touches a few pages.
  void* p = mmap(nullptr, mapping_bytes_, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("loom-sim: mmap of a fiber stack");
    std::abort();
  }
  mapping_ = static_cast<char*>(p);
  // Stacks grow down: the guard page sits below the lowest usable address.
  if (mprotect(mapping_, page, PROT_NONE) != 0) {
    std::perror("loom-sim: mprotect of a fiber guard page");
    std::abort();
  }
  stack_lo_ = mapping_ + page;
  stack_hi_ = mapping_ + mapping_bytes_;
  reset();
}

Fiber::~Fiber() {
  if (mapping_ != nullptr) munmap(mapping_, mapping_bytes_);
}

Fiber* Fiber::for_current_thread() {
  thread_local Fiber self;
  return &self;
}

void Fiber::reset() {
#if defined(__SANITIZE_ADDRESS__)
  // An abandoned fiber may leave ASan's redzone poison of its frames behind; the next run would
  // then fault on its own fresh locals.
  if (&__asan_unpoison_memory_region != nullptr) {
    __asan_unpoison_memory_region(stack_lo_, static_cast<std::size_t>(stack_hi_ - stack_lo_));
  }
  asan_fake_stack_ = nullptr;
#endif
  // The frame loom_sim_fiber_switch pops, lowest address first: control words, r15, r14, r13, r12,
  // rbx, rbp, return address. stack_hi_ is page aligned, so after the `ret` the stack pointer is
  // 16-byte aligned, as the trampoline's `call` needs.
  auto* frame = reinterpret_cast<std::uint64_t*>(stack_hi_) - 8;
  std::uint32_t mxcsr = __builtin_ia32_stmxcsr();
  std::uint16_t fpu_cw = 0;
  asm volatile("fnstcw %0" : "=m"(fpu_cw));
  frame[0] = static_cast<std::uint64_t>(mxcsr) | (static_cast<std::uint64_t>(fpu_cw) << 32);
  frame[1] = 0;                                            // r15
  frame[2] = 0;                                            // r14
  frame[3] = reinterpret_cast<std::uint64_t>(&Fiber::start);  // r13
  frame[4] = reinterpret_cast<std::uint64_t>(this);           // r12
  frame[5] = 0;                                            // rbx
  frame[6] = 0;                                            // rbp
  frame[7] = reinterpret_cast<std::uint64_t>(&loom_sim_fiber_trampoline);
  sp_ = frame;
}

void Fiber::start(Fiber* self) {
#if defined(__SANITIZE_ADDRESS__)
  if (&__sanitizer_finish_switch_fiber != nullptr) {
    const void* from_lo = nullptr;
    std::size_t from_bytes = 0;
    __sanitizer_finish_switch_fiber(nullptr, &from_lo, &from_bytes);
    Fiber* from = g_switching_from;
    if (from != nullptr && from->stack_lo_ == nullptr) {  // the OS thread's stack: learn its bounds
      from->stack_lo_ = static_cast<char*>(const_cast<void*>(from_lo));
      from->stack_hi_ = from->stack_lo_ + from_bytes;
    }
  }
#endif
  self->entry_(self->arg_);
  std::fputs("loom-sim: a fiber's entry function returned (it must switch away instead)\n", stderr);
  std::abort();
}

void Fiber::switch_to(Fiber* from, Fiber* to) {
  g_switching_from = from;
#if defined(__SANITIZE_ADDRESS__)
  if (&__sanitizer_start_switch_fiber != nullptr) {
    __sanitizer_start_switch_fiber(&from->asan_fake_stack_, to->stack_lo_,
                                   static_cast<std::size_t>(to->stack_hi_ - to->stack_lo_));
  }
#endif
  loom_sim_fiber_switch(&from->sp_, to->sp_);
  // Running as `from` again.
#if defined(__SANITIZE_ADDRESS__)
  if (&__sanitizer_finish_switch_fiber != nullptr) {
    __sanitizer_finish_switch_fiber(from->asan_fake_stack_, nullptr, nullptr);
  }
#endif
}

}  // namespace loom::sim

// tests/support/timing.h: wall-clock bounds in tests, scaled in the sanitizer builds.
//
// A few tests bound a wall-clock time (reading 100k CSV rows in under a second, ...). The bounds
// sit 10-20x above the typical time: they catch quadratic behaviour, not noise. ASan, UBSan and
// TSan slow the code down 2-15x (docs/sanitizers.md), so in those builds the bound is multiplied
// by 10: a quadratic blow-up is still 1000x and still fails, while the instrumented build does
// not fail for being instrumented. Plain builds keep the bound as written.
#pragma once

namespace loom::testing {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(undefined_behavior_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

// The sanitizer runtimes define these; a plain process leaves the weak references null. This
// catches the shape where only the library is instrumented and the test files are compiled plain
// (-DLOOM_SANITIZE_TESTS=OFF, cmake/sanitize.cmake): the code under test is slow, the test is not.
extern "C" void __asan_init() __attribute__((weak));
extern "C" void __tsan_init() __attribute__((weak));
inline bool sanitizer_runtime_loaded() { return __asan_init != nullptr || __tsan_init != nullptr; }

// `seconds` in a plain build, 10x that in a sanitizer build or process.
inline double wall_bound(double seconds) {
  return kSanitized || sanitizer_runtime_loaded() ? 10.0 * seconds : seconds;
}

}  // namespace loom::testing

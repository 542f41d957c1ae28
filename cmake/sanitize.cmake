# cmake/sanitize.cmake: LOOM_SANITIZE, the sanitizer build shapes (docs/sanitizers.md).
#
#   -DLOOM_SANITIZE=address,undefined   AddressSanitizer (+ LeakSanitizer) and UBSan, any compiler
#   -DLOOM_SANITIZE=thread              ThreadSanitizer; use clang (tools/test.sh picks it): clang's
#                                       OpenMP runtime (libomp) tells TSan about its barriers and
#                                       tasks through the Archer tool, GCC's libgomp does not, so
#                                       every parallel loop would be a false report
#
# The flags go on every target defined after this file is included (loom_core, loom_tools, loom,
# loom_tests, the benchmarks and the libtorch plugin), compile and link alike. -O1 and the line
# tables come after the build type's flags and win: readable stacks, a build no slower than plain.
# UBSan does not recover: its first report aborts the test, so ctest counts it as a failure.
# The run-time options and suppressions files (tools/sanitizers/) are set by tools/test.sh.

set(LOOM_SANITIZE "" CACHE STRING "Sanitizers for every target: address,undefined or thread (empty: none)")
# OFF: the test files (tests/) compile without instrumentation, as in the plain build, and only the
# code under test (loom_core, loom_tools, the tools) is instrumented. The sanitizers still check
# every access the library makes, to any buffer; the test files' own code is not checked. CI's
# sanitizer step uses it: the plain test objects come from ccache (the default shape compiled them),
# which halves the step's compile time (docs/sanitizers.md).
option(LOOM_SANITIZE_TESTS "With LOOM_SANITIZE: instrument the test files too" ON)

if(LOOM_SANITIZE)
  string(REPLACE "," ";" _loom_san_list "${LOOM_SANITIZE}")
  foreach(_s IN LISTS _loom_san_list)
    if(NOT _s MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "LOOM_SANITIZE: unknown sanitizer '${_s}' (use address,undefined or thread)")
    endif()
  endforeach()
  if("thread" IN_LIST _loom_san_list AND ("address" IN_LIST _loom_san_list OR "leak" IN_LIST _loom_san_list))
    message(FATAL_ERROR "LOOM_SANITIZE: thread cannot be combined with address or leak (two build dirs)")
  endif()
  if(LOOM_WITH_SIM)
    # The SIM shape's kernel files carry g++'s kernel-address callbacks, which ASan's and TSan's
    # instrumentation cannot share an object file with; tools/sim_asan.sh is that shape's ASan run.
    message(FATAL_ERROR "LOOM_SANITIZE does not combine with LOOM_CUDA=SIM: use tools/sim_asan.sh")
  endif()
  if(LOOM_WITH_CUDA AND NOT LOOM_WITH_SIM)
    message(WARNING "LOOM_SANITIZE: the .cu files compiled by nvcc are not instrumented")
  endif()
  if("thread" IN_LIST _loom_san_list AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    message(WARNING "LOOM_SANITIZE=thread with GCC: libgomp's barriers are invisible to TSan, so "
                    "every OpenMP loop can be reported; configure a fresh build dir with CXX=clang++")
  endif()

  # Line tables only (-g1 / -gline-tables-only): every frame of a report gets its file and line, at
  # a fraction of the compile time of full debug info on the template-heavy files (CLI11, JSON).
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    set(_loom_san_debug -gline-tables-only)
  else()
    set(_loom_san_debug -g1)
  endif()
  set(_loom_san_flags -fsanitize=${LOOM_SANITIZE} -fno-omit-frame-pointer ${_loom_san_debug} -O1)
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    # GCC in ISO mode (-std=c++17) never fuses a*b+c; clang does by default wherever FMA exists, and
    # ignores GCC's optimize("fp-contract=off") attribute, so the AVX-512 AdamW loop of
    # kernels/optim/optim_cpu.cc lost "the scalar loop's bits" (tests/ops/test_ops_optim.cc) in the
    # clang TSan build. Off restores GCC's arithmetic, which the bitwise tests are written against.
    list(APPEND _loom_san_flags -ffp-contract=off)
  endif()
  if("undefined" IN_LIST _loom_san_list)
    list(APPEND _loom_san_flags -fno-sanitize-recover=undefined)
  endif()
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:${_loom_san_flags}>")
  add_link_options(-fsanitize=${LOOM_SANITIZE})
  message(STATUS "loom: sanitizers ${LOOM_SANITIZE} (${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION})")
endif()

# cmake/sim.cmake: the fourth build shape, -DLOOM_CUDA=SIM (sim/README.md).
#
# The .cu files nvcc compiles are compiled here by the host C++ compiler, against the simulator in
# sim/: its stand-in headers (sim/include/, searched first) and its runtime, cuBLAS and scheduler
# (the loom_sim library, linked instead of libcudart and libcublas). cuDNN is not simulated.
#
#   loom_sim_cuda_sources(<files...>)  marks .cu files as C++ compiled against the simulator, with
#                                      the per-access instrumentation its checks read.
#
# LOOM_SIM_SANITIZE=ON builds everything with AddressSanitizer and UBSan instead (tools/sim_asan.sh):
# then ASan sees every access, and the simulator's own per-access callbacks are left out (the two
# instrumentations cannot share an object file).

option(LOOM_SIM_SANITIZE "SIM shape: build with -fsanitize=address,undefined" OFF)

find_path(LOOM_CUDA_HEADERS cuda_runtime_api.h
          HINTS $ENV{CUDA_HOME}/include $ENV{CUDA_PATH}/include /usr/local/cuda/include /usr/include)
if(NOT LOOM_CUDA_HEADERS)
  message(FATAL_ERROR "LOOM_CUDA=SIM needs the CUDA toolkit's headers (cuda_runtime_api.h, cuda_fp16.h, "
                      "cublas_v2.h), not a GPU: install the toolkit or set CUDA_HOME")
endif()

# The simulator: scheduler, fibers, device memory, runtime, cuBLAS, checks. Never instrumented itself.
set(LOOM_SIM_SOURCES
  sim/fiber.cc
  sim/scheduler.cc
  sim/memory.cc
  sim/runtime.cc
  sim/cublas.cc
  sim/checks.cc
  sim/profile.cc
)
add_library(loom_sim STATIC ${LOOM_SIM_SOURCES})
target_include_directories(loom_sim PUBLIC ${PROJECT_SOURCE_DIR})
target_include_directories(loom_sim BEFORE PUBLIC ${PROJECT_SOURCE_DIR}/sim/include)
target_include_directories(loom_sim PUBLIC ${LOOM_CUDA_HEADERS})
target_compile_definitions(loom_sim PUBLIC LOOM_SIM=1)
target_compile_options(loom_sim PRIVATE -Wall -Wextra)
if(LOOM_WITH_OPENBLAS)
  target_include_directories(loom_sim PRIVATE ${OPENBLAS_INCLUDE_DIR})
  target_link_libraries(loom_sim PRIVATE ${OPENBLAS_LIBRARY})
  target_compile_definitions(loom_sim PRIVATE LOOM_WITH_OPENBLAS=1)
endif()
target_link_libraries(loom_sim PUBLIC ${CMAKE_DL_LIBS})

if(LOOM_SIM_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  set(_loom_sim_access_flags "")
else()
  # g++ calls __asan_{load,store}N_noabort(addr) before every memory access of a kernel file, with no
  # ASan runtime linked: sim/checks.cc implements them (memcheck, initcheck, racecheck, profile).
  set(_loom_sim_access_flags -fsanitize=kernel-address
      --param=asan-instrumentation-with-call-threshold=0 --param=asan-stack=0 --param=asan-globals=0)
endif()

function(loom_sim_cuda_sources)
  set_source_files_properties(${ARGN} PROPERTIES
    LANGUAGE CXX
    COMPILE_OPTIONS "-include;sim/device.h;-Wno-unknown-pragmas;${_loom_sim_access_flags}")
endfunction()

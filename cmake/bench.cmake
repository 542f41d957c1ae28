# cmake/bench.cmake: the sources of `loom bench` (tools/bench.cc and what it runs), part of
# loom_tools so the tests run exactly what the binary runs. tools/bench.cc parses the flags; the
# engine in bench/engine/ runs them (bench/ sits above tools/ on the include ladder, so the engine
# implements tools/bench.h's run_bench() rather than tools/ including bench/).
set(LOOM_BENCH_SOURCES
  ${PROJECT_SOURCE_DIR}/tools/bench.cc
  ${PROJECT_SOURCE_DIR}/bench/engine/engine.cc
  ${PROJECT_SOURCE_DIR}/bench/engine/lstm.cc
  ${PROJECT_SOURCE_DIR}/bench/engine/conv1d.cc
  ${PROJECT_SOURCE_DIR}/bench/engine/step.cc
  ${PROJECT_SOURCE_DIR}/bench/engine/table.cc
)
# CUDA events for GPU timing: the runtime-API file in CUDA builds, a stub that says why otherwise
# (one file per build shape, like core/cuda_probe.cc and core/cuda_probe_none.cc).
if(LOOM_WITH_CUDA)
  list(APPEND LOOM_BENCH_SOURCES ${PROJECT_SOURCE_DIR}/bench/common/gpu_events_cuda.cc)
else()
  list(APPEND LOOM_BENCH_SOURCES ${PROJECT_SOURCE_DIR}/bench/common/gpu_events_none.cc)
endif()
set_source_files_properties(${PROJECT_SOURCE_DIR}/tools/bench.cc PROPERTIES INCLUDE_DIRECTORIES "${CLI11_INCLUDE_DIR}")
# The engine asks the hand-written and cuDNN kernels which shapes they support; those functions
# exist only in CUDA / cuDNN builds, so it uses the engine's one switch (core/compiled.h), which
# reads the same definitions loom_core is built with.
if(LOOM_WITH_CUDA)
  set(_bench_cuda 1)
else()
  set(_bench_cuda 0)
endif()
if(LOOM_WITH_CUDNN)
  set(_bench_cudnn 1)
else()
  set(_bench_cudnn 0)
endif()
set_source_files_properties(
  ${PROJECT_SOURCE_DIR}/bench/engine/engine.cc ${PROJECT_SOURCE_DIR}/bench/engine/lstm.cc
  ${PROJECT_SOURCE_DIR}/bench/engine/conv1d.cc ${PROJECT_SOURCE_DIR}/bench/engine/step.cc
  ${PROJECT_SOURCE_DIR}/bench/engine/table.cc
  PROPERTIES COMPILE_DEFINITIONS "LOOM_WITH_CUDA=${_bench_cuda};LOOM_WITH_CUDNN=${_bench_cudnn}")

# cmake/io.cmake: the sources of one area of the text pipeline (issue 5), listed explicitly.
# LOOM_IO_SOURCES go into loom_tools (the library above loom_core that the `loom` binary and the
# tests link); LOOM_IO_TEST_SOURCES into loom_tests. Paths are absolute (${LOOM_ROOT}, the
# repository root: CMakeLists.txt and fuzz/CMakeLists.txt both set it).
# This area: model files (io/), metrics (metrics/) and the synthetic corpus (data/synthetic).
set(LOOM_IO_SOURCES
  ${LOOM_ROOT}/io/atomic_file.cc
  ${LOOM_ROOT}/io/safetensors.cc
  ${LOOM_ROOT}/metrics/metrics.cc
  ${LOOM_ROOT}/metrics/stats.cc
  ${LOOM_ROOT}/data/synthetic.cc
)
set(LOOM_IO_TEST_SOURCES
  ${LOOM_ROOT}/tests/io/test_atomic_file.cc
  ${LOOM_ROOT}/tests/io/test_safetensors.cc
  ${LOOM_ROOT}/tests/metrics/test_metrics.cc
  ${LOOM_ROOT}/tests/metrics/test_stats.cc
  ${LOOM_ROOT}/tests/data/test_synthetic.cc
)

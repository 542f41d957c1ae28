# cmake/io.cmake: the sources of one area of the text pipeline (issue 5), listed explicitly.
# LOOM_IO_SOURCES go into loom_tools (the library above loom_core that the `loom` binary and the
# tests link); LOOM_IO_TEST_SOURCES into loom_tests. Paths are absolute (${PROJECT_SOURCE_DIR}).
# This area: model files (io/), metrics (metrics/) and the synthetic corpus (data/synthetic).
set(LOOM_IO_SOURCES
  ${PROJECT_SOURCE_DIR}/io/atomic_file.cc
  ${PROJECT_SOURCE_DIR}/io/safetensors.cc
  ${PROJECT_SOURCE_DIR}/metrics/metrics.cc
  ${PROJECT_SOURCE_DIR}/metrics/stats.cc
  ${PROJECT_SOURCE_DIR}/data/synthetic.cc
)
set(LOOM_IO_TEST_SOURCES
  ${PROJECT_SOURCE_DIR}/tests/io/test_atomic_file.cc
  ${PROJECT_SOURCE_DIR}/tests/io/test_safetensors.cc
  ${PROJECT_SOURCE_DIR}/tests/metrics/test_metrics.cc
  ${PROJECT_SOURCE_DIR}/tests/metrics/test_stats.cc
  ${PROJECT_SOURCE_DIR}/tests/data/test_synthetic.cc
)

# cmake/data.cmake: the sources of one area of the text pipeline (issue 5), listed explicitly.
# LOOM_DATA_SOURCES go into loom_tools (the library above loom_core that the `loom` binary and the
# tests link); LOOM_DATA_TEST_SOURCES into loom_tests. Paths are absolute (${LOOM_ROOT}, the
# repository root: CMakeLists.txt and fuzz/CMakeLists.txt both set it).
set(LOOM_DATA_SOURCES
  ${LOOM_ROOT}/data/csv.cc
  ${LOOM_ROOT}/data/dataset.cc
  ${LOOM_ROOT}/data/vocab.cc
  ${LOOM_ROOT}/data/embeddings.cc
  ${LOOM_ROOT}/data/batching.cc
  ${LOOM_ROOT}/data/ngrams.cc
  ${LOOM_ROOT}/data/metadata.cc
  ${LOOM_ROOT}/data/groups.cc
)
set(LOOM_DATA_TEST_SOURCES
  ${LOOM_ROOT}/tests/data/test_csv.cc
  ${LOOM_ROOT}/tests/data/test_csv_stream.cc
  ${LOOM_ROOT}/tests/data/test_dataset.cc
  ${LOOM_ROOT}/tests/data/test_vocab.cc
  ${LOOM_ROOT}/tests/data/test_embeddings.cc
  ${LOOM_ROOT}/tests/data/test_batching.cc
  ${LOOM_ROOT}/tests/data/test_ngrams.cc
  ${LOOM_ROOT}/tests/data/test_metadata.cc
  ${LOOM_ROOT}/tests/data/test_groups.cc
)

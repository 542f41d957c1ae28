# cmake/data.cmake: the sources of one area of the text pipeline (issue 5), listed explicitly.
# LOOM_DATA_SOURCES go into loom_tools (the library above loom_core that the `loom` binary and the
# tests link); LOOM_DATA_TEST_SOURCES into loom_tests. Paths are absolute (${PROJECT_SOURCE_DIR}).
set(LOOM_DATA_SOURCES
  ${PROJECT_SOURCE_DIR}/data/csv.cc
  ${PROJECT_SOURCE_DIR}/data/dataset.cc
  ${PROJECT_SOURCE_DIR}/data/vocab.cc
  ${PROJECT_SOURCE_DIR}/data/embeddings.cc
  ${PROJECT_SOURCE_DIR}/data/batching.cc
  ${PROJECT_SOURCE_DIR}/data/ngrams.cc
  ${PROJECT_SOURCE_DIR}/data/metadata.cc
  ${PROJECT_SOURCE_DIR}/data/groups.cc
)
set(LOOM_DATA_TEST_SOURCES
  ${PROJECT_SOURCE_DIR}/tests/data/test_csv.cc
  ${PROJECT_SOURCE_DIR}/tests/data/test_csv_stream.cc
  ${PROJECT_SOURCE_DIR}/tests/data/test_dataset.cc
  ${PROJECT_SOURCE_DIR}/tests/data/test_vocab.cc
  ${PROJECT_SOURCE_DIR}/tests/data/test_embeddings.cc
  ${PROJECT_SOURCE_DIR}/tests/data/test_batching.cc
  ${PROJECT_SOURCE_DIR}/tests/data/test_ngrams.cc
  ${PROJECT_SOURCE_DIR}/tests/data/test_metadata.cc
  ${PROJECT_SOURCE_DIR}/tests/data/test_groups.cc
)

# cmake/tokenizer.cmake: the sources of one area of the text pipeline (issue 5), listed explicitly.
# LOOM_TOKENIZER_SOURCES go into loom_tools (the library above loom_core that the `loom` binary and the
# tests link); LOOM_TOKENIZER_TEST_SOURCES into loom_tests. Paths are absolute (${PROJECT_SOURCE_DIR}).
set(LOOM_TOKENIZER_SOURCES
  ${PROJECT_SOURCE_DIR}/data/tokenizer.cc
  ${PROJECT_SOURCE_DIR}/data/tokenizer_html.cc
  ${PROJECT_SOURCE_DIR}/data/tokenizer_unicode.cc
  ${PROJECT_SOURCE_DIR}/data/tweet_prepare.cc
  ${PROJECT_SOURCE_DIR}/data/tweet_scanner.cc
)
set(LOOM_TOKENIZER_TEST_SOURCES
  ${PROJECT_SOURCE_DIR}/tests/data/test_tokenizer.cc
  ${PROJECT_SOURCE_DIR}/tests/data/test_tokenizer_parity.cc
)

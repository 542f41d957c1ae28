# cmake/tokenizer.cmake: the sources of one area of the text pipeline (issue 5), listed explicitly.
# LOOM_TOKENIZER_SOURCES go into loom_tools (the library above loom_core that the `loom` binary and the
# tests link); LOOM_TOKENIZER_TEST_SOURCES into loom_tests. Paths are absolute (${LOOM_ROOT}, the
# repository root: CMakeLists.txt and fuzz/CMakeLists.txt both set it).
set(LOOM_TOKENIZER_SOURCES
  ${LOOM_ROOT}/data/tokenizer.cc
  ${LOOM_ROOT}/data/tokenizer_html.cc
  ${LOOM_ROOT}/data/tokenizer_unicode.cc
  ${LOOM_ROOT}/data/tweet_prepare.cc
  ${LOOM_ROOT}/data/tweet_scanner.cc
)
set(LOOM_TOKENIZER_TEST_SOURCES
  ${LOOM_ROOT}/tests/data/test_tokenizer.cc
  ${LOOM_ROOT}/tests/data/test_tokenizer_parity.cc
)

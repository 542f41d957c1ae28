# cmake/models.cmake: the sources of one area of the text pipeline (issue 5), listed explicitly.
# LOOM_MODELS_SOURCES go into loom_tools (the library above loom_core that the `loom` binary and the
# tests link); LOOM_MODELS_TEST_SOURCES into loom_tests. Paths are absolute (${PROJECT_SOURCE_DIR}).
set(LOOM_MODELS_SOURCES
)
set(LOOM_MODELS_TEST_SOURCES
)

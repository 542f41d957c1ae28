# cmake/bench.cmake: the sources of `loom bench` (tools/bench.cc and what it runs), part of
# loom_tools so the tests run exactly what the binary runs.
set(LOOM_BENCH_SOURCES)

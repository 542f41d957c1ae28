# cmake/torch_peer.cmake: loom_torch_peer, the in-process libtorch peer of `loom bench`
# (bench/torch_peer/torch_peer.h). With LOOM_TORCH=ON and libtorch found it is torch_peer.cc linked
# to libtorch; otherwise torch_peer_none.cc, which says why there is no peer.
add_library(loom_torch_peer STATIC ${PROJECT_SOURCE_DIR}/bench/torch_peer/torch_peer_none.cc)
target_include_directories(loom_torch_peer PUBLIC ${PROJECT_SOURCE_DIR})
target_compile_options(loom_torch_peer PRIVATE -Wall -Wextra)
set(LOOM_WITH_TORCH OFF)

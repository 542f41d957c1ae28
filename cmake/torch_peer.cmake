# cmake/torch_peer.cmake: loom_torch_peer, the in-process libtorch peer of `loom bench`
# (bench/torch_peer/torch_peer.h; docs/torch_peer.md says how to build it on a CPU and a GPU machine).
#
# With LOOM_TORCH=ON and libtorch found (Debian's libtorch-dev, or a PyTorch wheel's through
# -DCMAKE_PREFIX_PATH=$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)') or
# -DTorch_DIR=...), two targets:
#   loom_torch_peer_plugin  MODULE libloom_torch_peer.so from torch_peer.cc, next to `loom`: the only
#                           loom file that sees a torch header, with torch's flags private to it;
#   loom_torch_peer         STATIC torch_peer_loader.cc, linked into loom_tools: dlopen()s the plugin
#                           on first use, so `loom --help` never loads libtorch (~2.8 s on Debian).
# Otherwise loom_torch_peer is torch_peer_none.cc, which says why there is no peer.
set(LOOM_WITH_TORCH OFF)

# find_package(Torch) runs in a function so the many variables its config files set (Caffe2's
# among them, and even CMAKE_CURRENT_LIST_DIR) stay out of loom's scope; only these come back.
function(loom_find_torch)
  find_package(Torch CONFIG QUIET)
  set(LOOM_TORCH_FOUND "${Torch_FOUND}" PARENT_SCOPE)
  set(LOOM_TORCH_LIBRARIES "${TORCH_LIBRARIES}" PARENT_SCOPE)
  set(LOOM_TORCH_CXX_FLAGS "${TORCH_CXX_FLAGS}" PARENT_SCOPE)
  set(LOOM_TORCH_VERSION "${Torch_VERSION}" PARENT_SCOPE)
  set(LOOM_TORCH_CONFIG "${Torch_CONFIG}" PARENT_SCOPE)
endfunction()

if(LOOM_TORCH)
  loom_find_torch()
  if(NOT LOOM_TORCH_FOUND)
    message(STATUS "loom: libtorch not found (no TorchConfig.cmake: install libtorch-dev with "
                   "LOOM_TORCH=1 bash tools/setup.sh, or pass -DTorch_DIR=...); no libtorch peer")
  else()
    # The plugin and loom exchange std::string and std::vector, so both must use the same libstdc++
    # ABI. loom uses the compiler's default (1 with any GCC >= 5 unless a flag says otherwise);
    # pre-2.x PyTorch wheels were built with 0. The loader checks again at run time.
    set(_loom_abi 1)
    if(CMAKE_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
      set(_loom_abi 0)
    endif()
    set(_torch_abi 1)
    if(LOOM_TORCH_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
      set(_torch_abi 0)
    endif()
    if(NOT _torch_abi EQUAL _loom_abi)
      message(STATUS "loom: libtorch ${LOOM_TORCH_VERSION} (${LOOM_TORCH_CONFIG}) uses "
                     "_GLIBCXX_USE_CXX11_ABI=${_torch_abi}, loom ${_loom_abi}: no libtorch peer "
                     "(use a libtorch built with the C++11 ABI)")
    else()
      set(LOOM_WITH_TORCH ON)
    endif()
  endif()
endif()

if(LOOM_WITH_TORCH)
  message(STATUS "loom: libtorch ${LOOM_TORCH_VERSION} peer as a plugin (${LOOM_TORCH_CONFIG})")
  add_library(loom_torch_peer_plugin MODULE ${PROJECT_SOURCE_DIR}/bench/torch_peer/torch_peer.cc)
  set_target_properties(loom_torch_peer_plugin PROPERTIES
    OUTPUT_NAME loom_torch_peer
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}   # next to `loom`, where the loader looks
    CXX_VISIBILITY_PRESET hidden                   # exports only loom_torch_peer_plugin_api
    VISIBILITY_INLINES_HIDDEN ON)
  target_include_directories(loom_torch_peer_plugin PRIVATE ${PROJECT_SOURCE_DIR})
  # The torch target carries its include dirs (as SYSTEM, so -Wextra stays on loom's code only) and
  # TORCH_CXX_FLAGS; PRIVATE keeps them on this target.
  target_link_libraries(loom_torch_peer_plugin PRIVATE ${LOOM_TORCH_LIBRARIES})
  target_compile_options(loom_torch_peer_plugin PRIVATE -Wall -Wextra)

  add_library(loom_torch_peer STATIC ${PROJECT_SOURCE_DIR}/bench/torch_peer/torch_peer_loader.cc)
  target_compile_definitions(loom_torch_peer PRIVATE
    LOOM_TORCH_PEER_BUILD_PATH="$<TARGET_FILE:loom_torch_peer_plugin>")
  # loom_core: loom::num_threads(), the count torch runs on unless the caller sets one.
  target_link_libraries(loom_torch_peer PRIVATE loom_core ${CMAKE_DL_LIBS})
  add_dependencies(loom_torch_peer loom_torch_peer_plugin)  # building loom builds the plugin
else()
  add_library(loom_torch_peer STATIC ${PROJECT_SOURCE_DIR}/bench/torch_peer/torch_peer_none.cc)
endif()
target_include_directories(loom_torch_peer PUBLIC ${PROJECT_SOURCE_DIR})
target_compile_options(loom_torch_peer PRIVATE -Wall -Wextra)

#!/usr/bin/env bash
# tools/gpu_check/0_probe.sh: what machine this is, before anything is built: the GPU and its
# driver (nvidia-smi), the architecture the build will target, nvcc, the compilers and build tools,
# where cuDNN was found and the loader path the later steps use, PyTorch's view of CUDA and cuDNN.
# Seconds. The dry run (LOOM_GPU_CHECK_SIM=1) skips nvidia-smi and PyTorch's CUDA questions.
set -uo pipefail
source "$(dirname "$0")/env.sh"

gc_section "step 0: probe"
echo "mode: $gc_mode   build shape: LOOM_CUDA=$gc_shape   device for the runs: $gc_device"
echo "build folder: $gc_build   output folder: $gc_out"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $gc_jobs cores, $(free -g | awk '/^Mem:/ {print $2}') GiB"
echo "kernel: $(uname -r)"

gc_section "GPU"
if [ "$gc_mode" = gpu ]; then
  gc_run 30 nvidia-smi || echo "nvidia-smi failed"
  nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv 2>/dev/null
else
  echo "dry run: no GPU asked for (nvidia-smi skipped)"
fi
echo "architecture: ${gc_arch:-none detected}"

gc_section "compilers and build tools"
nvcc --version 2>/dev/null | tail -2 || echo "no nvcc"
g++ --version | head -1
cmake --version | head -1
echo "ninja $(ninja --version 2>/dev/null || echo missing)"

gc_section "header-only dependencies"
for h in doctest/doctest.h CLI/CLI.hpp nlohmann/json.hpp; do
  if [ -f "third_party_headers/$h" ]; then echo "$h: third_party_headers/"
  elif [ -f "/usr/include/$h" ]; then echo "$h: /usr/include"
  else echo "$h: MISSING (run tools/stage_headers.sh here and carry third_party_headers)"; fi
done

gc_section "cuDNN"
found=$(ls /usr/local/cuda/include/cudnn.h /usr/include/cudnn.h 2>/dev/null)
echo "cudnn.h in the toolkit or /usr/include: ${found:-none}"
grep -h -E '^#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) ' $(dirname ${found:-${gc_cudnn_include:-/nonexistent}/x})/cudnn_version.h 2>/dev/null
[ -n "$gc_cudnn_library" ] && echo "from PyTorch's wheel: include $gc_cudnn_include, library $gc_cudnn_library"
if [ -n "$gc_cudnn_libdir" ]; then
  echo "libraries in $gc_cudnn_libdir (cuDNN 9 dlopens the sub-libraries by name):"
  ls "$gc_cudnn_libdir" | grep -E '^libcudnn.*\.so\.[0-9]+$' | sed 's/^/  /'
else
  echo "no libcudnn.so.9 found: the build goes without the cuDNN rows"
fi
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"

gc_section "PyTorch"
if [ "$gc_mode" = gpu ]; then
  gc_run 60 python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available(), 'cudnn', torch.backends.cudnn.version()); print('device', torch.cuda.get_device_name(0) if torch.cuda.is_available() else '-')" \
    || echo "no usable torch"
else
  gc_run 60 python3 -c "import torch; print('torch', torch.__version__, '(CUDA not asked: dry run)')" || echo "no torch"
fi

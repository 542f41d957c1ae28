#!/usr/bin/env bash
# tools/gpu_check.sh: everything a GPU can prove, in one command that fits in minutes.
#
# On a machine with an NVIDIA GPU: probe the machine, configure for its architecture, build, run
# the CUDA tests (ctest -L cuda), the selftest and whatever benches exist, and write a dated
# results file under bench/results/ (and $OUT when set, for the device tool to bring back).
#
# The GPU machine has no package manager: first run tools/stage_headers.sh on a machine that has
# the Debian packages, and carry third_party_headers/ along. cuDNN is looked for in the CUDA
# toolkit and in PyTorch's nvidia wheels. Without OpenBLAS the CPU GEMM uses the portable loops.
set -uo pipefail
cd "$(dirname "$0")/.."

stamp=$(date -u +%Y-%m-%dT%H%MZ)
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr ' ' '-' | tr -cd 'A-Za-z0-9_-')
results=bench/results/${stamp}-gpu-check-${gpu:-unknown}.md
mkdir -p bench/results
log=$(mktemp)
exec > >(tee "$log") 2>&1

section() { printf '\n## %s\n\n```\n' "$1"; }
end_section() { printf '```\n'; }

echo "# loom gpu_check, $stamp"
section "probe"
nvidia-smi || echo "nvidia-smi failed"
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH
nvcc --version | tail -2
python_cudnn=$(python3 - <<'PY' 2>/dev/null
import importlib.util, os
spec = importlib.util.find_spec("nvidia.cudnn")
print(list(spec.submodule_search_locations)[0] if spec else "")
PY
)
echo "cudnn.h candidates:"; ls /usr/include/cudnn.h /usr/local/cuda/include/cudnn.h "$python_cudnn/include/cudnn.h" 2>/dev/null
echo "libcudnn candidates:"; ls /usr/lib/x86_64-linux-gnu/libcudnn.so* /usr/local/cuda/lib64/libcudnn.so* "$python_cudnn"/lib/libcudnn.so* 2>/dev/null
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())" 2>/dev/null || echo "no torch"
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.')
echo "architecture: ${arch:-unknown}"
end_section

section "configure and build"
cudnn_root=""
[ -f /usr/local/cuda/include/cudnn.h ] || cudnn_root=$python_cudnn
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release ${arch:+-DCMAKE_CUDA_ARCHITECTURES=$arch} \
  -DLOOM_CUDA=ON ${cudnn_root:+-DLOOM_CUDNN_ROOT=$cudnn_root} 2>&1 | grep -E "loom|Error|error" 
cmake --build build-gpu -j "$(nproc)" 2>&1 | tail -5
build_ok=${PIPESTATUS[0]}
end_section

section "loom doctor"
./build-gpu/loom doctor
end_section

section "ctest -L cuda"
ctest --test-dir build-gpu -L cuda --output-on-failure -j 4 2>&1 | tail -60
end_section

section "all tests"
ctest --test-dir build-gpu --output-on-failure -j 8 2>&1 | tail -15
end_section

section "loom selftest"
./build-gpu/loom selftest
end_section

# Benches: PyTorch first (its own cuDNN, same shapes, dtypes and TF32 pinning), then ours with
# the torch timings joined in, so every ratio comes from this one run on this one GPU.
raw=bench/results/${stamp}-raw
mkdir -p "$raw"
for family in lstm conv1d; do
  script=bench/torch_reference.py
  [ "$family" = conv1d ] && script=bench/torch_reference_conv.py
  section "bench_$family (ours vs cuDNN vs PyTorch, target points)"
  timeout 240 python3 "$script" --device cuda --json "$raw/torch_$family.jsonl" > /dev/null 2>&1 \
    || echo "torch reference for $family failed or timed out"
  timeout 300 ./build-gpu/bench_$family --device cuda --torch-json "$raw/torch_$family.jsonl" \
    --json "$raw/loom_$family.jsonl"
  end_section
done

echo "build exit status: $build_ok"
cp "$log" "$results"
if [ -n "${OUT:-}" ]; then
  cp "$results" "$OUT/"
  cp -r "$raw" "$OUT/" 2>/dev/null
fi
echo "results written to $results"

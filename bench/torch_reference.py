#!/usr/bin/env python3
"""bench/torch_reference.py: torch.nn.LSTM timed on the points bench/bench_lstm.cc runs.

Run it with an interpreter that has torch (here: /usr/bin/python3, Debian's PyTorch 1.13, CPU; on
the GPU machine: its python3 with PyTorch 2.x and bundled cuDNN), then hand the file to the bench:

    /usr/bin/python3 bench/torch_reference.py --device cpu --threads 2 --json torch.jsonl
    build/bench_lstm --device cpu --threads 2 --torch-json torch.jsonl

Same grids, point options and defaults as bench_lstm (keep the two in step), same JSON-lines
schema with impl "torch". What is timed, and why it is the fair counterpart of loom's run:
  - identical shapes, storage dtype and per-row lengths (the same lengths_for formula); weights with
    torch's default init, which is also loom's;
  - variable lengths go through pack_padded_sequence(enforce_sorted=False) and pad_packed_sequence
    INSIDE the timed region: that is what a torch user pays to get per-row lengths, which loom's
    kernels take as an argument;
  - forward-only under torch.no_grad(); forward+backward is forward + y.backward(ones), with x
    requiring a gradient (loom computes dx too), parameter gradients set to None before each
    repetition (loom drops them the same way);
  - TF32 pinned: torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32 are both
    set for every point (on only for "f32+tf32" points), since cuDNN's default would silently use
    TF32 for F32 (performance-anchors.md section 6);
  - CPU: torch.set_num_threads(N) with N = loom's thread count (--torch-threads runs other
    settings, named in "variant"), and both sides print their thread and BLAS settings;
  - GPU: CUDA events around each repetition, the device synchronized before and after it (wall time
    kept alongside); CPU: time.perf_counter per repetition. Warm-up, then median and p10/p90.
"""
import argparse
import ctypes
import json
import math
import os
import re
import sys
import time

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


# ---- the points (mirror of bench_lstm.cc) ----------------------------------------------------------

def lengths_for(T, B):
    """Row 0 runs all T steps; the others spread over [T - T//2, T] with a fixed stride."""
    return [T - (b * 7) % (T // 2 + 1) for b in range(B)]


def grid_shapes(a, gpu):
    """(T, B, C, H, L, D, variable) tuples, as bench_lstm builds them."""
    if any(v is not None for v in (a.H, a.B, a.T, a.C, a.layers)) or a.bidirectional:
        s = (a.T or 50, a.B or 64, a.C or 128, a.H or 256, a.layers or 1, 2 if a.bidirectional else 1)
        if a.lengths == "all":
            a.lengths = "fixed"  # one point means one lengths setting unless asked
        return [s + (False,), s + (True,)]
    if a.quick:
        return [(20, 8, 32, 64, ld, ld, v) for ld in (1, 2) for v in (False, True)]
    if a.grid == "targets":
        out = []
        for h in ((256, 512) if gpu else (256,)):
            out += [(50, 64, 128, h, 1, 1, False), (50, 64, 128, h, 2, 2, True)]
        return out
    return [(t, b, 128, h, ld, ld, v) for h in (128, 256, 512, 1024) for b in (1, 32, 64, 256)
            for t in (50, 100) for ld in (1, 2) for v in (False, True)]


def gflop(shape, training):
    """Useful work, from the formulas of kernels/lstm/lstm.h (lstm_seq_fwd_cost / _bwd_cost)."""
    T, B, C, H, L, D, variable = shape
    N, G = T * B, 4 * H
    flops = 0.0
    for layer in range(L):
        c = C if layer == 0 else D * H
        flops += D * (2 * N * G * (c + H) + 23 * N * H)
        if training:  # dh_prev, dW_hh, dW_ih, dx GEMMs and the pointwise backward
            flops += D * (2 * N * G * (2 * H + c) + 29 * N * H + 2 * N * G * c)
    valid = sum(lengths_for(T, B)) / (T * B) if variable else 1.0
    return flops * valid / 1e9


# ---- timing ----------------------------------------------------------------------------------------

def percentile(sorted_ms, q):
    """Linear interpolation between the nearest order statistics (as bench/common/timer.h)."""
    pos = q * (len(sorted_ms) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_ms) - 1)
    return sorted_ms[lo] + (pos - lo) * (sorted_ms[hi] - sorted_ms[lo])


def summarize(ms):
    ms = sorted(ms)
    return {"median": percentile(ms, 0.5), "p10": percentile(ms, 0.1), "p90": percentile(ms, 0.9), "reps": len(ms)}


def time_cpu(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1e3)
    return summarize(ms), None


def time_gpu(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    device_ms, wall_ms = [], []
    for _ in range(reps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        device_ms.append(start.elapsed_time(stop))
        torch.cuda.synchronize()
        wall_ms.append((time.perf_counter() - t0) * 1e3)
    return summarize(device_ms), summarize(wall_ms)


# ---- one point -------------------------------------------------------------------------------------

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}


def make_step(shape, dtype, device, training):
    T, B, C, H, L, D, variable = shape
    torch.manual_seed(0x15F3)
    lstm = torch.nn.LSTM(C, H, num_layers=L, bidirectional=(D == 2)).to(device=device, dtype=dtype)
    x = torch.empty(T, B, C, device=device, dtype=dtype).uniform_(-1, 1).requires_grad_(training)
    lengths = torch.tensor(lengths_for(T, B), dtype=torch.int64)  # pack_padded_sequence wants them on the CPU
    ones = torch.ones(T, B, D * H, device=device, dtype=dtype)

    def forward():
        if not variable:
            return lstm(x)[0]
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
        return pad_packed_sequence(lstm(packed)[0], total_length=T)[0]

    def step():
        if not training:
            with torch.no_grad():
                forward()
            return
        x.grad = None
        for p in lstm.parameters():
            p.grad = None
        forward().backward(ones)

    return step


def blas_summary():
    """torch's BLAS as its build reports it, and what OpenBLAS (if loaded) says about itself."""
    found = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    blas = "BLAS_INFO=" + (found.group(1) if found else "?")
    libs = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "blas" in os.path.basename(path) and path.startswith("/"):
                libs.add(path)
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            config = lib.openblas_get_config().decode().split()
            return (f"{blas}; {path}: {' '.join(config[:2])} (core {lib.openblas_get_corename().decode()}, "
                    f"{lib.openblas_get_num_threads()} threads)")
        except (OSError, AttributeError):
            continue
    return f"{blas}; libraries: {', '.join(sorted(libs)) or 'none with blas in the name'}"


def variant_label(gpu, threads):
    """How torch ran. On the CPU the thread environment changes torch's speed several-fold on 2
    cores (its OpenMP threads and OpenBLAS's pthreads oversubscribe them), so it is part of the name;
    bench_lstm compares with the fastest variant of each point and shows them all."""
    if gpu:
        return "cudnn" if torch.backends.cudnn.enabled else "aten"
    env = [f"{k}={os.environ[k]}" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY")
           if k in os.environ]
    if torch.get_num_threads() != threads:
        env.append(f"intra-op threads {torch.get_num_threads()}")
    return "aten" + (f" [{' '.join(env)}]" if env else "")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto", help="auto (cuda when torch sees a GPU, else cpu) | cpu | cuda | cuda:N")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--grid", default="targets", choices=["targets", "full"])
    for dim in ("H", "B", "T", "C"):
        p.add_argument(f"--{dim}", type=int)
    p.add_argument("--layers", type=int)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--dtype", choices=["f32", "bf16", "f16", "all"])
    p.add_argument("--tf32", choices=["off", "on", "both"], help="TF32 for F32 points (default: off cpu, both cuda)")
    p.add_argument("--lengths", default="all", choices=["fixed", "variable", "all"])
    p.add_argument("--phase", default="all", choices=["fwd", "fwd+bwd", "all"])
    p.add_argument("--threads", type=int, default=int(os.environ.get("LOOM_NUM_THREADS", os.cpu_count())),
                   help="the CPU thread budget, as loom's --threads (the JSON key)")
    p.add_argument("--torch-threads", type=int,
                   help="torch.set_num_threads (default --threads); with 1, OpenBLAS still uses its own "
                        "threads, so the run uses the same cores without the two pools fighting")
    p.add_argument("--reps", type=int)
    p.add_argument("--warmup", type=int)
    p.add_argument("--json", help="append one JSON line per point to this file")
    a = p.parse_args()

    if a.device == "auto":
        a.device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(a.device)
    gpu = device.type == "cuda"
    if gpu and not torch.cuda.is_available():
        print("skipped: no CUDA device (torch.cuda.is_available() is False)")
        return 0
    torch.set_num_threads(a.torch_threads or a.threads)
    reps = a.reps or (5 if a.quick else 100 if gpu else 20)
    warmup = a.warmup if a.warmup is not None else (1 if a.quick else 10 if gpu else 3)
    dtype_arg = a.dtype or ("all" if gpu else "f32")
    tf32_arg = a.tf32 or ("both" if gpu else "off")
    if not gpu and tf32_arg != "off":
        sys.exit("torch_reference.py: --tf32 on/both needs --device cuda")
    cases = []  # (dtype name, tf32)
    if dtype_arg in ("f32", "all"):
        cases += [("f32", False)] * (tf32_arg != "on") + [("f32", True)] * (tf32_arg != "off")
    cases += [(d, False) for d in ("bf16", "f16") if dtype_arg in (d, "all")]
    phases = ["fwd", "fwd+bwd"] if a.phase == "all" else [a.phase]
    shapes = [s for s in grid_shapes(a, gpu) if a.lengths == "all" or (a.lengths == "variable") == s[6]]

    env = " ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in
                   ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY"))
    print(f"# torch {torch.__version__} on {device}; threads {torch.get_num_threads()} "
          f"(interop {torch.get_num_interop_threads()}); {env}")
    print(f"# BLAS {blas_summary()}; oneDNN available: {torch.backends.mkldnn.is_available()}")
    if gpu:
        device_name = torch.cuda.get_device_name(device)
        print(f"# {device_name}; CUDA {torch.version.cuda}; cuDNN {torch.backends.cudnn.version()} "
              f"(enabled {torch.backends.cudnn.enabled})")
        print(f"# timer: CUDA events per repetition, synchronized before and after; {warmup} warm-up, {reps} timed")
    else:
        device_name = f"torch {torch.__version__} CPU"
        print(f"# timer: time.perf_counter per repetition; {warmup} warm-up, {reps} timed")
    sys.stdout.flush()

    out = open(a.json, "a") if a.json else None
    rows = []
    for shape in shapes:
        T, B, C, H, L, D, variable = shape
        for dtype_name, tf32 in cases:
            torch.backends.cuda.matmul.allow_tf32 = tf32
            torch.backends.cudnn.allow_tf32 = tf32
            for phase in phases:
                training = phase == "fwd+bwd"
                row = {"family": "lstm", "impl": "torch", "variant": variant_label(gpu, a.threads), "device": device.type,
                       "device_name": device_name, "dtype": dtype_name, "tf32": tf32, "phase": phase,
                       "T": T, "B": B, "C": C, "H": H, "L": L, "D": D, "lengths": "variable" if variable else "fixed",
                       "threads": a.threads, "status": "ok", "reps": 0, "ms_median": None,
                       "ms_p10": None, "ms_p90": None, "ms_wall_median": None, "us_per_step": None,
                       "gflop": gflop(shape, training), "tflops": None, "pct_roofline": None, "rel_err": None,
                       "validated_T": 0, "torch_ms_median": None, "torch_variant": "", "ratio_vs_torch": None}
                try:
                    step = make_step(shape, DTYPES[dtype_name], device, training)
                    t, wall = (time_gpu if gpu else time_cpu)(step, warmup, reps)
                    row.update(reps=t["reps"], ms_median=t["median"], ms_p10=t["p10"], ms_p90=t["p90"],
                               us_per_step=t["median"] * 1e3 / T, tflops=row["gflop"] / t["median"])
                    if wall:
                        row["ms_wall_median"] = wall["median"]
                except (RuntimeError, TypeError) as e:  # e.g. a dtype this torch cannot run on this device
                    row["status"] = "error: " + str(e).splitlines()[0]
                if out:
                    out.write(json.dumps(row) + "\n")
                    out.flush()
                print(f"# {row['dtype']}{'+tf32' if tf32 else ''} {phase} T{T} B{B} C{C} H{H} {L}x{D} "
                      f"{row['lengths']}: {row['ms_median'] and round(row['ms_median'], 3)} ms {row['status']}",
                      file=sys.stderr)
                rows.append(row)

    print("\n| dtype | phase | T | B | C | H | LxD | lengths | ms median | p10 / p90 | us/step | TFLOP/s | status |")
    print("|---|---|--:|--:|--:|--:|---|---|--:|--:|--:|--:|---|")
    for r in rows:
        ok = r["ms_median"] is not None
        print(f"| {r['dtype']}{'+tf32' if r['tf32'] else ''} | {r['phase']} | {r['T']} | {r['B']} | {r['C']} | "
              f"{r['H']} | {r['L']}x{r['D']} | {r['lengths']} | " +
              (f"{r['ms_median']:.3f} | {r['ms_p10']:.3f} / {r['ms_p90']:.3f} | {r['us_per_step']:.1f} | "
               f"{r['tflops']:.3g}" if ok else " |  |  | ") + f" | {r['status']} |")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

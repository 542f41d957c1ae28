#!/usr/bin/env python3
"""bench/torch_reference_conv.py: torch.nn.Conv1d (and the text-CNN block) timed on bench_conv1d's points.

Run it with an interpreter that has torch (here: /usr/bin/python3, Debian's PyTorch 1.13, CPU; on
the GPU machine: its python3 with PyTorch 2.x and bundled cuDNN), then hand the file to the bench:

    /usr/bin/python3 bench/torch_reference_conv.py --device cpu --threads 2 --json torch.jsonl
    OMP_WAIT_POLICY=passive build/bench_conv1d --device cpu --threads 2 --torch-json torch.jsonl

Same grids, point options and defaults as bench_conv1d (keep the two in step), the same JSON-lines
schema as bench/common/conv_report.h with impl "torch". A separate file from torch_reference.py
(the LSTM's), whose timers, BLAS probe and variant names it imports, so both time the same way.

What is timed, and why it is the fair counterpart of loom's run:
  - the module a PyTorch user writes: torch.nn.Conv1d(C, F, K) on channels-first x [B, C, T]; the
    block is, per width, torch.relu(conv(x)).amax(dim=2), then torch.cat(dim=1) -> [B, widths*F]
    (Kim 2014, as PyTorch text-CNN code writes it). x is drawn time-major [T, B, C] like loom's
    and permuted to [B, C, T] ONCE, outside the timed region: a torch model keeps that layout;
  - identical shapes and storage dtype, valid padding, full-length rows, torch's default init
    (which is also loom's);
  - forward-only under torch.no_grad(); forward+backward is forward + out.backward(ones), with x
    requiring a gradient (loom computes dx too), gradients set to None before each repetition
    (loom drops them the same way);
  - TF32 pinned: torch.backends.cudnn.allow_tf32 (on by default in torch, for convolutions) and
    torch.backends.cuda.matmul.allow_tf32 are set for every point, on only for "f32+tf32";
  - GPU: torch runs twice per point, with torch.backends.cudnn.benchmark off (torch's default:
    cuDNN's heuristics pick the algorithm) and on (autotuned, what a tuned training script sets);
    loom's ratio is taken against the faster one. CUDA events around each repetition, the device
    synchronized before and after it, wall time kept alongside;
  - CPU: torch.set_num_threads(N) with N = loom's thread count, time.perf_counter per
    repetition; torch's thread, OpenMP, BLAS and oneDNN settings are printed (its CPU Conv1d runs
    through oneDNN when mkldnn is enabled, its relu/amax/cat through ATen's OpenMP loops).
"""
import argparse
import json
import os
import sys

import torch

# The LSTM reference's helpers (this directory is on sys.path when a script here runs).
from torch_reference import DTYPES, blas_summary, time_cpu, time_gpu, variant_label


# ---- the points (mirror of bench_conv1d.cc's shapes_for) --------------------------------------------

def grid_shapes(a, gpu):
    """(T, B, C, F, widths, block) tuples, conv shapes first, as bench_conv1d builds them."""
    widths = tuple(int(w) for w in a.widths.split(","))
    single = any(v is not None for v in (a.B, a.T, a.C, a.F, a.K)) or a.widths_given
    if single:
        tbcf = [(a.T or 50, a.B or 64, a.C or 128, a.F or 100)]
        conv_widths = [a.K or 3]
    elif a.quick:
        tbcf, conv_widths = [(20, 4, 16, 8)], [3]
    elif a.grid == "targets":
        tbcf = [(50, 64, 128, 100)] + ([(100, 256, 300, 256)] if gpu else [])
        conv_widths = [3, 5] if gpu else [3]
    else:
        tbcf = [(t, b, c, f) for b in (32, 64, 256) for t in (50, 100) for c in (128, 300) for f in (100, 128, 256)]
        conv_widths = [3, 4, 5]
    out = []
    if a.op != "block":
        out += [(t, b, c, f, (k,), False) for (t, b, c, f) in tbcf for k in conv_widths]
    if a.op != "conv":
        out += [(t, b, c, f, widths if single else (3, 4, 5), True) for (t, b, c, f) in tbcf]
    return out


def gflop(shape, training):
    """The formulas of kernels/conv1d/conv1d.h (conv1d_*_cost, textcnn_*_cost). The block's
    backward is the sparse one (the useful work), whatever implementation runs it."""
    T, B, C, F, widths, block = shape
    flops = 0.0
    for K in widths:
        Tp = T - K + 1
        if not block:
            flops += 2 * Tp * B * F * K * C
            if training:  # dx and dweight GEMMs, and the bias column sums
                flops += 2 * (2 * Tp * B * F * K * C) + Tp * B * F
        else:
            flops += 2 * Tp * B * F * (K * C + 1)
            if training:
                flops += 2 * B * F * K * C * 2 + B * F
    return flops / 1e9


# ---- one point -------------------------------------------------------------------------------------

def make_step(shape, dtype, device, training):
    T, B, C, F, widths, block = shape
    torch.manual_seed(0xC0417)
    convs = torch.nn.ModuleList([torch.nn.Conv1d(C, F, K) for K in widths]).to(device=device, dtype=dtype)
    x_tbc = torch.empty(T, B, C, device=device, dtype=dtype).uniform_(-1, 1)
    x = x_tbc.permute(1, 2, 0).contiguous().requires_grad_(training)  # [B, C, T], untimed
    if block:
        ones = torch.ones(B, len(widths) * F, device=device, dtype=dtype)
    else:
        ones = torch.ones(B, F, T - widths[0] + 1, device=device, dtype=dtype)

    def forward():
        if not block:
            return convs[0](x)
        return torch.cat([torch.relu(conv(x)).amax(dim=2) for conv in convs], dim=1)

    def step():
        if not training:
            with torch.no_grad():
                forward()
            return
        x.grad = None
        for p in convs.parameters():
            p.grad = None
        forward().backward(ones)

    return step


def parallel_summary():
    """The lines of torch's own parallel report that say how a CPU conv is threaded."""
    keep = ("ATen/Parallel", "at::get_num_threads", "at::get_num_interop_threads", "OpenMP", "MKL-DNN", "oneDNN",
            "std::thread::hardware_concurrency", "Environment variables")
    lines = [ln.strip() for ln in torch.__config__.parallel_info().splitlines()]
    return "; ".join(ln for ln in lines if ln and any(k in ln for k in keep))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto", help="auto (cuda when torch sees a GPU, else cpu) | cpu | cuda | cuda:N")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--grid", default="targets", choices=["targets", "full"])
    p.add_argument("--op", default="all", choices=["conv", "block", "all"])
    for dim in ("B", "T", "C", "F", "K"):
        p.add_argument(f"--{dim}", type=int)
    p.add_argument("--widths", help="one point: the block's kernel widths, comma-separated (default 3,4,5)")
    p.add_argument("--dtype", nargs="+", choices=["f32", "bf16", "f16", "all"],
                   help="one or more (default: f32 on cpu, f32 bf16 on cuda)")
    p.add_argument("--tf32", choices=["off", "on", "both"], help="TF32 for F32 points (default: off cpu, both cuda)")
    p.add_argument("--phase", default="all", choices=["fwd", "fwd+bwd", "all"])
    p.add_argument("--threads", type=int, default=int(os.environ.get("LOOM_NUM_THREADS", os.cpu_count())),
                   help="the CPU thread budget, as loom's --threads (the JSON key)")
    p.add_argument("--torch-threads", type=int, help="torch.set_num_threads (default --threads)")
    p.add_argument("--reps", type=int)
    p.add_argument("--warmup", type=int)
    p.add_argument("--json", help="append one JSON line per point to this file")
    a = p.parse_args()
    a.widths_given = a.widths is not None
    a.widths = a.widths or "3,4,5"

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
    dtype_args = a.dtype or (["f32", "bf16"] if gpu else ["f32"])
    tf32_arg = a.tf32 or ("both" if gpu else "off")
    if not gpu and tf32_arg != "off":
        sys.exit("torch_reference_conv.py: --tf32 on/both needs --device cuda")
    wants = lambda d: d in dtype_args or "all" in dtype_args
    cases = []  # (dtype name, tf32)
    if wants("f32"):
        cases += [("f32", False)] * (tf32_arg != "on") + [("f32", True)] * (tf32_arg != "off")
    cases += [(d, False) for d in ("bf16", "f16") if wants(d)]
    phases = ["fwd", "fwd+bwd"] if a.phase == "all" else [a.phase]
    shapes = grid_shapes(a, gpu)

    env = " ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in
                   ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY"))
    print(f"# torch {torch.__version__} on {device}; threads {torch.get_num_threads()} "
          f"(interop {torch.get_num_interop_threads()}); {env}")
    print(f"# BLAS {blas_summary()}; oneDNN (mkldnn) available {torch.backends.mkldnn.is_available()}, "
          f"enabled {torch.backends.mkldnn.enabled}")
    print(f"# parallel: {parallel_summary()}")
    if gpu:
        device_name = torch.cuda.get_device_name(device)
        print(f"# {device_name}; CUDA {torch.version.cuda}; cuDNN {torch.backends.cudnn.version()} "
              f"(enabled {torch.backends.cudnn.enabled}); runs with cudnn.benchmark off and on")
        print(f"# timer: CUDA events per repetition, synchronized before and after; {warmup} warm-up, {reps} timed")
    else:
        device_name = f"torch {torch.__version__} CPU"
        print(f"# timer: time.perf_counter per repetition; {warmup} warm-up, {reps} timed")
    sys.stdout.flush()

    out = open(a.json, "a") if a.json else None
    rows = []
    for shape in shapes:
        T, B, C, F, widths, block = shape
        for dtype_name, tf32 in cases:
            torch.backends.cuda.matmul.allow_tf32 = tf32
            torch.backends.cudnn.allow_tf32 = tf32
            for phase in phases:
                training = phase == "fwd+bwd"
                for benchmark in ((False, True) if gpu else (False,)):
                    torch.backends.cudnn.benchmark = benchmark
                    variant = variant_label(gpu, a.threads) + (" [benchmark]" if benchmark else "")
                    row = {"family": "textcnn" if block else "conv1d", "impl": "torch", "variant": variant,
                           "device": device.type, "device_name": device_name, "dtype": dtype_name, "tf32": tf32,
                           "phase": phase, "T": T, "B": B, "C": C, "F": F,
                           "widths": ",".join(str(k) for k in widths), "padding": "valid", "lengths": "fixed",
                           "threads": a.threads, "status": "ok", "reps": 0, "ms_median": None, "ms_p10": None,
                           "ms_p90": None, "ms_wall_median": None, "gflop": gflop(shape, training), "tflops": None,
                           "pct_roofline": None, "rel_err": None, "validated_B": 0, "torch_ms_median": None,
                           "torch_variant": "", "ratio_vs_torch": None}
                    try:
                        step = make_step(shape, DTYPES[dtype_name], device, training)
                        t, wall = (time_gpu if gpu else time_cpu)(step, warmup, reps)
                        row.update(reps=t["reps"], ms_median=t["median"], ms_p10=t["p10"], ms_p90=t["p90"],
                                   tflops=row["gflop"] / t["median"])
                        if wall:
                            row["ms_wall_median"] = wall["median"]
                    except (RuntimeError, TypeError) as e:  # e.g. a dtype this torch cannot run on this device
                        row["status"] = "error: " + str(e).splitlines()[0]
                    if out:
                        out.write(json.dumps(row) + "\n")
                        out.flush()
                    print(f"# {'block' if block else 'conv'} {row['dtype']}{'+tf32' if tf32 else ''} {phase} T{T} B{B} "
                          f"C{C} F{F} K{row['widths']} {variant}: {row['ms_median'] and round(row['ms_median'], 3)} ms "
                          f"{row['status']}", file=sys.stderr)
                    rows.append(row)
    torch.backends.cudnn.benchmark = False

    print("\n| op | dtype | phase | T | B | C | F | K | variant | ms median | p10 / p90 | TFLOP/s | status |")
    print("|---|---|---|--:|--:|--:|--:|---|---|--:|--:|--:|---|")
    for r in rows:
        ok = r["ms_median"] is not None
        print(f"| {'block' if r['family'] == 'textcnn' else 'conv'} | {r['dtype']}{'+tf32' if r['tf32'] else ''} | "
              f"{r['phase']} | {r['T']} | {r['B']} | {r['C']} | {r['F']} | {r['widths']} | {r['variant']} | " +
              (f"{r['ms_median']:.3f} | {r['ms_p10']:.3f} / {r['ms_p90']:.3f} | {r['tflops']:.3g}" if ok else " |  | ")
              + f" | {r['status']} |")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""bench/torch_reference_conv.py: torch.nn.Conv1d (and the text-CNN block) timed on bench_conv1d's points.

Run it with an interpreter that has torch (here: /usr/bin/python3, Debian's PyTorch 1.13, CPU; on
the GPU machine: its python3 with PyTorch 2.x and bundled cuDNN), then hand the file to the bench:

    /usr/bin/python3 bench/torch_reference_conv.py --device cpu --threads 2 --json torch.jsonl
    OMP_WAIT_POLICY=passive build/bench_conv1d --device cpu --threads 2 --torch-json torch.jsonl

Same grids, point options and defaults as bench_conv1d (keep the two in step), the same JSON-lines
schema as bench/common/report.h with impl "torch". The timers, options, BLAS probe and variant
names are bench/torch_bench.py's, shared with torch_reference.py (the LSTM's), so both time the
same way.

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
import sys

import torch

# The options, timers, row and table both references share (this directory is on sys.path when a
# script here runs).
from torch_bench import DTYPES, Run, add_common_args, training_step, variant_label


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

def make_step(shape, dtype, device, training, autocast=False):
    """autocast: module, x and gradients f32, the step inside torch.autocast(device, dtype) (the
    output cast back to f32 as a loss would); otherwise everything is stored in dtype."""
    T, B, C, F, widths, block = shape
    torch.manual_seed(0xC0417)
    storage = torch.float32 if autocast else dtype
    convs = torch.nn.ModuleList([torch.nn.Conv1d(C, F, K) for K in widths]).to(device=device, dtype=storage)
    x_tbc = torch.empty(T, B, C, device=device, dtype=storage).uniform_(-1, 1)
    x = x_tbc.permute(1, 2, 0).contiguous().requires_grad_(training)  # [B, C, T], untimed
    if block:
        ones = torch.ones(B, len(widths) * F, device=device, dtype=storage)
    else:
        ones = torch.ones(B, F, T - widths[0] + 1, device=device, dtype=storage)

    def run_convs():
        if not block:
            return convs[0](x)
        return torch.cat([torch.relu(conv(x)).amax(dim=2) for conv in convs], dim=1)

    def forward():
        if not autocast:
            return run_convs()
        with torch.autocast(device.type, dtype=dtype):
            y = run_convs()
        return y.float()

    return training_step(forward, x, convs, ones, training)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(p)
    p.add_argument("--op", default="all", choices=["conv", "block", "all"])
    for dim in ("B", "T", "C", "F", "K"):
        p.add_argument(f"--{dim}", type=int)
    p.add_argument("--widths", help="one point: the block's kernel widths, comma-separated (default 3,4,5)")
    p.add_argument("--dtype", nargs="+", choices=["f32", "bf16", "f16", "all"],
                   help="one or more (default: f32 on cpu, f32 bf16 on cuda)")
    p.add_argument("--autocast", action="store_true",
                   help="bf16/f16 points also run as torch.autocast (f32 module and data): variant '... autocast'")
    a = p.parse_args()
    a.widths_given = a.widths is not None
    a.widths = a.widths or "3,4,5"

    run = Run(a, "torch_reference_conv.py", lambda gpu: a.dtype or (["f32", "bf16"] if gpu else ["f32"]))
    if run.skipped:
        return 0
    shapes = grid_shapes(a, run.gpu)
    run.print_settings("; runs with cudnn.benchmark off and on")

    for shape in shapes:
        T, B, C, F, widths, block = shape
        for dtype_name, tf32 in run.cases:
            torch.backends.cuda.matmul.allow_tf32 = tf32
            torch.backends.cudnn.allow_tf32 = tf32
            for phase in run.phases:
                training = phase == "fwd+bwd"
                modes = (False, True) if a.autocast and dtype_name != "f32" else (False,)
                for benchmark, autocast in ((b, m) for b in ((False, True) if run.gpu else (False,)) for m in modes):
                    torch.backends.cudnn.benchmark = benchmark
                    variant = (variant_label(run.gpu, a.threads) + (" [benchmark]" if benchmark else "")
                               + (" autocast" if autocast else ""))
                    row = run.row("textcnn" if block else "conv1d", variant, dtype_name, tf32, phase,
                                  gflop(shape, training), T=T, B=B, C=C, F=F,
                                  widths=",".join(str(k) for k in widths), padding="valid", lengths="fixed",
                                  validated_B=0)
                    run.measure(row, lambda: make_step(shape, DTYPES[dtype_name], run.device, training, autocast),
                                f"{'block' if block else 'conv'} {dtype_name}{'+tf32' if tf32 else ''} {phase} "
                                f"T{T} B{B} C{C} F{F} K{row['widths']} {variant}")
    torch.backends.cudnn.benchmark = False

    return run.print_table(
        "| op | dtype | phase | T | B | C | F | K | variant | ms median | p10 / p90 | TFLOP/s | status |",
        "|---|---|---|--:|--:|--:|--:|---|---|--:|--:|--:|---|",
        lambda r: ["block" if r["family"] == "textcnn" else "conv", f"{r['dtype']}{'+tf32' if r['tf32'] else ''}",
                   r["phase"], str(r["T"]), str(r["B"]), str(r["C"]), str(r["F"]), r["widths"], r["variant"]],
        lambda r: [f"{r['tflops']:.3g}"])


if __name__ == "__main__":
    sys.exit(main())

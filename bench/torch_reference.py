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
    TF32 for convolutions and a TF32 speedup is not an F32 one;
  - CPU: torch.set_num_threads(N) with N = loom's thread count (--torch-threads runs other
    settings, named in "variant"), and both sides print their thread and BLAS settings;
  - timing as bench/torch_bench.py does it for both references: CUDA events on the GPU (wall time
    kept alongside), time.perf_counter on the CPU; warm-up, then median and p10/p90.
"""
import argparse
import sys

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

# The options, timers, row and table both references share (this directory is on sys.path when a
# script here runs).
from torch_bench import DTYPES, Run, add_common_args, training_step, variant_label


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


# ---- one point -------------------------------------------------------------------------------------

def make_step(shape, dtype, device, training, autocast=False):
    """autocast: the module, x and the gradients stay f32 and the step runs inside
    torch.autocast(device, dtype) (PyTorch's mixed precision, the peer of loom's --precision;
    the output is cast back to f32 as a loss would); otherwise everything is stored in dtype."""
    T, B, C, H, L, D, variable = shape
    torch.manual_seed(0x15F3)
    storage = torch.float32 if autocast else dtype
    lstm = torch.nn.LSTM(C, H, num_layers=L, bidirectional=(D == 2)).to(device=device, dtype=storage)
    x = torch.empty(T, B, C, device=device, dtype=storage).uniform_(-1, 1).requires_grad_(training)
    lengths = torch.tensor(lengths_for(T, B), dtype=torch.int64)  # pack_padded_sequence wants them on the CPU
    ones = torch.ones(T, B, D * H, device=device, dtype=storage)

    def run_lstm():
        if not variable:
            return lstm(x)[0]
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
        return pad_packed_sequence(lstm(packed)[0], total_length=T)[0]

    def forward():
        if not autocast:
            return run_lstm()
        with torch.autocast(device.type, dtype=dtype):
            y = run_lstm()
        return y.float()

    return training_step(forward, x, lstm, ones, training)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(p)
    for dim in ("H", "B", "T", "C"):
        p.add_argument(f"--{dim}", type=int)
    p.add_argument("--layers", type=int)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--dtype", choices=["f32", "bf16", "f16", "all"])
    p.add_argument("--lengths", default="all", choices=["fixed", "variable", "all"])
    p.add_argument("--autocast", action="store_true",
                   help="bf16/f16 points also run as torch.autocast (f32 module and data, the low "
                        "precision chosen per op by PyTorch): variant '<label> autocast'")
    a = p.parse_args()

    run = Run(a, "torch_reference.py", lambda gpu: [a.dtype or ("all" if gpu else "f32")])
    if run.skipped:
        return 0
    shapes = [s for s in grid_shapes(a, run.gpu) if a.lengths == "all" or (a.lengths == "variable") == s[6]]
    run.print_settings()

    for shape in shapes:
        T, B, C, H, L, D, variable = shape
        for dtype_name, tf32 in run.cases:
            torch.backends.cuda.matmul.allow_tf32 = tf32
            torch.backends.cudnn.allow_tf32 = tf32
            modes = [False, True] if a.autocast and dtype_name != "f32" else [False]
            for phase, autocast in ((ph, m) for ph in run.phases for m in modes):
                training = phase == "fwd+bwd"
                label = variant_label(run.gpu, a.threads) + (" autocast" if autocast else "")
                row = run.row("lstm", label, dtype_name, tf32, phase,
                              gflop(shape, training), T=T, B=B, C=C, H=H, L=L, D=D,
                              lengths="variable" if variable else "fixed", us_per_step=None, validated_T=0)
                run.measure(row, lambda: make_step(shape, DTYPES[dtype_name], run.device, training, autocast),
                            f"{dtype_name}{'+tf32' if tf32 else ''}{' autocast' if autocast else ''} {phase} "
                            f"T{T} B{B} C{C} H{H} {L}x{D} {row['lengths']}")

    return run.print_table(
        "| dtype | phase | T | B | C | H | LxD | lengths | ms median | p10 / p90 | us/step | TFLOP/s | status |",
        "|---|---|--:|--:|--:|--:|---|---|--:|--:|--:|--:|---|",
        lambda r: [f"{r['dtype']}{'+tf32' if r['tf32'] else ''}{' autocast' if r['variant'].endswith('autocast') else ''}",
                   r["phase"], str(r["T"]), str(r["B"]), str(r["C"]),
                   str(r["H"]), f"{r['L']}x{r['D']}", r["lengths"]],
        lambda r: [f"{r['us_per_step']:.1f}", f"{r['tflops']:.3g}"])


if __name__ == "__main__":
    sys.exit(main())

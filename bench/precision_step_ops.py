#!/usr/bin/env python3
"""Where a training step's time goes, fp32 against bf16, op by op (issue 13's accounting).

Runs `loom trace --kernels` (one synthetic batch, B 64 x T tokens, every row full length) for each
architecture in both precisions, ROUNDS times with the order alternating (ABBA against host drift),
and prints per architecture a table of the per-op times (the trace's "per op" section: top-level
calls, each call's time the median of --repeats profiled steps), as the median over the rounds
with the min-max next to it, and the ratio of the two step times.

    /usr/bin/python3 bench/precision_step_ops.py --loom build/loom [--archs lstm,bilstm,lstm-cnn]
        [--seq-len 32] [--repeats 21] [--rounds 3]

A profile of one batch shape, not an epoch: the epoch ratio (bench/run_cpu_compare.sh precision)
also includes the validation pass, varying lengths and the data pipeline.
"""
import argparse
import re
import statistics
import subprocess
import sys


def trace(loom, arch, precision, seq_len, repeats):
    out = subprocess.run([loom, "trace", "--kernels", "--arch", arch, "--precision", precision,
                          "--seq-len", str(seq_len), "--repeats", str(repeats)],
                         check=True, capture_output=True, text=True).stdout
    step = re.search(r"of a ([0-9.]+) us step", out)
    if step is None:
        sys.exit(f"no step time in the trace of {arch} {precision}:\n{out}")
    ops = {}
    in_ops = False
    for line in out.splitlines():
        if line.startswith("per op"):
            in_ops = True
            line = line.split(":", 1)[1]
            continue
        if in_ops:
            m = re.match(r"\s*(\S+)\s*\|\s*(\d+)\s+([0-9.]+)\s+[0-9.]+%", line)
            if m:
                ops[m.group(1)] = float(m.group(3))
    return float(step.group(1)), ops


def spread(values):
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loom", default="build/loom")
    ap.add_argument("--archs", default="lstm,bilstm,lstm-cnn")
    ap.add_argument("--seq-len", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    for arch in args.archs.split(","):
        steps = {"fp32": [], "bf16": []}
        ops = {"fp32": {}, "bf16": {}}
        for r in range(args.rounds):
            order = ("fp32", "bf16") if r % 2 == 0 else ("bf16", "fp32")
            for prec in order:
                step, per_op = trace(args.loom, arch, prec, args.seq_len, args.repeats)
                steps[prec].append(step)
                for op, t in per_op.items():
                    ops[prec].setdefault(op, []).append(t)
        names = sorted(set(ops["fp32"]) | set(ops["bf16"]),
                       key=lambda op: -statistics.median(ops["fp32"].get(op, ops["bf16"].get(op))))
        ratio = statistics.median(steps["bf16"]) / statistics.median(steps["fp32"])
        print(f"\n{arch}, B 64 x T {args.seq_len}, {args.rounds} rounds x {args.repeats} steps: "
              f"bf16 / fp32 step {ratio:.2f}")
        print("| op | fp32 us | bf16 us | bf16 - fp32 us |")
        print("|---|---|---|---|")
        for op in names:
            a, b = ops["fp32"].get(op), ops["bf16"].get(op)
            diff = (statistics.median(b) if b else 0) - (statistics.median(a) if a else 0)
            print(f"| {op} | {spread(a) if a else '-'} | {spread(b) if b else '-'} | {diff:+,.0f} |")
        print(f"| **step** | {spread(steps['fp32'])} | {spread(steps['bf16'])} | "
              f"{statistics.median(steps['bf16']) - statistics.median(steps['fp32']):+,.0f} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""tools/sim_mutations.py: proof that the SIM shape catches real kernel bugs (issue 12, part 3).

Each mutation below plants one classic CUDA bug in a copy of the tree, rebuilds the SIM shape
(only the touched file recompiles), runs the test that covers that kernel, and records whether the
test failed and which simulator check fired ("loom-sim memcheck: ...", "racecheck", "initcheck",
"synccheck"), or whether only the test's own comparison with the CPU caught it. Before the
mutations, each test must pass on the unmutated copy.

    /usr/bin/python3 tools/sim_mutations.py [--work build-mutations] [--report FILE] [--only NAME]

The copy lives in <work>/tree and builds in <work>/build (the first build takes the time of a full
SIM build; later runs are incremental). The environment of every test run: LOOM_SIM_SEED=1 and
LOOM_CUDA_ALLOC=plain, so every tensor and workspace is a fresh cudaMalloc whose bytes initcheck
tracks (the caching allocator would hand back memory an earlier kernel wrote).
"""
import argparse
import datetime
import filecmp
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name, file, the exact text to replace, its replacement, the test case (doctest -tc), what a
# correct simulator should report (the check expected to fire; "test" = the comparison only).
MUTATIONS = [
    ("conv implicit GEMM: the barrier between storing a tile and reading it is missing",
     "kernels/conv1d/conv1d_cuda_gemm.cuh",
     "    la.store(As);\n    lb.store(Bs);\n    __syncthreads();\n",
     "    la.store(As);\n    lb.store(Bs);\n",
     "conv1d: every CUDA row of ours*", "racecheck"),
    ("LSTM pointwise forward: off-by-one loop bound (bj <= n)",
     "kernels/lstm/lstm_cuda_time_loop.cu",
     "ldy = a.D * H, n = B * H;\n  for (std::int64_t bj = grid_start(); bj < n; bj += grid_stride()) {",
     "ldy = a.D * H, n = B * H;\n  for (std::int64_t bj = grid_start(); bj <= n; bj += grid_stride()) {",
     "lstm_seq every CUDA row*", "memcheck"),
    ("block reduction: block_sum without its trailing barrier (the loss calls it twice in a row)",
     "kernels/common/launch.cuh",
     "  const float total = Reduce(temp).Sum(v);\n  __syncthreads();\n",
     "  const float total = Reduce(temp).Sum(v);\n",
     "softmax_cross_entropy: CUDA matches CPU", "racecheck"),
    ("WMMA: wrong leading dimension for the A tile (BK instead of the padded LDA)",
     "kernels/conv1d/conv1d_cuda_gemm.cuh",
     "wmma::load_matrix_sync(a[q], As + (wm * 32 + q * 16) * LDA + kk, LDA);",
     "wmma::load_matrix_sync(a[q], As + (wm * 32 + q * 16) * LDA + kk, BK);",
     "conv1d: every CUDA row of ours*", "test"),
    ("warp shuffle under divergence: warp_max only in the lanes that hold a class (lane < K)",
     "kernels/loss/loss_cuda.cu",
     "  m = warp_max(m);\n",
     "  if (lane < K) m = warp_max(m);\n",
     "softmax_cross_entropy: CUDA matches CPU", "synccheck"),
    ("LSTM backward: padding steps of the dZ workspace left unwritten",
     "kernels/lstm/lstm_cuda_time_loop.cu",
     "      for (int k = 0; k < 4; ++k) dz[k * H + j] = from_f32<S>(0.0f);\n",
     "",
     "lstm_seq every CUDA row*", "initcheck"),
]

CHECKS = ("memcheck", "initcheck", "racecheck", "synccheck", "launch")


def run(cmd, cwd, env=None, timeout=None):
    t0 = time.time()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors="replace", timeout=timeout)
    return p.returncode, p.stdout, time.time() - t0


def copy_tree(dst):
    """Copies the tracked files (and untracked, not ignored ones), so a rebuild after a second run
    recompiles only what changed."""
    rc, out, _ = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], ROOT)
    if rc != 0:
        sys.exit("git ls-files failed:\n" + out)
    # A file whose copy differs in content is copied and stamped now (not with the source's
    # time): an object built from a mutant is newer than the source, and ninja would keep it.
    for rel in out.splitlines():
        src, to = os.path.join(ROOT, rel), os.path.join(dst, rel)
        if not os.path.isfile(src):
            continue
        if os.path.exists(to) and filecmp.cmp(src, to, shallow=False):
            continue
        os.makedirs(os.path.dirname(to), exist_ok=True)
        shutil.copy2(src, to)
        os.utime(to)  # now: newer than any object built from an older (or mutated) copy


def build(build_dir):
    rc, out, secs = run(["ninja", "-C", build_dir, "tests/loom_tests"], build_dir)
    return rc, out, secs


def run_test(build_dir, test):
    env = dict(os.environ, LOOM_SIM_SEED="1", LOOM_CUDA_ALLOC="plain", OMP_WAIT_POLICY="passive")
    try:
        rc, out, secs = run([os.path.join(build_dir, "tests", "loom_tests"), "-tc=" + test], build_dir, env,
                            timeout=900)
    except subprocess.TimeoutExpired:
        return 124, "timed out after 900 s", 900.0
    return rc, out, secs


def fired(output):
    return sorted({c for c in CHECKS if re.search(r"loom-sim %s\b" % c, output)})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=os.path.join(ROOT, "build-mutations"))
    ap.add_argument("--report", default=None, help="markdown report (default <work>/report.md)")
    ap.add_argument("--only", default=None, help="run the mutations whose name contains this")
    args = ap.parse_args()
    tree, build_dir = os.path.join(args.work, "tree"), os.path.join(args.work, "build")
    report_path = args.report or os.path.join(args.work, "report.md")
    os.makedirs(tree, exist_ok=True)
    copy_tree(tree)
    if not os.path.exists(os.path.join(build_dir, "build.ninja")):
        rc, out, _ = run(["cmake", "-S", tree, "-B", build_dir, "-G", "Ninja", "-DLOOM_CUDA=SIM",
                          "-DLOOM_BENCH=OFF"], tree)
        if rc != 0:
            sys.exit("configure failed:\n" + out)
    rc, out, secs = build(build_dir)
    if rc != 0:
        sys.exit("the unmutated tree does not build:\n" + out[-4000:])
    print("built the unmutated copy in %.0f s" % secs, flush=True)

    chosen = [m for m in MUTATIONS if not args.only or args.only in m[0]]
    rows = []
    for name, rel, old, new, test, expect in chosen:
        path = os.path.join(tree, rel)
        with open(path) as f:
            original = f.read()
        if original.count(old) != 1:
            rows.append((name, test, expect, "NOT APPLIED: the text to mutate is not in %s exactly once" % rel, ""))
            continue
        rc, out, _ = build(build_dir)  # the previous mutant's file is restored: rebuild it first
        if rc != 0:
            sys.exit("the restored tree does not build:\n" + out[-4000:])
        base_rc, base_out, _ = run_test(build_dir, test)
        if base_rc != 0:
            rows.append((name, test, expect, "BASELINE FAILS (exit %d): fix that first" % base_rc, ""))
            print(base_out[-3000:])
            continue
        with open(path, "w") as f:
            f.write(original.replace(old, new))
        try:
            rc, out, _ = build(build_dir)
            if rc != 0:
                rows.append((name, test, expect, "mutant does not compile", ""))
                continue
            rc, out, secs = run_test(build_dir, test)
        finally:
            with open(path, "w") as f:
                f.write(original)
            os.utime(path)  # now, so ninja rebuilds the restored file (an older time would not)
        checks = fired(out)
        caught = rc != 0
        if not caught:
            verdict = "MISSED (test passed)"
        elif expect == "test":
            verdict = "caught by the test's comparison" + (" and " + ", ".join(checks) if checks else "")
        elif expect in checks:
            verdict = "caught: " + ", ".join(checks)
        else:
            verdict = "caught, but not by %s (%s)" % (expect, ", ".join(checks) or "comparison only")
        first = next((ln.strip() for ln in out.splitlines() if ln.startswith("loom-sim ")), "")
        rows.append((name, test, expect, "%s, %.0f s" % (verdict, secs), first))
        print("%s: %s" % (name, verdict), flush=True)
    rc, _, _ = build(build_dir)  # leave the copy built unmutated

    stamp = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, stdout=subprocess.PIPE,
                          text=True).stdout.strip()
    lines = ["# SIM mutation run, %s (tree at %s + working changes)" % (stamp, head), "",
             "Command: `/usr/bin/python3 tools/sim_mutations.py` (LOOM_SIM_SEED=1, LOOM_CUDA_ALLOC=plain).", "",
             "| mutation | test | expected | result | first simulator report |", "|---|---|---|---|---|"]
    for name, test, expect, verdict, first in rows:
        lines.append("| %s | `%s` | %s | %s | %s |" % (name, test, expect, verdict,
                                                        ("`" + first.replace("|", "/") + "`") if first else ""))
    with open(report_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    missed = [r for r in rows if not r[3].startswith("caught")]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

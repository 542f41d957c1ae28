"""bench/torch_bench.py: what the PyTorch references (torch_reference.py for the LSTM,
torch_reference_conv.py for Conv1d and the text-CNN block) share, so both time, name and report
torch's runs the same way: the command-line options common to both, the run settings they print,
the timers, the JSON row (bench/common/report.h's schema with impl "torch") and the table.

Timing: GPU: CUDA events around each repetition, the device synchronized before and after it (wall
time kept alongside); CPU: time.perf_counter per repetition. Warm-up, then median and p10/p90.
"""
import ctypes
import json
import math
import os
import re
import sys
import time

import torch

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}


# ---- options and settings --------------------------------------------------------------------------

def add_common_args(p):
    """The options both references take, with bench_lstm's and bench_conv1d's defaults."""
    p.add_argument("--device", default="auto", help="auto (cuda when torch sees a GPU, else cpu) | cpu | cuda | cuda:N")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--grid", default="targets", choices=["targets", "full"])
    p.add_argument("--tf32", choices=["off", "on", "both"], help="TF32 for F32 points (default: off cpu, both cuda)")
    p.add_argument("--phase", default="all", choices=["fwd", "fwd+bwd", "all"])
    p.add_argument("--threads", type=int, default=int(os.environ.get("LOOM_NUM_THREADS", os.cpu_count())),
                   help="the CPU thread budget, as loom's --threads (the JSON key)")
    p.add_argument("--torch-threads", type=int,
                   help="torch.set_num_threads (default --threads); with 1, OpenBLAS still uses its own "
                        "threads, so the run uses the same cores without the two pools fighting")
    p.add_argument("--reps", type=int)
    p.add_argument("--warmup", type=int)
    p.add_argument("--json", help="append one JSON line per point to this file")


class Run:
    """The device, threads, repetitions and dtype cases of one invocation, from the options."""

    def __init__(self, a, script, dtypes_for):
        """dtypes_for(gpu): the storage types asked for ("f32", "bf16", "f16", "all")."""
        if a.device == "auto":
            a.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(a.device)
        self.gpu = self.device.type == "cuda"
        self.skipped = self.gpu and not torch.cuda.is_available()
        if self.skipped:
            print("skipped: no CUDA device (torch.cuda.is_available() is False)")
            return
        self.threads = a.threads
        torch.set_num_threads(a.torch_threads or a.threads)
        self.reps = a.reps or (5 if a.quick else 100 if self.gpu else 20)
        self.warmup = a.warmup if a.warmup is not None else (1 if a.quick else 10 if self.gpu else 3)
        tf32 = a.tf32 or ("both" if self.gpu else "off")
        if not self.gpu and tf32 != "off":
            sys.exit(f"{script}: --tf32 on/both needs --device cuda")
        dtypes = dtypes_for(self.gpu)
        wants = lambda d: d in dtypes or "all" in dtypes
        self.cases = []  # (dtype name, tf32)
        if wants("f32"):
            self.cases += [("f32", False)] * (tf32 != "on") + [("f32", True)] * (tf32 != "off")
        self.cases += [(d, False) for d in ("bf16", "f16") if wants(d)]
        self.phases = ["fwd", "fwd+bwd"] if a.phase == "all" else [a.phase]
        self.out = open(a.json, "a") if a.json else None
        self.rows = []

    def print_settings(self, gpu_note=""):
        """torch's threads, environment, BLAS, oneDNN and timer, as loom's benches print theirs."""
        env = " ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in
                       ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY"))
        print(f"# torch {torch.__version__} on {self.device}; threads {torch.get_num_threads()} "
              f"(interop {torch.get_num_interop_threads()}); {env}")
        print(f"# BLAS {blas_summary()}; oneDNN (mkldnn) available {torch.backends.mkldnn.is_available()}, "
              f"enabled {torch.backends.mkldnn.enabled}")
        print(f"# parallel: {parallel_summary()}")
        if self.gpu:
            self.device_name = torch.cuda.get_device_name(self.device)
            print(f"# {self.device_name}; CUDA {torch.version.cuda}; cuDNN {torch.backends.cudnn.version()} "
                  f"(enabled {torch.backends.cudnn.enabled}){gpu_note}")
            print(f"# timer: CUDA events per repetition, synchronized before and after; {self.warmup} warm-up, "
                  f"{self.reps} timed")
        else:
            self.device_name = f"torch {torch.__version__} CPU"
            print(f"# timer: time.perf_counter per repetition; {self.warmup} warm-up, {self.reps} timed")
        sys.stdout.flush()

    def row(self, family, variant, dtype_name, tf32, phase, gflop, **shape):
        """A JSON row with the keys every family writes; `shape`: the family's own keys."""
        row = {"family": family, "impl": "torch", "variant": variant, "device": self.device.type,
               "device_name": self.device_name, "dtype": dtype_name, "tf32": tf32, "phase": phase}
        row.update(shape)
        row.update({"threads": self.threads, "status": "ok", "reps": 0, "ms_median": None, "ms_p10": None,
                    "ms_p90": None, "ms_wall_median": None, "gflop": gflop, "tflops": None, "pct_roofline": None,
                    "rel_err": None, "torch_ms_median": None, "torch_variant": "", "ratio_vs_torch": None})
        return row

    def measure(self, row, make_step, label):
        """Times make_step()'s step into `row`, appends it to the JSON file and to the table, and
        says on stderr what ran (`label`: the point in words)."""
        try:
            step = make_step()
            t, wall = (time_gpu if self.gpu else time_cpu)(step, self.warmup, self.reps)
            row.update(reps=t["reps"], ms_median=t["median"], ms_p10=t["p10"], ms_p90=t["p90"],
                       tflops=row["gflop"] / t["median"])
            if "us_per_step" in row:  # the LSTM's rows
                row["us_per_step"] = t["median"] * 1e3 / row["T"]
            if wall:
                row["ms_wall_median"] = wall["median"]
        except (RuntimeError, TypeError) as e:  # e.g. a dtype this torch cannot run on this device
            row["status"] = "error: " + str(e).splitlines()[0]
        if self.out:
            self.out.write(json.dumps(row) + "\n")
            self.out.flush()
        print(f"# {label}: {row['ms_median'] and round(row['ms_median'], 3)} ms {row['status']}", file=sys.stderr)
        self.rows.append(row)

    def print_table(self, header, align, cells, timing):
        """The markdown table of this run's rows: `cells(row)` the leading columns, `timing(row)` the
        columns after p10 / p90 (left empty, like the times, when the point did not run)."""
        print("\n" + header)
        print(align)
        columns = header.count("|") - 1
        for r in self.rows:
            lead = cells(r)
            if r["ms_median"] is not None:
                times = [f"{r['ms_median']:.3f}", f"{r['ms_p10']:.3f} / {r['ms_p90']:.3f}"] + timing(r)
            else:
                times = [""] * (columns - len(lead) - 1)
            print("| " + " | ".join(lead + times + [r["status"]]) + " |")
        return 0 if all(r["status"] == "ok" for r in self.rows) else 1


# ---- timing ----------------------------------------------------------------------------------------

def training_step(forward, x, module, ones, training):
    """One timed repetition: forward only under torch.no_grad(), or forward + backward(ones) with
    the gradients of x and of every parameter set to None first (loom drops them the same way)."""

    def step():
        if not training:
            with torch.no_grad():
                forward()
            return
        x.grad = None
        for p in module.parameters():
            p.grad = None
        forward().backward(ones)

    return step


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


# ---- what torch runs on ----------------------------------------------------------------------------

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


def parallel_summary():
    """The lines of torch's own parallel report that say how a CPU op is threaded."""
    keep = ("ATen/Parallel", "at::get_num_threads", "at::get_num_interop_threads", "OpenMP", "MKL-DNN", "oneDNN",
            "std::thread::hardware_concurrency", "Environment variables")
    lines = [ln.strip() for ln in torch.__config__.parallel_info().splitlines()]
    return "; ".join(ln for ln in lines if ln and any(k in ln for k in keep))


def variant_label(gpu, threads):
    """How torch ran. On the CPU the thread environment changes torch's speed several-fold on 2
    cores (its OpenMP threads and OpenBLAS's pthreads oversubscribe them), so it is part of the name;
    the benches compare with the fastest variant of each point and show them all."""
    if gpu:
        return "cudnn" if torch.backends.cudnn.enabled else "aten"
    env = [f"{k}={os.environ[k]}" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY")
           if k in os.environ]
    if torch.get_num_threads() != threads:
        env.append(f"intra-op threads {torch.get_num_threads()}")
    return "aten" + (f" [{' '.join(env)}]" if env else "")

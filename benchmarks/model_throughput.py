"""Basenji2 throughput on this machine's CPU, set against the machine's dense-matmul speed.

One run measures:

1. dense float32 matmul GFLOP/s (two N x N matrices, GFLOP = 2 N^3) with numpy (its BLAS) and with
   ``tf.linalg.matmul`` (TensorFlow's own oneDNN/Eigen kernels), best and median of several repeats;
2. the model's forward throughput (a ``tf.function`` call with ``training=False``) for each
   ``--batch``, and its training-step throughput (forward + backward + SGD update on a Poisson loss, one
   ``tf.function`` step) for each ``--train-batch``; the first call (tracing included) is a warm-up
   and is not timed, the median of ``--repeats`` timed calls is reported;
3. the model's FLOPs per sequence, counted analytically from the Keras layers and checked against
   TensorFlow's profiler on the traced graphs, and from them the achieved GFLOP/s and its fraction of
   the matmul GFLOP/s.

Usage (from the repository root)::

    /usr/bin/time -v .venv/bin/python benchmarks/model_throughput.py            # full model
    .venv/bin/python benchmarks/model_throughput.py --quick                     # 32,768 bp input
    .venv/bin/python benchmarks/model_throughput.py --json throughput.json

``--quick`` builds the same trunk and head for a 32,768 bp input (128 output bins instead of 896),
which is enough to check that the script works. The machine may be shared: compare ratios within
one run rather than absolute numbers across runs.
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import shlex
import statistics
import sys
import time
from dataclasses import replace

QUICK_SEQ_LENGTH = 32_768
TRAIN_FLOPS_FACTOR = 3  # backward ~ 2x forward: gradients w.r.t. the inputs and w.r.t. the weights


# -- small helpers -----------------------------------------------------------------------------------

def _peak_rss_gb() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _time_calls(fn, repeats: int, *, keep: bool = False) -> dict:
    """Wall seconds of ``repeats`` calls of ``fn`` (which must block until its result is ready).

    With ``keep``, the results of the calls are returned under ``values``.
    ``cpu_pct`` is the CPU time of the whole process (every thread) over the wall time of the timed
    calls, in percent: about 100 x the number of cores when nothing else competes for them.
    """
    times, values = [], []
    cpu0 = time.process_time()
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
        if keep:
            values.append(value)
    cpu_pct = 100 * (time.process_time() - cpu0) / sum(times)
    out = {"times_s": times, "median_s": statistics.median(times), "best_s": min(times), "cpu_pct": cpu_pct}
    if keep:
        out["values"] = values
    return out


def _summary(timed: dict, flop: float) -> dict:
    return {**timed, "gflops_best": flop / timed["best_s"] / 1e9, "gflops_median": flop / timed["median_s"] / 1e9}


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _environment(np, tf, keras) -> dict:
    env = {"python": platform.python_version(), "numpy": np.__version__, "tensorflow": tf.__version__,
           "keras": keras.__version__, "platform": platform.platform(), "cpu": _cpu_name(),
           "cpu_count": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)),
           "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
           "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
           "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "(unset: on by default)")}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        if var in os.environ:
            env[var] = os.environ[var]
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        env["numpy_blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # numpy < 1.26 or an unusual build
        env["numpy_blas"] = "unknown"
    try:
        from threadpoolctl import threadpool_info

        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            env["numpy_blas_threads"] = pools[0].get("num_threads")
            env["numpy_blas_arch"] = pools[0].get("architecture")
    except ImportError:
        pass
    return env


# -- 1. dense matmul ---------------------------------------------------------------------------------

def bench_matmul(np, tf, n: int, repeats: int, seed: int) -> dict:
    """float32 N x N @ N x N with numpy and with tf.linalg.matmul, one untimed warm-up call each."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    flop = 2.0 * n**3
    out = {"n": n, "gflop": flop / 1e9}

    c = np.empty((n, n), dtype=np.float32)
    np.matmul(a, b, out=c)
    out["numpy"] = _summary(_time_calls(lambda: np.matmul(a, b, out=c), repeats), flop)

    at, bt = tf.constant(a), tf.constant(b)
    # eager CPU ops run synchronously: the call returns once the product is computed
    tf.linalg.matmul(at, bt)
    out["tensorflow"] = _summary(_time_calls(lambda: tf.linalg.matmul(at, bt), repeats), flop)
    ah, bh = tf.cast(at, tf.bfloat16), tf.cast(bt, tf.bfloat16)
    tf.linalg.matmul(ah, bh)
    out["tensorflow_bf16"] = _summary(_time_calls(lambda: tf.linalg.matmul(ah, bh), repeats), flop)
    ref = a[:64].astype(np.float64) @ b.astype(np.float64)
    got = tf.linalg.matmul(at[:64], bt).numpy()
    out["tf_max_rel_err"] = float(np.max(np.abs(got - ref)) / np.max(np.abs(ref)))
    return out


# -- 3. FLOP counts ----------------------------------------------------------------------------------

def analytic_flops(keras, model) -> list:
    """Multiply-add FLOPs (2 per MAC) of every Conv1D and Dense layer for one sequence.

    Conv1D: 2 * L_out * kernel_size * C_in * C_out (dilation changes which inputs are read, not how
    many); Dense on (L, C_in): 2 * L * C_in * C_out. Biases, batch norm, activations (GELU, softplus),
    residual adds, max-pooling and cropping are ignored: they are elementwise and together well under
    1% of the total (the profiler check below counts some of them).
    """
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv1D):
            k, c_in, c_out = (int(d) for d in layer.kernel.shape)
            length = int(layer.output.shape[1])
            rows.append({"layer": layer.name, "type": "Conv1D", "length": length, "kernel": k,
                         "dilation": int(layer.dilation_rate[0]), "c_in": c_in, "c_out": c_out,
                         "flops": 2 * length * k * c_in * c_out})
        elif isinstance(layer, keras.layers.Dense):
            c_in, c_out = (int(d) for d in layer.kernel.shape)
            length = int(layer.input.shape[1])
            rows.append({"layer": layer.name, "type": "Dense", "length": length, "kernel": 1, "dilation": 1,
                         "c_in": c_in, "c_out": c_out, "flops": 2 * length * c_in * c_out})
    return rows


def group_flops(rows: list) -> list:
    """Analytic rows grouped by (layer type, output length): one row per resolution of the trunk."""
    groups = {}
    for r in rows:
        g = groups.setdefault((r["type"], r["length"]), {"type": r["type"], "length": r["length"], "layers": 0,
                                                         "kernels": set(), "c_in": set(), "c_out": set(),
                                                         "flops": 0})
        g["layers"] += 1
        g["kernels"].add(r["kernel"])
        g["c_in"].add(r["c_in"])
        g["c_out"].add(r["c_out"])
        g["flops"] += r["flops"]
    return list(groups.values())


def profiler_flops(tf, graph) -> dict:
    """TensorFlow's float-op count of ``graph``: tf.compat.v1.profiler's total, and per op type.

    The profiler sums the per-op ``flops`` statistics that TensorFlow registers (Conv2D and its two
    backprops, MatMul, and elementwise ops at one flop per output element; Sigmoid, Softplus and fused
    batch-norm kernels have none). The per-op-type split is read from the same registry.
    """
    from tensorflow.python.framework import ops as tf_ops

    opts = (tf.compat.v1.profiler.ProfileOptionBuilder(tf.compat.v1.profiler.ProfileOptionBuilder.float_operation())
            .with_empty_output().build())
    total = int(tf.compat.v1.profiler.profile(graph, cmd="op", options=opts).total_float_ops)
    by_type = {}
    for op in graph.get_operations():
        try:
            value = tf_ops.get_stats_for_node_def(graph, op.node_def, "flops").value
        except ValueError:  # no registered count, or a shape left unknown
            value = None
        if value:
            by_type[op.type] = by_type.get(op.type, 0) + int(value)
    dense = sum(v for k, v in by_type.items() if k.startswith(("Conv2D", "MatMul", "BatchMatMul")))
    return {"total": total, "conv_matmul": dense, "by_op_type": dict(sorted(by_type.items(), key=lambda kv: -kv[1]))}


# -- 2. the model ------------------------------------------------------------------------------------

def poisson_loss(tf, y_true, y_pred):
    """genomodel.train's Poisson loss: mean over bins and tracks of ``pred - true * log(pred)``."""
    return tf.reduce_mean(y_pred - y_true * tf.math.log(y_pred + 1e-7), axis=[1, 2])


def make_forward(tf, model, *, jit: bool = False):
    @tf.function(jit_compile=jit)
    def forward(x):
        return model(x, training=False)

    return forward


def make_train_step(tf, model, optimizer, *, jit: bool = False):
    @tf.function(jit_compile=jit)
    def train_step(x, y):
        with tf.GradientTape() as tape:
            pred = model(x, training=True)
            loss = tf.reduce_mean(poisson_loss(tf, y, pred))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return train_step


def random_batch(tf, batch: int, seq_length: int, out_shape, seed: int):
    """One-hot random DNA and non-negative random targets."""
    bases = tf.random.stateless_uniform((batch, seq_length), (seed, 1), minval=0, maxval=4, dtype=tf.int32)
    x = tf.one_hot(bases, 4, dtype=tf.float32)
    y = tf.random.stateless_uniform((batch, *out_shape), (seed, 2), minval=0.0, maxval=2.0)
    return x, y


def bench_forward(tf, forward, batch: int, seq_length: int, out_shape, repeats: int, seed: int) -> dict:
    """Time a prepared forward function; its first call here (tracing, compiling) is untimed."""
    x, _ = random_batch(tf, batch, seq_length, out_shape, seed)
    t0 = time.perf_counter()
    y = forward(x)  # traces the function (once per batch shape), then runs it; untimed
    float(y[0, 0, 0])
    warmup = time.perf_counter() - t0
    timed = _time_calls(lambda: float(forward(x)[0, 0, 0]), repeats)
    return {"batch": batch, "warmup_s": warmup, **timed,
            "output_finite": bool(tf.reduce_all(tf.math.is_finite(y)))}


def train_step_fn(tf, keras, model, train_cfg, *, jit: bool = False):
    """The params file's optimizer (SGD with momentum and global-norm clipping, no warm-up) and one
    traced training step."""
    optimizer = keras.optimizers.SGD(learning_rate=train_cfg.learning_rate, momentum=train_cfg.momentum,
                                     global_clipnorm=train_cfg.clip_norm)
    optimizer.build(model.trainable_variables)  # create the slots outside tf.function
    return make_train_step(tf, model, optimizer, jit=jit)


def bench_train(tf, step, batch: int, seq_length: int, out_shape, repeats: int, seed: int) -> dict:
    x, y = random_batch(tf, batch, seq_length, out_shape, seed)
    t0 = time.perf_counter()
    losses = [float(step(x, y))]
    warmup = time.perf_counter() - t0
    timed = _time_calls(lambda: float(step(x, y)), repeats, keep=True)
    losses += timed.pop("values")
    return {"batch": batch, "warmup_s": warmup, **timed, "losses": losses,
            "losses_finite": all(math.isfinite(v) for v in losses)}


def train_graph_flops(tf, keras, model, train_cfg, seq_length: int, out_shape) -> dict:
    """Profiler float ops of one batch-1 training step (traced only, never run)."""
    step = train_step_fn(tf, keras, model, train_cfg)
    concrete = step.get_concrete_function(tf.TensorSpec((1, seq_length, 4), tf.float32),
                                          tf.TensorSpec((1, *out_shape), tf.float32))
    return profiler_flops(tf, concrete.graph)


# -- report ------------------------------------------------------------------------------------------

def _fmt_rate(x: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:.2f} {unit}"
    return f"{x:.2f} "


def print_report(res: dict) -> None:
    env, mm, m = res["environment"], res["matmul"], res["model"]
    print("=" * 100)
    print("Basenji2 CPU throughput vs dense matmul")
    print("=" * 100)
    print(f"command       : {res['command']}")
    print(f"date          : {res['date']}")
    print(f"python {env['python']}, numpy {env['numpy']} ({env['numpy_blas']}, "
          f"{env.get('numpy_blas_threads', '?')} threads, {env.get('numpy_blas_arch', '?')}), "
          f"tensorflow {env['tensorflow']}, keras {env['keras']}")
    print(f"cpu           : {env['cpu']}, {env['cpus_usable']} usable of {env['cpu_count']} cpus; TF intra/inter "
          f"op threads {env['tf_intra_op_threads']}/{env['tf_inter_op_threads']} (0 = one per core); "
          f"oneDNN {env['TF_ENABLE_ONEDNN_OPTS']}")
    print(f"platform      : {env['platform']}")

    mm0 = mm["runs"][0]
    print(f"\n1. Dense float32 matmul, {mm0['n']} x {mm0['n']} @ {mm0['n']} x {mm0['n']} "
          f"({mm0['gflop']:.2f} GFLOP per call), {len(mm0['numpy']['times_s'])} timed repeats after 1 warm-up, "
          f"run before and after the model")
    print(f"   {'library':<20}{'when':<8}{'best s':>9}{'median s':>10}{'GFLOP/s best':>14}{'GFLOP/s median':>16}"
          f"{'CPU use':>9}")
    for lib, key in (("numpy (BLAS)", "numpy"), ("tf.linalg.matmul", "tensorflow"),
                     ("tf matmul bfloat16", "tensorflow_bf16")):
        for run in mm["runs"]:
            r = run[key]
            print(f"   {lib:<20}{run['when']:<8}{r['best_s']:>9.4f}{r['median_s']:>10.4f}{r['gflops_best']:>14.1f}"
                  f"{r['gflops_median']:>16.1f}{r['cpu_pct']:>8.0f}%")
    print(f"   matmul peak (best of both runs): tf.linalg.matmul {mm['peak_tensorflow']:.1f}, numpy "
          f"{mm['peak_numpy']:.1f} GFLOP/s; tf.linalg.matmul vs float64 numpy: max relative error "
          f"{mm0['tf_max_rel_err']:.1e}")

    print(f"\n2. Model {m['params_name']}: seq_length {m['seq_length']:,} bp -> output {tuple(m['output_shape'])}, "
          f"{m['n_params']:,} params (built in {m['build_s']:.1f} s)")
    fl = m["flops"]
    print(f"   FLOPs per sequence, analytic (Conv1D + Dense MACs x 2): {fl['analytic_forward'] / 1e9:.2f} GFLOP forward")
    print(f"   {'layer type':<8}{'out length':>11}{'layers':>7}  {'kernel':<8}{'C_in':<14}{'C_out':<14}"
          f"{'GFLOP':>9}{'share':>8}")
    for g in fl["analytic_groups"]:
        def fmt(values):
            v = sorted(values)
            return str(v[0]) if len(v) == 1 else "/".join(str(i) for i in v)
        print(f"   {g['type']:<8}{g['length']:>11,}{g['layers']:>7}  {fmt(g['kernels']):<8}{fmt(g['c_in']):<14}"
              f"{fmt(g['c_out']):<14}{g['flops'] / 1e9:>9.2f}{100 * g['flops'] / fl['analytic_forward']:>7.1f}%")
    if "profiler_forward" in fl:
        pf = fl["profiler_forward"]
        a = fl["analytic_forward"]
        print(f"   tf.profiler, forward graph (batch 1): {pf['total'] / 1e9:.2f} GFLOP in total "
              f"({100 * (pf['total'] / a - 1):+.2f}% vs analytic), of which Conv2D+MatMul "
              f"{pf['conv_matmul'] / 1e9:.2f} ({100 * (pf['conv_matmul'] / a - 1):+.2f}%)")
        print("      by op type: " + ", ".join(f"{k} {v / 1e9:.3f}" for k, v in list(pf["by_op_type"].items())[:8]))
        print("      (dilated convs run as SpaceToBatchND + Conv2D on a length padded to a multiple of the "
              "dilation, hence the small excess;\n       Sigmoid, Softplus have no registered count)")
    if "profiler_train" in fl:
        pt = fl["profiler_train"]
        ratio = pt["total"] / fl["profiler_forward"]["total"] if "profiler_forward" in fl else float("nan")
        print(f"   tf.profiler, training-step graph (batch 1): {pt['total'] / 1e9:.2f} GFLOP = {ratio:.2f}x its "
              f"forward graph (no input-gradient for the first conv, whose input is the data)")
        print("      by op type: " + ", ".join(f"{k} {v / 1e9:.3f}" for k, v in list(pt["by_op_type"].items())[:8]))
    print(f"   Training FLOPs used below: {TRAIN_FLOPS_FACTOR} x analytic forward = "
          f"{fl['analytic_train'] / 1e9:.2f} GFLOP per sequence")

    peak_tf, peak_np = mm["peak_tensorflow"], mm["peak_numpy"]
    print(f"\n3. Throughput (median of {res['args']['repeats']} timed calls after 1 untimed warm-up; "
          f"achieved GFLOP/s = FLOPs per sequence x sequences/s)")
    print(f"   {'mode':<22}{'round':>6}{'batch':>6}{'warm-up s':>11}{'median s':>10}{'best s':>9}{'seq/s':>9}"
          f"{'bp/s':>11}{'GFLOP/s':>9}{'% round mm':>11}{'% TF mm':>9}{'CPU use':>9}{'peak RSS':>10}")
    for r in m["runs"]:
        print(f"   {r['mode']:<22}{r['round']:>6}{r['batch']:>6}{r['warmup_s']:>11.2f}{r['median_s']:>10.3f}"
              f"{r['best_s']:>9.3f}{r['seq_per_s']:>9.3f}{_fmt_rate(r['bp_per_s']):>11}{r['gflops']:>9.1f}"
              f"{100 * r['frac_round_matmul']:>10.1f}%{100 * r['gflops'] / peak_tf:>8.1f}%{r['cpu_pct']:>8.0f}%"
              f"{r['peak_rss_gb_after']:>8.2f} GB")
    print(f"\n   Medians over {res['args']['rounds']} alternating rounds (% round mm: against the same round's "
          f"tf.linalg.matmul, bfloat16 rows against a bfloat16 matmul):")
    print(f"   {'mode and batch':<32}{'seq/s':>9}{'GFLOP/s':>9}{'% round mm':>11}")
    for key, med in res["medians"].items():
        print(f"   {key:<32}{med['seq_per_s']:>9.3f}{med['gflops']:>9.1f}{100 * med['frac_round_matmul']:>10.1f}%")
    print(f"   % TF mm / % np mm: achieved GFLOP/s (median) over the matmul peak of tf.linalg.matmul ({peak_tf:.1f}) /"
          f" numpy ({peak_np:.1f}) GFLOP/s;\n   % TF mm is the fraction of matmul peak (the model runs on "
          f"TensorFlow's kernels). CPU use: process CPU time over wall time of the\n   timed calls "
          f"({100 * res['environment']['cpus_usable']}% = every core busy; less means waiting or a busy machine). "
          f"Peak RSS: process peak after that row.")
    for r in m["runs"]:
        if r["mode"].startswith("train"):
            print(f"   {r['mode']} batch {r['batch']} round {r['round']}: losses {', '.join(f'{v:.4f}' for v in r['losses'])} "
                  f"({'finite' if r['losses_finite'] else 'NOT FINITE'})")
    print(f"\nPeak resident memory of the process: {res['peak_rss_gb']:.2f} GB; total wall time "
          f"{res['wall_s']:.0f} s")


# -- main --------------------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="benchmarks/model_throughput.py", description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="basenji2_human",
                        help="shipped params name or params file (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help=f"build for a {QUICK_SEQ_LENGTH:,} bp input (same trunk and head) to check the script")
    parser.add_argument("--seq-length", type=int, default=None,
                        help="input length in bp (default: the params' seq_length, or 32,768 with --quick)")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 2],
                        help="forward (inference) batch sizes (default: %(default)s)")
    parser.add_argument("--train-batch", type=int, nargs="*", default=[1, 2],
                        help="training-step batch sizes; give none to skip training (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed model calls per configuration, after one untimed warm-up (default: %(default)s)")
    parser.add_argument("--matmul-n", type=int, default=2048, help="matmul size N (default: %(default)s)")
    parser.add_argument("--matmul-repeats", type=int, default=10,
                        help="timed matmul calls per library (default: %(default)s)")
    parser.add_argument("--no-profile", action="store_true", help="skip the tf.profiler FLOP check")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating rounds of matmul and every model timing; ratios are medians (default: %(default)s)")
    parser.add_argument("--modes", nargs="*", default=["bf16", "train-xla"], choices=["bf16", "train-xla"],
                        help="optional extra timings: a bfloat16 forward (against a bfloat16 matmul), an "
                             "XLA-compiled training step (default: both)")
    parser.add_argument("--seed", type=int, default=0, help="weights and random inputs (default: %(default)s)")
    parser.add_argument("--json", metavar="PATH", default=None, help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.matmul_repeats < 1 or args.matmul_n < 1:
        parser.error("--repeats, --matmul-repeats and --matmul-n must be >= 1")
    if any(b < 1 for b in args.batch + args.train_batch):
        parser.error("batch sizes must be >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import numpy as np
    import tensorflow as tf

    from genomodel.config import read_params
    from genomodel.model.seqnn import build_model

    tf.get_logger().setLevel("ERROR")  # the v1 profiler warns about its own deprecated helpers

    res = {"command": shlex.join(getattr(sys, "orig_argv", [sys.executable] + sys.argv)),
           "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "args": vars(args),
           "environment": _environment(np, tf, keras)}
    print(f"[model_throughput] {res['command']}", file=sys.stderr, flush=True)

    def progress(msg):
        print(f"[model_throughput {time.perf_counter() - t_start:6.0f} s] {msg}", file=sys.stderr, flush=True)

    progress(f"matmul {args.matmul_n} x {args.matmul_n}")
    mm_runs = [{"when": "before", **bench_matmul(np, tf, args.matmul_n, args.matmul_repeats, args.seed)}]
    res["matmul"] = {"runs": mm_runs}

    params = read_params(args.params)
    cfg = params.model
    seq_length = args.seq_length or (QUICK_SEQ_LENGTH if args.quick else cfg.seq_length)
    if seq_length != cfg.seq_length:
        cfg = replace(cfg, seq_length=seq_length)
    progress(f"building {args.params} for {seq_length:,} bp")
    t0 = time.perf_counter()
    keras.utils.set_random_seed(args.seed)
    seqnn = build_model(cfg, seed=args.seed)
    model = seqnn.model()
    build_s = time.perf_counter() - t0
    out_shape = tuple(int(d) for d in model.output.shape[1:])
    rows = analytic_flops(keras, model)
    fwd_flops = sum(r["flops"] for r in rows)
    m = {"params_name": args.params, "seq_length": seq_length, "output_shape": out_shape,
         "n_params": int(model.count_params()), "build_s": build_s,
         "flops": {"analytic_forward": fwd_flops, "analytic_train": TRAIN_FLOPS_FACTOR * fwd_flops,
                   "analytic_groups": group_flops(rows), "analytic_layers": rows},
         "runs": []}
    res["model"] = m

    if not args.no_profile:
        progress("tf.profiler float-op count (forward graph)")
        forward = make_forward(tf, model)
        concrete = forward.get_concrete_function(tf.TensorSpec((1, seq_length, 4), tf.float32))
        m["flops"]["profiler_forward"] = profiler_flops(tf, concrete.graph)
        del forward, concrete
        if args.train_batch:
            progress("tf.profiler float-op count (training-step graph)")
            m["flops"]["profiler_train"] = train_graph_flops(tf, keras, model, params.train, seq_length, out_shape)
        gc.collect()

    # inference variants as genomodel commands run them: batch norms folded into the convolutions
    # (load_head's default), optionally XLA-compiled (--xla) or in bfloat16 (--precision mixed_bfloat16)
    from genomodel.model.fold import fold_batch_norm

    folded = fold_batch_norm(model)
    forwards = {"forward": make_forward(tf, model), "forward folded": make_forward(tf, folded),
                "forward folded+XLA": make_forward(tf, folded, jit=True)}
    if "bf16" in args.modes:
        forwards["forward folded bf16"] = make_forward(tf, fold_batch_norm(model, precision="mixed_bfloat16"))
    trains = {"train": train_step_fn(tf, keras, model, params.train)}
    if "train-xla" in args.modes:
        trains["train XLA"] = train_step_fn(tf, keras, model, params.train, jit=True)

    def record(mode, r, flops_per_seq, rnd):
        r["mode"], r["round"] = mode, rnd
        r["seq_per_s"] = r["batch"] / r["median_s"]
        r["bp_per_s"] = r["seq_per_s"] * seq_length
        r["gflops"] = flops_per_seq * r["seq_per_s"] / 1e9
        r["peak_rss_gb_after"] = _peak_rss_gb()
        # against this round's matmul (the same precision's), so a busy spell affects both sides
        mm = mm_runs[-1]["tensorflow_bf16" if "bf16" in mode else "tensorflow"]["gflops_best"]
        r["frac_round_matmul"] = r["gflops"] / mm
        m["runs"].append(r)
        progress(f"round {rnd} {mode} batch {r['batch']}: median {r['median_s']:.3f} s, {r['seq_per_s']:.3f} seq/s, "
                 f"{r['gflops']:.1f} GFLOP/s = {100 * r['frac_round_matmul']:.1f}% of this round's matmul, "
                 f"peak RSS {r['peak_rss_gb_after']:.2f} GB")

    # alternating rounds: matmul, every forward variant, every training step; the ratios are medians
    for rnd in range(args.rounds):
        if rnd:
            progress(f"round {rnd}: matmul {args.matmul_n} x {args.matmul_n}")
            mm_runs.append({"when": f"round {rnd}", **bench_matmul(np, tf, args.matmul_n, args.matmul_repeats,
                                                                     args.seed)})
        for mode, fn in forwards.items():
            for batch in args.batch:
                r = bench_forward(tf, fn, batch, seq_length, out_shape, args.repeats, args.seed)
                record(mode, r, fwd_flops, rnd)
                gc.collect()
        for mode, step in trains.items():
            for batch in args.train_batch:
                r = bench_train(tf, step, batch, seq_length, out_shape, args.repeats, args.seed)
                record(mode, r, TRAIN_FLOPS_FACTOR * fwd_flops, rnd)
                gc.collect()

    # the machine may be shared: measure matmul again, and take the best of all runs as the peak
    progress(f"matmul {args.matmul_n} x {args.matmul_n} again")
    mm_runs.append({"when": "after", **bench_matmul(np, tf, args.matmul_n, args.matmul_repeats, args.seed)})
    for key in ("numpy", "tensorflow", "tensorflow_bf16"):
        res["matmul"][f"peak_{key}"] = max(run[key]["gflops_best"] for run in mm_runs)
    for r in m["runs"]:
        r["frac_tf_matmul_peak"] = r["gflops"] / res["matmul"]["peak_tensorflow"]
        r["frac_numpy_matmul_peak"] = r["gflops"] / res["matmul"]["peak_numpy"]
    res["medians"] = {f"{mode} batch {b}": {
        "rounds": len(rs), "seq_per_s": statistics.median(r["seq_per_s"] for r in rs),
        "gflops": statistics.median(r["gflops"] for r in rs),
        "frac_round_matmul": statistics.median(r["frac_round_matmul"] for r in rs)}
        for mode in list(forwards) + list(trains) for b in (args.batch if mode in forwards else args.train_batch)
        for rs in [[r for r in m["runs"] if r["mode"] == mode and r["batch"] == b]] if rs}
    res["peak_rss_gb"] = _peak_rss_gb()
    res["wall_s"] = time.perf_counter() - t_start
    print_report(res)
    if args.json:
        doc = json.loads(json.dumps(res, default=lambda o: sorted(o) if isinstance(o, set) else str(o)))
        with open(args.json, "w") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
        print(f"JSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The report shared by the fast-vs-naive benchmarks (ISM, SED, SAD)."""
from __future__ import annotations

import resource


def report(unit: str, *, t_naive: float, n_naive: int, t_fast: float, n_fast: int, err: float,
           naive_note: str = "") -> None:
    """Print per-item times of both paths, their ratio, the largest relative difference and peak RSS."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"naive: {t_naive:.3f} s per {unit} ({1 / t_naive:.2f} {unit}s/s{naive_note}), timed on {n_naive} {unit}s")
    print(f"fast:  {t_fast:.4f} s per {unit} ({1 / t_fast:.2f} {unit}s/s), all {n_fast} {unit}s")
    print(f"speed-up fast / naive: {t_naive / t_fast:.1f}x; max relative difference on the shared {unit}s: {err:.2e}")
    print(f"peak resident memory: {rss:.2f} GB")


def float64_twin(params_model, model, *, seed: int = 1):
    """The same network built in float64 with ``model``'s weights: an exact reference against which
    both float32 paths' rounding can be measured."""
    import keras
    import numpy as np

    from genomodel.model.seqnn import build_model

    keras.config.set_floatx("float64")
    try:
        twin = build_model(params_model, seed=seed).model()
    finally:
        keras.config.set_floatx("float32")
    twin.set_weights([w.astype(np.float64) for w in model.get_weights()])
    return twin

"""Incremental (fastISM-style) mutant predictions equal full forward passes."""
from __future__ import annotations

import numpy as np
import pytest

from genomodel.config import params_from_dict
from genomodel.model.incremental import Incremental
from genomodel.model.seqnn import build_model
from _tiny_model import tiny_params

ARCHS = {
    "basenji2_like": tiny_params(),
    "dense_dilated_2018_like": params_from_dict({"model": {
        "seq_length": 256, "activation": "relu", "norm_type": "batch",
        "trunk": [{"name": "conv_block", "filters": 6, "kernel_size": 8, "pool_size": 2},
                  {"name": "conv_block", "filters": 8, "kernel_size": 6, "pool_size": 4},
                  {"name": "dilated_dense", "filters": 4, "kernel_size": 3, "dilation_init": 2, "rate_mult": 2,
                   "repeat": 3, "dropout": 0.1},
                  {"name": "conv_block", "filters": 10, "kernel_size": 1}],
        "head_x": {"name": "final", "units": 2, "activation": "softplus"}}}),
    "no_norm_odd_kernels": params_from_dict({"model": {
        "seq_length": 256, "activation": "gelu",
        "trunk": [{"name": "conv_block", "filters": 5, "kernel_size": 5, "pool_size": 2},
                  {"name": "conv_tower", "filters_init": 5, "filters_mult": 1.3, "kernel_size": 4, "pool_size": 2,
                   "repeat": 2},
                  {"name": "dilated_residual", "filters": 3, "rate_mult": 1.5, "repeat": 3, "round": True},
                  {"name": "Cropping1D", "cropping": 5}],
        "head_x": {"name": "final", "units": 4, "activation": "softplus"}}}),
}


def _full_and_fast(model, x, pos, base, ref_out, patch, lo, hi):
    """A full forward pass of the point mutant, and the reference output with the incremental patch."""
    xm = x.copy()
    xm[pos] = 0
    xm[pos, base] = 1
    fast = ref_out.copy()
    fast[lo:hi] = patch
    return model(xm[None], training=False).numpy()[0], fast


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_incremental_mutants_equal_full_passes(arch):
    model = build_model(ARCHS[arch].model, seed=2).model()
    rng = np.random.default_rng(1)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 256)]
    inc = Incremental(model, x)
    full_ref = model(x[None], training=False).numpy()[0]
    np.testing.assert_allclose(inc.reference_output, full_ref, rtol=1e-6, atol=1e-7)
    for positions in ([0, 1, 2], [127, 128, 128, 131], [250, 255], [60]):
        bases = [(int(x[p].argmax()) + 1 + k) % 4 for k, p in enumerate(positions)]
        patch, lo, hi = inc.mutants(positions, bases)
        for m, (p, b) in enumerate(zip(positions, bases)):
            full, fast = _full_and_fast(model, x, p, b, full_ref, patch[m], lo, hi)
            np.testing.assert_allclose(fast, full, rtol=1e-4, atol=1e-5 * np.abs(full).max())


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_requested_output_bins_only(arch):
    """Computing only what a few output bins need gives those bins exactly."""
    model = build_model(ARCHS[arch].model, seed=3).model()
    rng = np.random.default_rng(2)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 256)]
    inc = Incremental(model, x)
    n_bins = int(model.output.shape[1])
    full_ref = inc.reference_output
    for out_bins in ((n_bins // 2, n_bins // 2 + 1), (0, 2), (n_bins - 3, n_bins)):
        positions = [100, 128, 140]
        bases = [(int(x[p].argmax()) + 2) % 4 for p in positions]
        patch, lo, hi = inc.mutants(positions, bases, out_bins=out_bins)
        assert out_bins[0] <= lo and hi <= out_bins[1] or hi == lo
        for m, (p, b) in enumerate(zip(positions, bases)):
            full, fast = _full_and_fast(model, x, p, b, full_ref, patch[m], lo, hi)
            sl = slice(*out_bins)
            np.testing.assert_allclose(fast[sl], full[sl], rtol=1e-4, atol=1e-5 * np.abs(full).max())


def test_a_mutation_the_requested_bins_cannot_see_changes_nothing():
    model = build_model(ARCHS["basenji2_like"].model, seed=3).model()
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(5).integers(0, 4, 256)]
    inc = Incremental(model, x)
    # first output bin: its receptive field ends well before position 250
    patch, lo, hi = inc.mutants([250], [(int(x[250].argmax()) + 1) % 4], out_bins=(0, 1))
    assert hi == lo or np.allclose(patch[0], inc.reference_output[lo:hi], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_mutants_each_far_apart_in_one_batch_equal_full_passes(arch):
    """One batch, mutants at both ends and the middle: each is exact over its own cone, and the
    reference holds outside it."""
    model = build_model(ARCHS[arch].model, seed=4).model()
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(7).integers(0, 4, 256)]
    inc = Incremental(model, x)
    ref = inc.reference_output
    n_bins = ref.shape[0]
    positions = [0, 3, 128, 200, 255, 128]
    bases = [(int(x[p].argmax()) + 1 + k % 3) % 4 for k, p in enumerate(positions)]
    for out_bins in (None, (n_bins // 2 - 1, n_bins // 2 + 1)):
        patch, starts, ends = inc.mutants_each(positions, bases, out_bins=out_bins)
        assert patch.shape[:2] == (len(positions), int((ends - starts).max()))
        lo, hi = out_bins or (0, n_bins)
        for m, (p, b) in enumerate(zip(positions, bases)):
            assert lo <= starts[m] <= ends[m] <= hi
            fast = ref.copy()
            fast[starts[m]:ends[m]] = patch[m, :ends[m] - starts[m]]
            full, _ = _full_and_fast(model, x, p, b, ref, patch[m, :0], 0, 0)
            np.testing.assert_allclose(fast[lo:hi], full[lo:hi], rtol=1e-4, atol=1e-5 * np.abs(full).max())

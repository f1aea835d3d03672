"""Saliency and naive mutagenesis against their definitions."""
from __future__ import annotations

import keras
import numpy as np

from genomodel.attribution.ism import ism
from genomodel.attribution.saliency import saliency
from genomodel.model.seqnn import build_model
from genomodel.predict import predict
from _tiny_model import tiny_params


def _x(n, seed=0):
    rng = np.random.default_rng(seed)
    return np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, 256))]


def test_saliency_sums_to_the_derivative_of_scaling_the_tower_output():
    seqnn = build_model(tiny_params().model, seed=3)
    model = seqnn.model()
    x = _x(2)
    s = saliency(seqnn, x, targets=[1], bins=[3, 4, 5])
    assert s.shape == (2, 16)  # 256 bp pooled 4 * 2 * 2: the dilated tower's 16 bins
    h = seqnn.tower_output()
    to_h, from_h = keras.Model(model.input, h), keras.Model(h, model.output)
    hb = to_h(x, training=False).numpy().astype(np.float64)
    eps = 1e-3

    def y(scale):
        return from_h((hb * scale).astype(np.float32), training=False).numpy()[:, [3, 4, 5], 1].sum(axis=1)

    numeric = (y(1 + eps) - y(1 - eps)) / (2 * eps)
    np.testing.assert_allclose(s.sum(axis=1), numeric, rtol=2e-2, atol=1e-3)


def test_naive_ism_is_mutant_minus_reference():
    model = build_model(tiny_params().model, seed=4).model()
    x = _x(1, seed=2)[0]
    out = ism(model, x, start=120, end=130, targets=[0, 2], bins=[5, 6])
    assert out.shape == (10, 4, 2)
    ref_base = x[120:130].argmax(axis=1)
    assert np.all(out[np.arange(10), ref_base] == 0)
    ref = predict(model, x[None])[0]
    for pos, base in ((121, (ref_base[1] + 1) % 4), (129, (ref_base[9] + 3) % 4)):
        m = x.copy()
        m[pos] = 0
        m[pos, base] = 1
        alt = predict(model, m[None])[0]
        expect = (alt[[5, 6]][:, [0, 2]] - ref[[5, 6]][:, [0, 2]]).sum(axis=0)
        np.testing.assert_allclose(out[pos - 120, base], expect, rtol=1e-4, atol=1e-6)


def test_fast_ism_equals_naive():
    model = build_model(tiny_params().model, seed=6).model()
    x = _x(1, seed=3)[0]
    naive = ism(model, x, start=100, end=140, targets=[0, 2], bins=[4, 5, 6])
    fast = ism(model, x, start=100, end=140, targets=[0, 2], bins=[4, 5, 6], fast=True, batch_size=12)
    np.testing.assert_allclose(fast, naive, rtol=1e-4, atol=1e-5 * np.abs(naive).max())
    assert np.abs(naive).max() > 0


def test_sites_and_indices_are_checked():
    import pytest

    from genomodel.attribution.ism import check_indices, parse_site

    assert parse_site("chr1:1,234,567") == ("chr1", 1234567) and parse_site("HLA:A:5") == ("HLA:A", 5)
    for bad in ("chr1-5000", ":5", "chr1:x"):
        with pytest.raises(ValueError, match="CHROM:POS"):
            parse_site(bad)
    check_indices(None, 3, "targets")
    with pytest.raises(ValueError, match=r"--bins \[3, -1\] out of range: the model has 3 bins"):
        check_indices([0, 3, -1], 3, "bins")

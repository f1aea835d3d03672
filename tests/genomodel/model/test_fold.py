"""A model with its batch norms folded into the convolutions predicts what the original predicts."""
from __future__ import annotations

import numpy as np
import pytest

from genomodel.model.fold import fold_batch_norm
from genomodel.model.incremental import Incremental
from genomodel.model.seqnn import build_model
from test_incremental import ARCHS


def _trained_like_norms(model, rng):
    """Batch-norm statistics away from their initial values, as after training."""
    for layer in model.layers:
        if layer.__class__.__name__ == "BatchNormalization":
            shapes = [w.shape for w in layer.get_weights()]
            layer.set_weights([rng.uniform(0.5, 1.5, shapes[0]), rng.normal(0, 0.2, shapes[1]),
                               rng.normal(0, 0.3, shapes[2]), rng.uniform(0.3, 2.0, shapes[3])])


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_folded_model_equals_original(arch):
    rng = np.random.default_rng(0)
    model = build_model(ARCHS[arch].model, seed=5).model()
    _trained_like_norms(model, rng)
    folded = fold_batch_norm(model)
    kinds = [l.__class__.__name__ for l in folded.layers]
    orig = [l.__class__.__name__ for l in model.layers]
    assert "Dropout" not in kinds and "BatchNormalization" not in kinds
    assert len(kinds) == len(orig) - orig.count("Dropout") - orig.count("BatchNormalization")
    assert ("BatchNormalization" in orig) == (arch != "no_norm_odd_kernels")
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (3, int(model.input.shape[1])))]
    want = model(x, training=False).numpy()
    got = folded(x, training=False).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    # the incremental path runs on the folded copy
    inc = Incremental(folded, x[0])
    patch, lo, hi = inc.mutants([100], [(int(x[0, 100].argmax()) + 1) % 4])
    xm = x[0].copy()
    xm[100] = np.roll(xm[100], 1)
    full = model(xm[None], training=False).numpy()[0]
    np.testing.assert_allclose(patch[0], full[lo:hi], rtol=1e-4, atol=1e-5 * np.abs(full).max())


def test_folded_copy_keeps_custom_activations_and_own_weights():
    model = build_model(ARCHS["basenji2_like"].model, seed=6).model()
    folded = fold_batch_norm(model)
    acts = {l.name: l.activation for l in model.layers if l.__class__.__name__ == "Activation"}
    for l in folded.layers:
        if l.name in acts:
            assert l.activation is acts[l.name]  # our GELU, not Keras's erf form of the same name
    before = folded.get_weights()
    model.set_weights([w * 2 for w in model.get_weights()])
    assert all(np.array_equal(a, b) for a, b in zip(before, folded.get_weights()))


def test_bfloat16_copy_and_xla_predict_agree_with_float32():
    from genomodel.predict import compile_inference, predict

    rng = np.random.default_rng(1)
    model = build_model(ARCHS["basenji2_like"].model, seed=7).model()
    _trained_like_norms(model, rng)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (2, int(model.input.shape[1])))]
    want = model(x, training=False).numpy()
    bf16 = fold_batch_norm(model, precision="mixed_bfloat16")
    assert bf16.output.dtype == "float32" and any(l.compute_dtype == "bfloat16" for l in bf16.layers)
    got = predict(bf16, x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=5e-2 * np.abs(want).max())
    assert np.abs(got - want).max() > 0  # it did compute in 16 bits
    # the incremental path on the 16-bit copy follows that copy's own full passes
    inc = Incremental(bf16, x[0])
    xm = x[0].copy()
    xm[50] = np.roll(xm[50], 2)
    patch, lo, hi = inc.mutants([50], [int(xm[50].argmax())])
    full = predict(bf16, xm[None])[0]
    np.testing.assert_allclose(patch[0], full[lo:hi], rtol=0, atol=2e-2 * np.abs(full).max())
    xla = fold_batch_norm(model)
    compile_inference(xla, xla=True)
    np.testing.assert_allclose(predict(xla, x, batch_size=2), want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    with pytest.raises(ValueError, match="precision must be one of"):
        fold_batch_norm(model, precision="float8")

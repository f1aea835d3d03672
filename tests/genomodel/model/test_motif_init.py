import numpy as np
import pytest

from _tiny_model import tiny_params
from genomodel.model.motif_init import first_conv, init_from_motifs, motif_filters
from genomodel.model.seqnn import build_model


def _motifs():
    a = np.array([[0.97, 0.01, 0.01, 0.01], [0.01, 0.97, 0.01, 0.01], [0.01, 0.01, 0.01, 0.97]])  # ACT
    b = np.full((9, 4), 0.25)
    b[4] = [0.01, 0.01, 0.97, 0.01]  # a 9-bp motif, wider than the 7-bp filters below
    return {"ACT": a, "wide": b}


def test_filters_score_the_motif_and_its_reverse_complement():
    f, names = motif_filters(_motifs(), kernel_size=7, scale=1.0, input_gain=1.0)
    assert f.shape == (7, 4, 4) and names == ["ACT", "ACT (rc)", "wide", "wide (rc)"]
    one_hot = np.eye(4)
    act, agt = one_hot[[0, 1, 3]], one_hot[[0, 2, 3]]
    fwd = f[2:5, :, 0]  # the 3-bp motif sits in the middle of the 7-bp filter
    assert (fwd * act).sum() > (fwd * agt).sum() + 4  # one mismatch costs about 4.6 nats
    # the reverse-complement filter scores the reverse complement (AGT) as the forward one scores ACT
    rc = f[2:5, :, 1]
    np.testing.assert_allclose((rc * one_hot[[0, 2, 3]]).sum(), (fwd * act).sum())
    # centred per position: a filter gives 0 to a position that is uninformative
    np.testing.assert_allclose(f.sum(axis=1), 0, atol=1e-6)
    # the wide motif is trimmed to the filter, keeping its informative centre
    assert np.argmax(np.abs(f[:, :, 2]).sum(axis=1)) == 3


def test_init_sets_the_leading_filters_and_keeps_the_rest():
    p = tiny_params()
    model = build_model(p.model, seed=1).model()
    conv = first_conv(model)
    before = conv.get_weights()[0].copy()
    names = init_from_motifs(model, _motifs())
    after = conv.get_weights()[0]
    assert len(names) == 4
    expected, _ = motif_filters(_motifs(), kernel_size=before.shape[0])
    np.testing.assert_allclose(after[:, :, :4], expected, rtol=1e-6)
    np.testing.assert_array_equal(after[:, :, 4:], before[:, :, 4:])


def test_too_many_motifs_for_the_layer_is_an_error():
    model = build_model(tiny_params().model, seed=1).model()
    many = {f"m{i}": _motifs()["ACT"] for i in range(5)}  # 10 filters for a layer of 8
    with pytest.raises(ValueError, match="too few for 5 motifs"):
        init_from_motifs(model, many)

"""Architectures from params: published parameter counts, strict keys, save/load, ensembles."""
from __future__ import annotations

import json

import numpy as np
import pytest

from _tiny_model import tiny_params
from genomodel.config import params_from_dict, params_to_dict, read_params
from genomodel.model.seqnn import build_model, load_model, save_model
from genomodel.predict import geometry, predict

# basenji's own implementation builds these (Kelley 2020, params_human.json / params_mouse.json)
BASENJI2_HUMAN = (30_123_584, 30_088_228)
# the mouse head swaps 5,313 outputs for 1,643: the trunk is shared, each head is 1536 x units + units
BASENJI2_MOUSE = (BASENJI2_HUMAN[0] - (1536 + 1) * 5313 + (1536 + 1) * 1643,
                  BASENJI2_HUMAN[1] - (1536 + 1) * 5313 + (1536 + 1) * 1643)


@pytest.mark.parametrize("name, counts", [("basenji2_human", BASENJI2_HUMAN), ("basenji2_mouse", BASENJI2_MOUSE)])
def test_shipped_basenji2_params_give_basenji_counts(name, counts):
    p = read_params(name)
    seqnn = build_model(p.model)
    assert seqnn.count_params() == counts
    assert tuple(seqnn.model().output.shape[1:]) == (896, 5313 if "human" in name else 1643)


def test_published_params_files_build(shared_data):
    d = shared_data / "basenji_params"
    human = build_model(read_params(d / "cross2020_params_human.json").model)
    assert human.count_params() == BASENJI2_HUMAN
    mouse = build_model(read_params(d / "cross2020_params_mouse.json").model)
    assert mouse.count_params() == BASENJI2_MOUSE
    # Basenji 2018: 4 conv layers pooling 2, 4, 4, 4 to 128-bp bins, densely connected dilated layers
    old = read_params(d / "genome_research2018_params.txt")
    names = [b["name"] for b in old.model.trunk]
    assert "dilated_dense" in names
    m = build_model(old.model).model()
    assert tuple(m.output.shape[1:]) == (131072 // 128, 4229)
    assert old.train.optimizer == "adam"


def test_shipped_2018_params_match_the_converted_text(shared_data):
    old = read_params(shared_data / "basenji_params" / "genome_research2018_params.txt")
    ours = read_params("basenji2018_human")
    a = build_model(old.model).count_params()
    assert a == build_model(ours.model).count_params()


@pytest.mark.parametrize("section, key", [("model", "activaton"), ("train", "learnig_rate")])
def test_misspelt_key_names_the_key_and_suggests(section, key):
    d = params_to_dict(tiny_params())
    value = d[section].pop(key.replace("activaton", "activation").replace("learnig_rate", "learning_rate"), 0.1)
    d[section][key] = value
    with pytest.raises(KeyError) as err:
        params_from_dict(d, where="p.json")
    msg = str(err.value)
    assert key in msg and "did you mean" in msg and "p.json" in msg


def test_misspelt_block_argument_and_block_name():
    with pytest.raises(KeyError, match=r"filter_mult.*trunk\[1\].*did you mean 'filters_mult'"):
        tiny_params(trunk=[{"name": "conv_block", "filters": 4},
                           {"name": "conv_tower", "filters_init": 4, "filter_mult": 1.1}])
    with pytest.raises(KeyError, match="dilated_residuel.*did you mean 'dilated_residual'"):
        tiny_params(trunk=[{"name": "dilated_residuel", "filters": 4}])


def test_params_round_trip_through_json():
    p = tiny_params()
    again = params_from_dict(json.loads(json.dumps(params_to_dict(p))))
    assert again == p


def test_same_seed_same_weights_and_geometry():
    p = tiny_params()
    a, b = build_model(p.model, seed=3), build_model(p.model, seed=3)
    for wa, wb in zip(a.combined.get_weights(), b.combined.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    c = build_model(p.model, seed=4)
    assert any(not np.array_equal(x, y) for x, y in zip(a.combined.get_weights(), c.combined.get_weights()))
    # 256 bp, pooled 4 * 2 * 2 = 16 -> 16 bins, 2 cropped each side -> 12 bins of 16 bp
    assert geometry(a.model()) == (16, 32)
    assert tuple(a.model().output.shape[1:]) == (12, 3)


def test_saved_model_loads_and_predicts_the_same(tmp_path):
    p = tiny_params()
    seqnn = build_model(p.model, seed=1)
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(3, 256))]
    before = predict(seqnn.model(), x)
    save_model(seqnn, p, tmp_path / "m", extra={"note": "x"})
    again, p2, info = load_model(tmp_path / "m")
    assert p2 == p and info == {"note": "x"}
    np.testing.assert_array_equal(predict(again.model(), x), before)
    assert not list((tmp_path / "m").glob(".*tmp*"))


def test_load_reports_a_missing_weights_file(tmp_path):
    p = tiny_params()
    save_model(build_model(p.model), p, tmp_path / "m")
    (tmp_path / "m" / "model.weights.h5").unlink()
    with pytest.raises(FileNotFoundError, match="model.weights.h5"):
        load_model(tmp_path / "m")


def test_rc_ensemble_is_strand_symmetric():
    """Averaging a sequence and its reverse complement makes the prediction of the reverse
    complement the reversed prediction (with stranded tracks swapped)."""
    p = tiny_params()
    m = build_model(p.model, seed=2).model()
    rng = np.random.default_rng(1)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(2, 256))]
    pair = np.array([1, 0, 2])
    fwd = predict(m, x, rc=True, strand_pair=pair)
    rev = predict(m, x[:, ::-1, ::-1], rc=True, strand_pair=pair)
    np.testing.assert_allclose(rev, fwd[:, ::-1][:, :, pair], rtol=1e-5, atol=1e-6)


def test_geometry_with_two_croppings():
    p = tiny_params(trunk=[{"name": "conv_block", "filters": 4, "pool_size": 8}, {"name": "Cropping1D", "cropping": 2},
                           {"name": "Cropping1D", "cropping": 3}])
    m = build_model(p.model).model()
    assert tuple(m.output.shape[1:]) == (32 - 10, 3)
    assert geometry(m) == (8, 40)


def test_block_argument_a_block_sets_itself_is_refused_by_name():
    with pytest.raises(KeyError, match="dilation_rate.*trunk\\[0\\]"):
        tiny_params(trunk=[{"name": "dilated_residual", "filters": 4, "dilation_rate": 2}])

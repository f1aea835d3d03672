"""Keras 2 weight files from baskerville (frozen fixture) load into the suite's Keras 3 models."""
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from genomodel.config import params_from_dict
from genomodel.model.import_weights import gelu_form_of_h5, import_keras2_h5, read_keras2_h5, with_gelu
from genomodel.model.seqnn import build_model, save_model

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "baskerville_small"


def _params(form="tanh", **changes):
    doc = json.loads((FIXTURE / "params.json").read_text())
    doc["model"].update(changes)
    return params_from_dict(with_gelu(doc, form))


def _save_keras2_weights(model_h5, out):
    """The model_weights group of a whole-model file as a Keras 2 weights-only file (save_weights layout)."""
    import h5py

    with h5py.File(model_h5, "r") as src, h5py.File(out, "w") as dst:
        for key, value in src["model_weights"].attrs.items():
            dst.attrs[key] = value
        for name in src["model_weights"]:
            src.copy(src["model_weights"][name], dst, name=name)


def _reference():
    ref = np.load(FIXTURE / "predictions.npz")
    return np.eye(4, dtype=np.float32)[ref["codes"]], ref["pred"]


def test_import_reproduces_baskerville_predictions():
    seqnn = build_model(_params().model, seed=0)
    assert import_keras2_h5(seqnn, FIXTURE / "model.h5") == 17
    x, want = _reference()
    got = seqnn.model()(x, training=False).numpy()
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()
    # the GELU form matters: the sigmoid approximation on the same weights is far off
    other = build_model(_params("sigmoid").model, seed=0)
    import_keras2_h5(other, FIXTURE / "model.h5")
    assert np.abs(other.model()(x, training=False).numpy() - want).max() > 0.01 * np.abs(want).max()


def test_mismatched_model_names_the_first_layer_that_does_not_fit():
    doc = json.loads((FIXTURE / "params.json").read_text())
    doc["model"]["trunk"][1]["filters_init"] = 12
    seqnn = build_model(params_from_dict(with_gelu(doc, "tanh")).model, seed=0)
    with pytest.raises(ValueError, match=r"weighted layer 3 does not fit: 'conv1d_1' in the file has weights "
                                         r"\[\(5, 16, 16\)\], the model's 'conv_1' expects \[\(5, 16, 12\)\]"):
        import_keras2_h5(seqnn, FIXTURE / "model.h5")
    doc = json.loads((FIXTURE / "params.json").read_text())
    doc["model"]["trunk"].append({"name": "conv_block", "filters": 8, "kernel_size": 1})
    seqnn = build_model(params_from_dict(with_gelu(doc, "tanh")).model, seed=0)
    with pytest.raises(ValueError, match="17 weighted layers in the file, 19 in the model"):
        import_keras2_h5(seqnn, FIXTURE / "model.h5")


def test_trunk_only_import_then_a_new_head_fine_tunes(tmp_path):
    doc = json.loads((FIXTURE / "params.json").read_text())
    doc["model"]["head_mouse"] = {"name": "final", "units": 3, "activation": "softplus"}
    del doc["model"]["head_human"]
    seqnn = build_model(params_from_dict(with_gelu(doc, "tanh")).model, seed=0)
    with pytest.raises(ValueError, match="import the trunk only"):
        import_keras2_h5(seqnn, FIXTURE / "model.h5")
    assert import_keras2_h5(seqnn, FIXTURE / "model.h5", trunk_only=True) == 16
    file_layers = read_keras2_h5(FIXTURE / "model.h5")
    trunk_layers = [l for l in seqnn.trunk.layers if l.weights]
    for layer, (_, arrays) in zip(trunk_layers, file_layers):
        for w, a in zip(layer.get_weights(), arrays):
            np.testing.assert_array_equal(w, a)
    for layer in trunk_layers:
        layer.trainable = False
    model = seqnn.model()
    rng = np.random.default_rng(0)
    x, _ = _reference()
    y = rng.gamma(2.0, 1.0, (3,) + tuple(model.output.shape[1:])).astype(np.float32)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="poisson")
    hist = model.fit(x, y, epochs=15, batch_size=3, verbose=0).history["loss"]
    assert hist[-1] < hist[0]
    for layer, (_, arrays) in zip(trunk_layers, file_layers):
        for w, a in zip(layer.get_weights(), arrays):
            np.testing.assert_array_equal(w, a)


def test_gelu_forms_and_keras3_files_are_clear(tmp_path):
    assert with_gelu({"activation": "gelu", "trunk": [{"activation": "gelu"}, {"activation": "relu"}]}, "tanh") == \
        {"activation": "gelu_tanh", "trunk": [{"activation": "gelu_tanh"}, {"activation": "relu"}]}
    with pytest.raises(ValueError, match="GELU form 'erf'"):
        with_gelu({}, "erf")
    p = _params()
    seqnn = build_model(p.model, seed=0)
    save_model(seqnn, p, tmp_path / "m")
    with pytest.raises(ValueError, match="not a Keras 2 HDF5"):
        read_keras2_h5(tmp_path / "m" / "model.weights.h5")


def test_import_weights_command_writes_a_model_folder(tmp_path, caplog):
    from genomodel import cli
    from genomodel.model.seqnn import load_model

    params = tmp_path / "params.json"
    params.write_text((FIXTURE / "params.json").read_text())
    args = ["import-weights", "--params", str(params), "--h5", str(FIXTURE / "model.h5"), "--out", str(tmp_path / "m")]
    assert cli.main(args + ["--gelu", "sigmoid"]) != 0 and "built with the tanh form" in caplog.text
    assert not (tmp_path / "m").exists()
    # weights only: nothing in the file says which GELU
    seqnn = build_model(_params().model, seed=0)
    import_keras2_h5(seqnn, FIXTURE / "model.h5")
    weights_only = tmp_path / "weights_only.h5"
    _save_keras2_weights(FIXTURE / "model.h5", weights_only)
    assert gelu_form_of_h5(weights_only) is None and gelu_form_of_h5(FIXTURE / "model.h5") == "tanh"
    bad = ["import-weights", "--params", str(params), "--h5", str(weights_only), "--out", str(tmp_path / "w")]
    assert cli.main(bad) != 0 and "give --gelu" in caplog.text
    assert cli.main(bad + ["--gelu", "tanh"]) == 0
    assert cli.main(args) == 0
    seqnn, _, info = load_model(tmp_path / "m")
    x, want = _reference()
    assert np.abs(seqnn.model()(x, training=False).numpy() - want).max() <= 1e-5 * np.abs(want).max()
    assert info["gelu"] == "tanh" and info["imported_layers"] == 17 and info["inputs"]["weights"]["sha256"]


def test_gelu_form_read_from_the_saved_model_config(tmp_path):
    """basenji 2019-2022 saved its sigmoid GELU as a custom 'GELU' layer; Keras's gelu is a TFOpLambda whose
    call says approximate (tanh) or not (erf, never used by basenji)."""
    import h5py

    def config_file(name, layers):
        path = tmp_path / name
        with h5py.File(path, "w") as f:
            f.attrs["model_config"] = json.dumps({"class_name": "Functional", "config": {"layers": layers}})
        return path

    assert gelu_form_of_h5(config_file("s.h5", [{"class_name": "GELU", "config": {"name": "gelu"}}])) == "sigmoid"
    erf = {"class_name": "TFOpLambda", "config": {"function": "nn.gelu"},
           "inbound_nodes": [["sequence", 0, 0, {"approximate": False}]]}
    with pytest.raises(ValueError, match="exact"):
        gelu_form_of_h5(config_file("e.h5", [erf]))
    relu = {"class_name": "ReLU", "config": {"name": "re_lu"}}
    assert gelu_form_of_h5(config_file("r.h5", [relu])) is None


def test_imported_trunk_starts_training_of_a_new_head(tmp_path):
    """import-weights --trunk-only, then genomodel train --init-model: training starts from the published
    trunk and fits the new head on the user's records."""
    from genomodel import cli
    from genomodel.io import tfrecord
    from genomodel.model.seqnn import init_from_model

    doc = json.loads((FIXTURE / "params.json").read_text())
    doc["model"]["head_mouse"] = {"name": "final", "units": 2, "activation": "softplus"}
    del doc["model"]["head_human"]
    doc["train"] = {"batch_size": 2, "optimizer": "adam", "learning_rate": 0.002, "seed": 1}
    params = tmp_path / "params.json"
    params.write_text(json.dumps(doc))
    assert cli.main(["import-weights", "--params", str(params), "--h5", str(FIXTURE / "model.h5"), "--trunk-only",
                     "--out", str(tmp_path / "trunk")]) == 0
    fresh = build_model(params_from_dict(with_gelu(doc, "tanh")).model, seed=5)
    assert init_from_model(fresh, tmp_path / "trunk") == 17
    for layer, (_, arrays) in zip([l for l in fresh.trunk.layers if l.weights], read_keras2_h5(FIXTURE / "model.h5")):
        for w, a in zip(layer.get_weights(), arrays):
            np.testing.assert_array_equal(w, a)
    rng = np.random.default_rng(0)
    rec = tmp_path / "rec"
    for split, n in (("train", 6), ("valid", 2), ("test", 2)):
        tfrecord.write_records(rec, split, [(rng.integers(0, 4, 1024).astype(np.uint8),
                                             rng.gamma(2.0, 1.0, (24, 2)).astype(np.float16)) for _ in range(n)])
    tfrecord.write_statistics(rec, {"num_targets": 2, "seq_length": 1024, "seq_1hot": True, "pool_width": 32,
                                    "crop_bp": 128, "target_length": 24, "train_seqs": 6, "valid_seqs": 2,
                                    "test_seqs": 2})
    trained = tmp_path / "params_tanh.json"
    trained.write_text(json.dumps(with_gelu(doc, "tanh")))
    run = tmp_path / "run"
    assert cli.main(["train", "--params", str(trained), "--data", str(rec), "--out", str(run), "--epochs", "1",
                     "--init-model", str(tmp_path / "trunk")]) == 0
    prov = json.loads((run / "provenance.json").read_text())
    assert "init_model" in prov["inputs"]
    other = dict(doc["model"], trunk=doc["model"]["trunk"][:2])
    small = build_model(params_from_dict({"model": with_gelu(other, "tanh")}).model, seed=0)
    save_model(small, params_from_dict({"model": with_gelu(other, "tanh")}), tmp_path / "small")
    with pytest.raises(ValueError, match=r"small: layer 'conv_\d+' is missing"):
        init_from_model(fresh, tmp_path / "small")
    sigmoid = build_model(params_from_dict(with_gelu(doc, "sigmoid")).model, seed=0)
    with pytest.raises(ValueError, match="activation 'gelu_tanh'"):
        init_from_model(sigmoid, tmp_path / "trunk")
    # 'gelu' and 'gelu_sigmoid' name one function
    save_model(sigmoid, params_from_dict(with_gelu(doc, "sigmoid")), tmp_path / "sig")
    assert init_from_model(build_model(params_from_dict(doc).model, seed=0), tmp_path / "sig") == 17

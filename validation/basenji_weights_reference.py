"""Reference Keras 2 weight files and predictions from calico's baskerville, frozen as a fixture.

    python validation/basenji_weights_reference.py --python VENV/bin/python --baskerville-src SRC \
        --out DIR [--basenji2-params FILE] [--fixture-dir DIR | --no-copy]

``VENV`` is a virtualenv with TensorFlow 2.15 (Keras 2; ``pip install "tensorflow-cpu==2.15.*" natsort``)
and ``SRC`` the ``src`` folder of a calico/baskerville checkout (the package of that name on PyPI is an
unrelated schema-inference tool, so the checkout is put on the path instead of installed). In that
interpreter, through a subprocess, for each model:

1. build it from its params with ``baskerville.seqnn.SeqNN`` (as baskerville's scripts do);
2. give every weight a seeded random value (batch-norm moving statistics too, so that a loader that
   drops or reorders them fails);
3. save it as baskerville and basenji save models (``SeqNN.save``: the whole Keras 2 model in HDF5);
4. predict fixed random sequences.

The small model (``SMALL_PARAMS``) is copied with its predictions into ``--fixture-dir`` (default
``tests/genomodel/fixtures/baskerville_small``). With ``--basenji2-params`` (``cross2020_params_human.json``)
the full Basenji2 human model is built too; it stays in ``--out`` (about 120 MB), and this script then
imports it into the suite's own Basenji2 (:func:`genomodel.model.import_weights.import_keras2_h5`) and
prints the largest relative difference of the predictions.

The reference is never imported by the project: it runs in its own interpreter through a subprocess.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FIXTURE = REPO / "tests" / "genomodel" / "fixtures" / "baskerville_small"

# baskerville's "gelu" is tf.keras.activations.gelu(approximate=True), the tanh form
SMALL_PARAMS = {
    "seq_length": 1024, "activation": "gelu", "norm_type": "batch", "bn_momentum": 0.9,
    "trunk": [{"name": "conv_block", "filters": 16, "kernel_size": 15, "pool_size": 8},
              {"name": "conv_tower", "filters_init": 16, "filters_mult": 1.25, "kernel_size": 5, "pool_size": 2,
               "repeat": 2},
              {"name": "dilated_residual", "filters": 8, "rate_mult": 2, "repeat": 2, "dropout": 0.1},
              {"name": "Cropping1D", "cropping": 4},
              {"name": "conv_block", "filters": 32, "kernel_size": 1, "dropout": 0.05}],
    "head_human": {"name": "final", "units": 5, "activation": "softplus"},
}

CHILD = r'''
import json, sys
from pathlib import Path
import numpy as np
job = json.loads(Path(sys.argv[1]).read_text())
sys.path.insert(0, job["src"])
import tensorflow as tf
from baskerville import seqnn
for m in job["models"]:
    out = Path(m["out"]); out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(m["seed"])
    net = seqnn.SeqNN(m["params"])
    for layer in net.model.layers:
        ws = layer.get_weights()
        if not ws:
            continue
        if layer.__class__.__name__ == "BatchNormalization":
            new = [rng.uniform(0.5, 1.5, ws[0].shape), rng.normal(0, 0.2, ws[1].shape),
                   rng.normal(0, 0.2, ws[2].shape), rng.uniform(0.5, 1.5, ws[3].shape)]
        else:
            new = [rng.normal(0, np.sqrt(2.0 / np.prod(w.shape[:-1])), w.shape) if w.ndim > 1
                   else rng.normal(0, 0.1, w.shape) for w in ws]
        layer.set_weights([w.astype(np.float32) for w in new])
    net.save(str(out / "model.h5"))
    codes = rng.integers(0, 4, (m["n_seqs"], m["params"]["seq_length"])).astype(np.uint8)
    x = np.eye(4, dtype=np.float32)[codes]
    pred = np.concatenate([net.model(x[i:i + 1], training=False).numpy() for i in range(len(x))])
    np.savez_compressed(out / "predictions.npz", codes=codes, pred=pred)
    (out / "params.json").write_text(json.dumps({"model": m["params"]}, indent=2) + "\n")
    (out / "reference.json").write_text(json.dumps({
        "tensorflow": tf.__version__, "keras": __import__("keras").__version__, "baskerville_commit": job["commit"],
        "saved_with": "baskerville.seqnn.SeqNN.save (Keras 2 HDF5, include_optimizer=False)",
        "gelu": "tf.keras.activations.gelu(approximate=True)", "weights": "seeded random, seed %d" % m["seed"],
        "n_params": int(net.model.count_params())}, indent=2) + "\n")
    print(m["out"], int(net.model.count_params()), flush=True)
'''


def _commit(src: Path, given: str | None) -> str:
    if given:
        return given
    try:
        return subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def compare_basenji2(out: Path) -> float:
    """Import the reference Basenji2 into the suite's model and return max |diff| / max |pred|."""
    from genomodel.config import params_from_dict
    from genomodel.model.import_weights import import_keras2_h5, with_gelu
    from genomodel.model.seqnn import build_model

    # baskerville's "gelu" is the tanh form
    doc = with_gelu(json.loads((out / "params.json").read_text()), "tanh")
    seqnn = build_model(params_from_dict(doc).model, seed=0)
    import_keras2_h5(seqnn, out / "model.h5")
    ref = np.load(out / "predictions.npz")
    x = np.eye(4, dtype=np.float32)[ref["codes"]]
    pred = np.concatenate([seqnn.model()(x[i:i + 1], training=False).numpy() for i in range(len(x))])
    return float(np.abs(pred - ref["pred"]).max() / np.abs(ref["pred"]).max())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", required=True, help="interpreter of the TensorFlow 2.15 virtualenv")
    ap.add_argument("--baskerville-src", required=True, type=Path, help="src/ of a calico/baskerville checkout")
    ap.add_argument("--baskerville-commit", help="the checkout's commit, when SRC is not a git work tree")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--basenji2-params", type=Path, help="cross2020_params_human.json: also build Basenji2 human")
    ap.add_argument("--fixture-dir", type=Path, default=DEFAULT_FIXTURE)
    ap.add_argument("--no-copy", action="store_true")
    args = ap.parse_args(argv)
    models = [{"out": str(args.out / "small"), "params": SMALL_PARAMS, "seed": 2015, "n_seqs": 3}]
    if args.basenji2_params:
        p = json.loads(args.basenji2_params.read_text())["model"]
        models.append({"out": str(args.out / "basenji2_human"), "params": p, "seed": 2020, "n_seqs": 2})
    args.out.mkdir(parents=True, exist_ok=True)
    job = args.out / "job.json"
    job.write_text(json.dumps({"src": str(args.baskerville_src.resolve()), "commit": _commit(args.baskerville_src, args.baskerville_commit),
                               "models": models}))
    (args.out / "child.py").write_text(CHILD)
    subprocess.run([args.python, str(args.out / "child.py"), str(job)], check=True)
    if not args.no_copy:
        args.fixture_dir.mkdir(parents=True, exist_ok=True)
        for name in ("model.h5", "predictions.npz", "params.json", "reference.json"):
            shutil.copy(args.out / "small" / name, args.fixture_dir / name)
    if args.basenji2_params:
        print(f"Basenji2 human: max |suite - baskerville| / max |baskerville| = "
              f"{compare_basenji2(args.out / 'basenji2_human'):.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fixtures of the analysis tests: a small random model that names the world's targets, and its scores."""
from __future__ import annotations

import pandas as pd
import pytest

SEQ_LENGTH = 8192


def random_model_params(n_targets: int, *, seq_length: int = SEQ_LENGTH) -> dict:
    """A small Basenji-style architecture (8 kb in, 64-bp bins) for plumbing tests: random weights carry
    no signal, so tests with it check that files flow, not that effects are found."""
    return {"model": {"seq_length": seq_length, "activation": "gelu", "norm_type": "batch", "bn_momentum": 0.9,
                      "trunk": [{"name": "conv_block", "filters": 8, "kernel_size": 15, "pool_size": 8},
                                {"name": "conv_tower", "filters_init": 8, "filters_mult": 1.25, "kernel_size": 5,
                                 "pool_size": 2, "repeat": 3},
                                {"name": "Cropping1D", "cropping": 4},
                                {"name": "conv_block", "filters": 8}],
                      "head_sim": {"name": "final", "units": n_targets, "activation": "softplus"}},
            "train": {"batch_size": 2}}


@pytest.fixture(scope="session")
def world_model(tiny_world, tmp_path_factory):
    """A saved random model of the tiny world's targets (ids and descriptions from targets.txt)."""
    from genomodel.config import params_from_dict
    from genomodel.model.seqnn import build_model, save_model

    targets = pd.read_csv(tiny_world / "tracks" / "targets.txt", sep="\t")
    p = params_from_dict(random_model_params(len(targets)))
    info = {"targets": {"sim": {"identifier": list(targets.identifier), "description": list(targets.description)}}}
    out = tmp_path_factory.mktemp("world_model") / "model"
    save_model(build_model(p.model, seed=5), p, out, extra=info)
    return out


@pytest.fixture(scope="session")
def world_model_scores(tiny_world, world_model, tmp_path_factory):
    """The random model's sad.h5 (SAD and SED) of every SNP of the tiny world."""
    from analyses.scoring import model_sad_h5

    return model_sad_h5(world_model, tiny_world, tmp_path_factory.mktemp("world_scores") / "sad.h5")


@pytest.fixture(scope="session")
def world_truth_scores(tiny_world, tmp_path_factory):
    """The tiny world's planted truth as a sad.h5 (the ceiling)."""
    from analyses.scoring import truth_sad_h5

    return truth_sad_h5(tiny_world, tmp_path_factory.mktemp("world_truth") / "truth.h5")

"""The gene-expression cluster comparison: from a model end to end, the truth's clusters, shuffled
expression, the demo, and configs that fail before any work."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses import expression_clusters as ec
from analyses.framework import execute, main
from genocore.config import from_dict
from _analysis_configs import write_config

# a few dozen genes x 6 cell types in the tiny world: small mixtures, few draws
SMALL = {"n_components": 3, "sample_size": 22, "n_bootstrap": 20, "n_permutations": 19, "covariance_type": "diag"}


def _config(tmp_path, name="config.json", **values):
    return write_config(tmp_path, name, **values)


@pytest.fixture(scope="module")
def model_run(tiny_world, world_model, tmp_path_factory):
    """The random model's CAGE at the TSSs against the observed CAGE tracks, the truth as the ceiling."""
    tmp = tmp_path_factory.mktemp("clusters")
    cfg = _config(tmp, model=world_model, fasta=tiny_world / "genome" / "genome.fa",
                  gtf=tiny_world / "genome" / "genes.gtf",
                  observed_targets=tiny_world / "tracks" / "targets.txt",
                  truth=tiny_world / "truth" / "gene_expression.tsv", **SMALL)
    assert main(ec.ANALYSIS, ["--config", str(cfg), "--out", str(tmp / "out")]) == 0
    return tmp


def test_runs_end_to_end_from_model_predictions(model_run, tiny_world):
    out = model_run / "out"
    summary = pd.read_csv(out / "clusters.tsv", sep="\t")
    n_genes = len(pd.read_csv(tiny_world / "truth" / "gene_expression.tsv", sep="\t"))
    assert summary.source.tolist() == ["model", "truth"] and (summary.n_genes == n_genes).all()
    assert (summary.sample_size == SMALL["sample_size"]).all() and summary.p_permutation.between(0.05, 1).all()
    ari = pd.read_csv(out / "ari.tsv", sep="\t")
    counts = ari.groupby(["source", "kind"]).size().to_dict()
    assert counts == {("model", "bootstrap"): 20, ("model", "permutation"): 19, ("truth", "bootstrap"): 20,
                      ("truth", "permutation"): 19}
    pred = pd.read_csv(out / "expression_predicted.tsv", sep="\t", index_col="gene_id")
    obs = pd.read_csv(out / "expression_observed.tsv", sep="\t", index_col="gene_id")
    truth = pd.read_csv(tiny_world / "truth" / "gene_expression.tsv", sep="\t", index_col="gene_id")
    assert sorted(pred.columns) == sorted(truth.columns) and sorted(pred.index) == sorted(truth.index)
    assert (pred.to_numpy() > 0).all()
    # observed CAGE at the TSS bins is a Poisson draw around the noiseless expression
    o, t = obs.loc[truth.index, truth.columns].to_numpy(), truth.to_numpy()
    assert np.corrcoef(np.log1p(o).ravel(), np.log1p(t).ravel())[0, 1] > 0.95
    for png in ("heatmap_model.png", "heatmap_truth.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    prov = json.loads((out / "provenance.json").read_text())
    assert {"fasta", "gtf", "observed_targets", "truth"} <= set(prov["inputs"])
    assert "| truth |" in (out / "report.md").read_text()


def test_truth_clusters_like_the_observed(model_run):
    s = pd.read_csv(model_run / "out" / "clusters.tsv", sep="\t").set_index("source").loc["truth"]
    assert s.ari_mean > 0.3 and s.p_permutation <= 0.05 and s.p_value < 0.05


@pytest.mark.parametrize("shuffle", [False, True])
def test_truth_as_predictions_without_a_model(tiny_world, tmp_path, shuffle):
    truth = pd.read_csv(tiny_world / "truth" / "gene_expression.tsv", sep="\t")
    if shuffle:  # which gene is which: the null
        truth["gene_id"] = np.random.default_rng(3).permutation(truth.gene_id.to_numpy())
    truth.to_csv(tmp_path / "predicted.tsv", sep="\t", index=False)
    cfg = _config(tmp_path, predicted=tmp_path / "predicted.tsv", gtf=tiny_world / "genome" / "genes.gtf",
                  observed_targets=tiny_world / "tracks" / "targets.txt", **SMALL)
    assert main(ec.ANALYSIS, ["--config", str(cfg), "--out", str(tmp_path / "out")]) == 0
    s = pd.read_csv(tmp_path / "out" / "clusters.tsv", sep="\t").iloc[0]
    if shuffle:
        assert abs(s.ari_mean) < 0.15 and s.p_permutation > 0.05
    else:
        assert s.ari_mean > 0.3 and s.p_permutation <= 0.05


def test_demo_uses_the_demo_model(tiny_world, world_model, tmp_path):
    with pytest.raises(FileNotFoundError, match="make demo"):
        ec.demo(tiny_world, tmp_path / "inputs")
    (tmp_path / "w").symlink_to(tiny_world)
    (tmp_path / "model" / "run").mkdir(parents=True)
    (tmp_path / "model" / "run" / "model").symlink_to(world_model)
    cfg = ec.demo(tmp_path / "w", tmp_path / "inputs")
    execute(ec.ANALYSIS, from_dict(ec.Config, {**vars(cfg), "n_bootstrap": 4, "n_permutations": 2}), tmp_path / "out")
    s = pd.read_csv(tmp_path / "out" / "clusters.tsv", sep="\t")
    n_genes = len(pd.read_csv(tiny_world / "truth" / "gene_expression.tsv", sep="\t"))
    assert s.source.tolist() == ["model", "truth"] and (s.sample_size == n_genes).all()


@pytest.mark.parametrize("change, names", [
    ({"observed_target": "x.txt"}, "'observed_target'"),
    ({"truth": "absent.tsv"}, "absent.tsv"),
    ({"predicted": None, "model": "no_model_here", "fasta": "{world}/genome/genome.fa"}, "no_model_here"),
    ({"observed": "{world}/truth/gene_expression.tsv"}, "exactly one of observed"),
])
def test_bad_config_fails_before_any_work(tiny_world, tmp_path, caplog, change, names):
    values = {"predicted": f"{tiny_world}/truth/gene_expression.tsv", "gtf": f"{tiny_world}/genome/genes.gtf",
              "observed_targets": f"{tiny_world}/tracks/targets.txt"}
    values.update({k: v.format(world=tiny_world) for k, v in change.items() if v is not None})
    values = {k: v for k, v in values.items() if change.get(k, "") is not None}
    cfg = _config(tmp_path, **values)
    with caplog.at_level(logging.ERROR):
        assert main(ec.ANALYSIS, ["--config", str(cfg), "--out", str(tmp_path / "out")]) == 2
    assert names in caplog.text and not (tmp_path / "out").exists()


def test_example_config_parses_strictly():
    path = Path(ec.__file__).parent / "configs" / "expression_clusters.json"
    cfg = from_dict(ec.Config, json.loads(path.read_text()), where=str(path))
    assert cfg.model and cfg.observed and cfg.n_genes == 2000

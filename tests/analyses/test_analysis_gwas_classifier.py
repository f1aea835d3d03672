"""The GWAS-catalog classifier: from a model end to end with external features, the truth's planted
signal, permuted labels, the demo, and configs that fail before any work."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses import gwas_classifier as gc
from analyses.framework import main
from genocore.config import from_dict
from _analysis_configs import write_config


def _config(tmp_path, name="config.json", **values):
    return write_config(tmp_path, name, **values)


@pytest.fixture(scope="module")
def model_run(tiny_world, world_model, world_truth_scores, tmp_path_factory):
    """The random model's LOG2MAX features, the truth's |SAD| as the ceiling and MAF as external features."""
    tmp = tmp_path_factory.mktemp("classifier")
    cat = pd.read_csv(tiny_world / "catalog" / "gwas_catalog_snps.tsv", sep="\t")
    cat[["snp", "maf"]].to_csv(tmp / "maf.tsv", sep="\t", index=False)
    cfg = _config(tmp, labels=tiny_world / "catalog" / "gwas_catalog_snps.tsv", model=world_model,
                  fasta=tiny_world / "genome" / "genome.fa", truth_scores=world_truth_scores, external=tmp / "maf.tsv",
                  external_name="maf", n_permutations=19, scores_out=tmp / "scores" / "gwas_sad.h5")
    assert main(gc.ANALYSIS, ["--config", str(cfg), "--out", str(tmp / "out")]) == 0
    return tmp


def test_runs_end_to_end_from_model_scores(model_run):
    out = model_run / "out"
    auroc = pd.read_csv(out / "auroc.tsv", sep="\t").set_index("name")
    assert auroc.index.tolist() == ["model", "model+maf", "truth", "truth+maf", "maf"]
    assert (auroc.n_pos == 40).all() and (auroc.n_neg == 120).all() and auroc.auc.between(0, 1).all()
    assert auroc.loc["model", "n_features"] == 12 and auroc.loc["model+maf", "n_features"] == 13
    assert (auroc.n_permutations == 19).all()
    pairs = pd.read_csv(out / "pairs.tsv", sep="\t")
    assert len(pairs) == 10 and set(pairs.kind) == {"permutation"}
    scores = pd.read_csv(out / "scores.tsv", sep="\t")
    assert len(scores) == 160 and scores.model.between(0, 1).all()
    assert (out / "roc.png").read_bytes()[:4] == b"\x89PNG" and "| truth |" in (out / "report.md").read_text()
    prov = json.loads((out / "provenance.json").read_text())
    assert {"labels", "fasta", "truth_scores", "external"} <= set(prov["inputs"])
    assert len(json.loads((out / "model_scores_provenance.json").read_text())["model_sha256"]) == 64


def test_truth_features_classify_the_catalog(model_run):
    auroc = pd.read_csv(model_run / "out" / "auroc.tsv", sep="\t").set_index("name")
    assert auroc.loc["truth", "auc"] > 0.75 and auroc.loc["truth", "p_permutation"] <= 0.05
    assert auroc.loc["truth+maf", "auc"] > 0.75
    assert abs(auroc.loc["maf", "auc"] - 0.5) < 0.15  # negatives are MAF-matched


def test_permuted_labels_find_nothing(tiny_world, world_truth_scores, tmp_path):
    cat = pd.read_csv(tiny_world / "catalog" / "gwas_catalog_snps.tsv", sep="\t")
    rng = np.random.default_rng(1)
    for _, rows in cat.groupby("chrom"):
        cat.loc[rows.index, "label"] = rng.permutation(rows.label.to_numpy())
    cat.to_csv(tmp_path / "permuted.tsv", sep="\t", index=False)
    cfg = _config(tmp_path, labels=tmp_path / "permuted.tsv", scores=world_truth_scores, stat="SAD",
                  n_permutations=19)
    assert main(gc.ANALYSIS, ["--config", str(cfg), "--out", str(tmp_path / "out")]) == 0
    auroc = pd.read_csv(tmp_path / "out" / "auroc.tsv", sep="\t").iloc[0]
    assert abs(auroc.auc - 0.5) < 0.15 and auroc.p_permutation > 0.05


def test_demo_scores_into_its_folder_and_reuses_them(model_run, tiny_world, world_model, tmp_path):
    with pytest.raises(FileNotFoundError, match="make demo"):
        gc.demo(tiny_world, tmp_path / "scores")
    (tmp_path / "w").symlink_to(tiny_world)
    (tmp_path / "model" / "run").mkdir(parents=True)
    (tmp_path / "model" / "run" / "model").symlink_to(world_model)
    (tmp_path / "scores").mkdir()
    (tmp_path / "scores" / "gwas_catalog_sad.h5").write_bytes((model_run / "scores" / "gwas_sad.h5").read_bytes())
    assert main(gc.ANALYSIS, ["--demo", "--world", str(tmp_path / "w"), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "scores" / "gwas_catalog_truth_sad.h5").exists()
    auroc = pd.read_csv(tmp_path / "out" / "auroc.tsv", sep="\t").set_index("name")
    first = pd.read_csv(model_run / "out" / "auroc.tsv", sep="\t").set_index("name")
    assert auroc.index.tolist() == ["model", "truth"]
    assert auroc.loc["model", "auc"] == pytest.approx(first.loc["model", "auc"])


@pytest.mark.parametrize("change, names", [
    ({"label": "x.tsv"}, "'label'"),
    ({"external": "absent.tsv"}, "absent.tsv"),
    ({"scores": None, "model": "no_model_here", "fasta": "{world}/genome/genome.fa"}, "no_model_here"),
    ({"model": "{world}"}, "exactly one of scores"),
])
def test_bad_config_fails_before_any_work(tiny_world, world_truth_scores, tmp_path, caplog, change, names):
    values = {"labels": f"{tiny_world}/catalog/gwas_catalog_snps.tsv", "scores": str(world_truth_scores),
              "stat": "SAD"}
    values.update({k: v.format(world=tiny_world) for k, v in change.items() if v is not None})
    values = {k: v for k, v in values.items() if change.get(k, "") is not None}
    cfg = _config(tmp_path, **values)
    with caplog.at_level(logging.ERROR):
        assert main(gc.ANALYSIS, ["--config", str(cfg), "--out", str(tmp_path / "out")]) == 2
    assert names in caplog.text and not (tmp_path / "out").exists()


def test_example_config_parses_strictly():
    path = Path(gc.__file__).parent / "configs" / "gwas_classifier.json"
    cfg = from_dict(gc.Config, json.loads(path.read_text()), where=str(path))
    assert cfg.scores and cfg.stat == "LOG2MAX" and cfg.external

"""The de novo case-control analysis: from a model end to end, the truth's planted signal, a world without
one, the demo, and configs that fail before any work."""
from __future__ import annotations

import json
import logging

import pandas as pd
import pytest

from analyses import autism_denovo as ad
from analyses.framework import main
from genocore.config import from_dict
from _analysis_configs import write_config

RISK = "DNASE:brain_neuron"


def _config(tmp_path, name="config.json", **values):
    return write_config(tmp_path, name, **values)


@pytest.fixture(scope="module")
def model_run(tiny_world, world_model, tmp_path_factory):
    """The analysis of the random model's scores, with the planted effects as the ceiling."""
    tmp = tmp_path_factory.mktemp("autism")
    cfg = _config(tmp, variants=tiny_world / "denovo" / "denovo_variants.tsv", model=world_model,
                  fasta=tiny_world / "genome" / "genome.fa",
                  truth_scores=tiny_world / "truth" / "denovo_effects.tsv.gz", risk_dataset=RISK,
                  scores_out=tmp / "scores" / "denovo_sad.h5")
    assert main(ad.ANALYSIS, ["--config", str(cfg), "--out", str(tmp / "out")]) == 0
    return tmp


def test_runs_end_to_end_from_model_scores(model_run, tiny_world):
    out = model_run / "out"
    summary = pd.read_csv(out / "summary.tsv", sep="\t")
    datasets = pd.read_csv(out / "datasets.tsv", sep="\t")
    n_targets = len(pd.read_csv(tiny_world / "tracks" / "targets.txt", sep="\t"))
    n_variants = len(pd.read_csv(tiny_world / "denovo" / "denovo_variants.tsv", sep="\t"))
    assert summary.source.tolist() == ["model", "truth"] and (summary.n_variants == n_variants).all()
    assert len(datasets) == 2 * n_targets and datasets.in_group.sum() == 2 * 4
    assert datasets.p.between(0, 1).all() and summary.risk_dataset.eq(RISK).all()
    for png in ("volcano_model.png", "volcano_truth.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    assert "| model |" in (out / "report.md").read_text()
    prov = json.loads((out / "provenance.json").read_text())
    assert {"variants", "fasta", "truth_scores"} <= set(prov["inputs"])
    assert all(len(v["sha256"]) == 64 for v in prov["inputs"].values())
    scored = json.loads((out / "model_scores_provenance.json").read_text())
    assert len(scored["model_sha256"]) == 64 and (model_run / "scores" / "denovo_sad.h5").exists()


def test_truth_recovers_the_planted_brain_signal(model_run):
    datasets = pd.read_csv(model_run / "out" / "datasets.tsv", sep="\t")
    truth = datasets[datasets.source == "truth"]
    brain = truth[truth.in_group]
    assert (brain.effect < 0).all() and (brain.p_less < 0.05).all()
    s = pd.read_csv(model_run / "out" / "summary.tsv", sep="\t").set_index("source").loc["truth"]
    assert s.group_p < 0.05 and s.share_case_worse > 0.5 and s.family_p < 0.05


def test_world_without_enrichment_finds_nothing(tmp_path):
    """Without case enrichment: no dataset with BH q < 0.1, and neither the first-PC nor the family test
    at p < 0.05. The brain-versus-other group p is not asserted: it ranks twelve p-values of datasets
    that are near-copies of each other (the two brain DNase tracks correlate 0.98), so one null world
    is one draw of a statistic whose false-positive rate is well above its nominal level: over 30 tiny
    null worlds (seeds 100-129, truth as scores) it fell below 0.05 in 9, the family p in 1."""
    from analyses.world import build_world, world_config

    world = tmp_path / "null_world"
    build_world(world, seed=7, cfg=world_config("tiny", {"denovo_case_enrichment": 1.0}))
    cfg = _config(tmp_path, variants=world / "denovo" / "denovo_variants.tsv",
                  scores=world / "truth" / "denovo_effects.tsv.gz", risk_dataset=RISK)
    assert main(ad.ANALYSIS, ["--config", str(cfg), "--out", str(tmp_path / "out")]) == 0
    s = pd.read_csv(tmp_path / "out" / "summary.tsv", sep="\t").iloc[0]
    assert s.pc1_p > 0.05 and s.family_p > 0.05
    assert (pd.read_csv(tmp_path / "out" / "datasets.tsv", sep="\t").fdr >= 0.1).all()


def test_demo_scores_into_its_folder_and_reuses_them(model_run, tiny_world, world_model, tmp_path):
    with pytest.raises(FileNotFoundError, match="make demo"):
        ad.demo(tiny_world, tmp_path / "scores")
    (tmp_path / "w").symlink_to(tiny_world)
    (tmp_path / "model" / "run").mkdir(parents=True)
    (tmp_path / "model" / "run" / "model").symlink_to(world_model)
    (tmp_path / "scores").mkdir()
    (tmp_path / "scores" / "denovo_sad.h5").write_bytes((model_run / "scores" / "denovo_sad.h5").read_bytes())
    assert main(ad.ANALYSIS, ["--demo", "--world", str(tmp_path / "w"), "--out", str(tmp_path / "out")]) == 0
    cfg = json.loads((tmp_path / "out" / "provenance.json").read_text())["config"]
    assert cfg["scores"] == str(tmp_path / "scores" / "denovo_sad.h5") and cfg["risk_dataset"] == RISK
    demo = pd.read_csv(tmp_path / "out" / "summary.tsv", sep="\t")
    pd.testing.assert_frame_equal(demo, pd.read_csv(model_run / "out" / "summary.tsv", sep="\t"))


@pytest.mark.parametrize("change, names", [
    ({"variant": "x.tsv"}, "'variant'"),
    ({"truth_scores": "absent.tsv.gz"}, "absent.tsv.gz"),
    ({"scores": None, "model": "no_model_here", "fasta": "{world}/genome/genome.fa"}, "no_model_here"),
    ({"model": "{world}"}, "exactly one of scores"),
])
def test_bad_config_fails_before_any_work(tiny_world, tmp_path, caplog, change, names):
    values = {"variants": f"{tiny_world}/denovo/denovo_variants.tsv",
              "scores": f"{tiny_world}/truth/denovo_effects.tsv.gz"}
    values.update({k: v.format(world=tiny_world) for k, v in change.items() if v is not None})
    values = {k: v for k, v in values.items() if change.get(k, "") is not None}
    cfg = _config(tmp_path, **values)
    with caplog.at_level(logging.ERROR):
        assert main(ad.ANALYSIS, ["--config", str(cfg), "--out", str(tmp_path / "out")]) == 2
    assert names in caplog.text and not (tmp_path / "out").exists()


def test_example_config_parses_strictly():
    from pathlib import Path

    path = Path(ad.__file__).parent / "configs" / "autism_denovo.json"
    cfg = from_dict(ad.Config, json.loads(path.read_text()), where=str(path))
    assert cfg.model and cfg.group == "brain"

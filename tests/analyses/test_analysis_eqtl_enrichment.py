"""The eQTL enrichment analysis (Basenji 2018, Fig. 5) on the tiny world, through its command line.

The random model's scores check that the files flow; the planted truth given as scores must find the
planted SED signal, and the truth with its SED shuffled across pairs must not.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses import eqtl_enrichment as ee
from genocore.config import from_dict
from genocore.files import sha256
from _analysis_configs import run_config

CONFIGS = Path(__file__).parents[2] / "analyses" / "configs"


def _config(world: Path, **values) -> dict:
    tissues = json.loads((world / "truth.json").read_text())["eqtl"]
    cfg = {"eqtl": [str(world / "eqtl" / f"{t}.allpairs.txt.gz") for t in tissues],
           "targets": {t: f"CAGE:{info['cell_type']}" for t, info in tissues.items()},
           "bfile_chr": str(world / "genotypes" / "ref_panel.chr{chrom}"),
           "ld_blocks": str(world / "genotypes" / "ldblocks.bed"), "build": "simworld1",
           "gtf": str(world / "genome" / "genes.gtf"), "shuffles": 9, "n_boot": 50, "seed": 1, "all_shuffled": True}
    return {**cfg, **values}


def _run(tmp: Path, cfg: dict, analysis=ee.ANALYSIS) -> tuple[int, Path]:
    return run_config(analysis, tmp, cfg)


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> Path:
    """A record folder whose training windows cover chr1 (chr2 held out), as the demo trains."""
    folder = tmp_path_factory.mktemp("records")
    (folder / "sequences.bed").write_text("chr1\t0\t500000\ttrain\nchr2\t0\t500000\ttest\n")
    return folder


@pytest.fixture(scope="module")
def model_run(tiny_world, world_model_scores, world_truth_scores, records, tmp_path_factory):
    cfg = _config(tiny_world, scores=str(world_model_scores), truth_scores=str(world_truth_scores),
                  data=str(records))
    rc, out = _run(tmp_path_factory.mktemp("eqtl"), cfg)
    assert rc == 0
    return out, pd.read_csv(out / "results.tsv", sep="\t")


def test_end_to_end_with_model_scores(model_run, tiny_world, world_model_scores, world_truth_scores):
    out, res = model_run
    tissues = list(json.loads((tiny_world / "truth.json").read_text())["eqtl"])
    assert sorted(p.name for p in out.iterdir()) == ["model_scores_provenance.json", "panel.png", "provenance.json",
                                                     "quantiles.tsv", "report.md", "results.tsv", "summary.tsv"]
    assert len(res) == len(tissues) * 2 * 3 and set(res.split) == {"all", "train", "heldout"}
    assert set(res.source) == {"model", "truth"} and set(res.tissue) == set(tissues)
    assert (res.groupby(["source", "split"]).size() == len(tissues)).all()
    for col in ("ld_tss_coef", "ld_tss_p_cluster_pos", "p_shuffle", "shuffles_p05", "enrichment", "enrichment_lo",
                "enrichment_hi", "ld_coef", "ld_p_cluster_pos"):
        assert res[col].notna().all(), col
    assert (res.n_shuffles == 9).all() and res.p_shuffle.between(0.1, 1).all()
    assert set(res.target) == {f"CAGE_{i['cell_type']}" for i in
                               json.loads((tiny_world / "truth.json").read_text())["eqtl"].values()}
    # the splits partition the pairs: train + heldout = all, before pruning
    s = pd.read_csv(out / "summary.tsv", sep="\t").set_index(["tissue", "source", "split"])
    for t in tissues:
        assert s.loc[(t, "model", "train"), "pairs"] + s.loc[(t, "model", "heldout"), "pairs"] == \
            s.loc[(t, "model", "all"), "pairs"]
    assert len(pd.read_csv(out / "quantiles.tsv", sep="\t")) == 5 * len(res)
    assert (out / "panel.png").read_bytes()[:4] == b"\x89PNG"
    report = (out / "report.md").read_text()
    assert "Basenji 2018" in report and "![" in report and "heldout" in report
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["inputs"]["scores"]["sha256"] == sha256(world_model_scores)
    assert prov["inputs"]["truth_scores"]["sha256"] == sha256(world_truth_scores)
    assert {f"eqtl_{t}" for t in tissues} <= set(prov["inputs"]) and prov["config"]["shuffles"] == 9
    assert prov["inputs"]["bfile_chr:ref_panel.chr1.bed"]["sha256"] == sha256(
        tiny_world / "genotypes" / "ref_panel.chr1.bed")  # the panel's files are hashed too
    assert prov["inputs"]["data:sequences.bed"]["sha256"]


def test_truth_recovers_the_planted_sed(model_run):
    """The planted truth: |SED-LD| positive with a small one-sided cluster p in every tissue, enriched,
    beyond most of its shuffles; on the held-out chromosome too."""
    _, res = model_run
    truth = res[res.source == "truth"].set_index(["split", "tissue"])
    for t, row in truth.loc["all"].iterrows():
        assert row.ld_tss_coef > 0 and row.ld_tss_p_cluster_pos < 0.05 and row.ld_coef > 0, t
        assert row.enrichment > 1.3 and row.enrichment_lo > 1, t
        assert row.p_shuffle <= 0.2, t
    assert (truth.loc["all", "p_shuffle"] == 0.1).sum() >= 2
    assert (truth.loc["heldout", "ld_tss_p_cluster_pos"] < 0.05).all()


def _shuffled_sed(truth, world, path, *, seed: int) -> Path:
    """The truth's sad.h5 with SED over every tested SNP-gene pair (0 where nothing was planted) shuffled
    across those pairs. Shuffling only the planted pairs would not be a null: which pairs carry a
    planted effect (SNPs in the gene's regulatory elements) is itself informative."""
    from genocore.scores import read_sad_h5, write_sad_h5
    from stats.io.gtex import read_eqtl_table

    s = read_sad_h5(truth)
    keys = ["chrom", "pos", "ref", "alt"]
    tested = pd.concat([read_eqtl_table(p)[["gene_id", *keys]] for p in sorted((world / "eqtl").glob("*.txt.gz"))])
    tested = tested.drop_duplicates().merge(s.variants.reset_index(names="variant"), on=keys)
    sed_cols = [f"SED_{t}" for t in s.target_ids]
    pairs = tested.merge(s.sed[["gene_id", *keys, *sed_cols]], on=["gene_id", *keys], how="left").fillna(
        {c: 0.0 for c in sed_cols})
    assert len(pairs) > 3 * len(s.sed) and (pairs[sed_cols] != 0).any(axis=1).sum() > 0.9 * len(s.sed)
    order = np.random.default_rng(seed).permutation(len(pairs))
    pairs = pairs.assign(n_tss_bins=1)[["variant", "gene_id", "n_tss_bins"]].join(
        pd.DataFrame(pairs[sed_cols].to_numpy()[order], columns=sed_cols))
    return write_sad_h5(path, s.variants, s.stats, target_ids=s.target_ids, target_labels=s.target_labels,
                        sed=pairs, dtype=np.float32)


def test_null_world_finds_nothing(tiny_world, world_truth_scores, tmp_path):
    """The truth with its SED shuffled across the tested pairs (every target alike): no tissue significant."""
    shuffled = _shuffled_sed(world_truth_scores, tiny_world, tmp_path / "shuffled.h5", seed=4)
    rc, out = _run(tmp_path, _config(tiny_world, scores=str(shuffled), n_boot=0))
    assert rc == 0
    res = pd.read_csv(out / "results.tsv", sep="\t")
    assert set(res.source) == {"model"} and set(res.split) == {"all"}
    # one fixed draw of the shuffle (deterministic); the calibration over many draws is benchmarked apart
    assert (res.ld_tss_p_cluster_pos > 0.05).all() and (res.p_shuffle > 0.1).all()


def _refused(tmp_path, cfg, caplog) -> str:
    def boom(*args, **kwargs):
        raise AssertionError("the analysis ran")

    caplog.clear()
    with caplog.at_level(logging.ERROR):
        rc, out = _run(tmp_path, cfg, dataclasses.replace(ee.ANALYSIS, run=boom))
    assert rc == 2 and not out.exists()
    return caplog.text


def test_bad_config_fails_before_any_work(tiny_world, tmp_path, caplog):
    good = _config(tiny_world, scores=str(tmp_path / "x.h5"))
    assert "x.h5" in _refused(tmp_path / "a", good, caplog)  # a missing file, named
    assert "shufles" in _refused(tmp_path / "b", {**good, "shufles": 3}, caplog)  # an unknown key, named
    assert "shuffles" in caplog.text  # with the right one suggested
    assert "targets" in _refused(tmp_path / "c", {**good, "targets": {"Liver": "CAGE:x"}}, caplog)
    del good["scores"]
    assert "scores" in _refused(tmp_path / "d", good, caplog)


def test_example_config_keys():
    values = json.loads((CONFIGS / "eqtl_enrichment.json").read_text())
    cfg = from_dict(ee.Config, values, where="eqtl_enrichment.json")  # strict keys; paths unchecked
    assert set(values) <= {f.name for f in dataclasses.fields(ee.Config)} and cfg.build == "hg38"
    assert len(cfg.eqtl) == len(cfg.targets) >= 2


def test_demo_needs_the_demo_model(tiny_world, world_model, world_model_scores, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "w").symlink_to(tiny_world)
    with pytest.raises(FileNotFoundError, match="make demo"):
        ee.demo(tmp_path / "a" / "w", tmp_path / "a" / "inputs")
    # with the model where the demo trains it, and its scores already made (reused, not recomputed)
    (tmp_path / "b" / "model" / "run").mkdir(parents=True)
    (tmp_path / "b" / "w").symlink_to(tiny_world)
    (tmp_path / "b" / "model" / "run" / "model").symlink_to(world_model)
    (tmp_path / "b" / "scores").mkdir()
    (tmp_path / "b" / "scores" / "world_sad.h5").write_bytes(Path(world_model_scores).read_bytes())
    cfg = ee.demo(tmp_path / "b" / "w", tmp_path / "b" / "scores")
    assert Path(cfg.scores) == tmp_path / "b" / "scores" / "world_sad.h5" and Path(cfg.truth_scores).exists()
    assert cfg.data is None and cfg.targets["Liver"] == "CAGE:other_hepatocyte"


def test_model_is_scored_on_the_world(tiny_world, world_model, world_model_scores, tmp_path, monkeypatch):
    """With `model` and `world` the run scores the world's SNPs with the model (SED included) in a
    temporary folder, then reads them like a scores file (the scoring is stood in for by the fixture's file)."""
    import shutil

    from analyses import scoring

    calls = []

    def fake_scoring(model, world, path, **kw):
        calls.append((Path(model), Path(world), kw))
        return shutil.copyfile(world_model_scores, path)

    monkeypatch.setattr(scoring, "model_sad_h5", fake_scoring)
    cfg = {**_config(tiny_world, model=str(world_model), shuffles=0, n_boot=0), "world": str(tiny_world)}
    cfg["eqtl"] = cfg["eqtl"][:1]
    rc, out = _run(tmp_path, cfg)
    assert rc == 0 and calls == [(world_model, tiny_world, {"gtf": True})]
    res = pd.read_csv(out / "results.tsv", sep="\t")
    assert len(res) == 1 and res.source.tolist() == ["model"] and np.isnan(res.p_shuffle.iloc[0])


def test_gtex_tables_without_a_flag_and_the_command_line_agree(tiny_world, world_truth_scores, tmp_path):
    """A table without a significance column (as GTEx allpairs come) runs with ``significant`` set from a q
    threshold, a kb LD window and other pruning; ``genostats covreg`` with the same options gives the same
    numbers (every option of the run reaches both front ends)."""
    from stats import cli as stats_cli

    tissue = "Liver"
    table = pd.read_csv(tiny_world / "eqtl" / f"{tissue}.allpairs.txt.gz", sep="\t").drop(columns="significant")
    path = tmp_path / f"{tissue}.allpairs.txt.gz"
    table.to_csv(path, sep="\t", index=False)
    target = json.loads((tiny_world / "truth.json").read_text())["eqtl"][tissue]["cell_type"]
    options = {"significant": "bh_q<=0.05", "ld_wind_kb": 300, "prune_r2": 0.2, "prune_window_kb": 200,
               "shuffles": 0, "n_boot": 0, "all_shuffled": False}
    rc, out = _run(tmp_path / "a", _config(tiny_world, eqtl=[str(path)], targets={tissue: f"CAGE:{target}"},
                                           scores=str(world_truth_scores), **options))
    assert rc == 0
    assert stats_cli.main(["covreg", "--eqtl", str(path), "--bfile-chr", str(tiny_world / "genotypes" / "ref_panel.chr{chrom}"),
                           "--ld-blocks", str(tiny_world / "genotypes" / "ldblocks.bed"), "--build", "simworld1",
                           "--gtf", str(tiny_world / "genome" / "genes.gtf"), "--sed", str(world_truth_scores),
                           "--sed-target", f"CAGE_{target}", "--significant-q", "0.05", "--ld-wind-kb", "300",
                           "--prune-r2", "0.2", "--prune-window-kb", "200", "--n-boot", "0", "--seed", "1",
                           "--out", str(tmp_path / "cli")]) == 0
    ana = pd.read_csv(out / "results.tsv", sep="\t").iloc[0]
    cli = pd.read_csv(tmp_path / "cli" / "covreg.tsv", sep="\t").iloc[0]
    assert ana.n_significant > 0 and ana.n_significant < ana.n
    for col in ("n", "n_significant", "ld_coef", "ld_tss_coef", "ld_tss_p_cluster_pos", "enrichment"):
        assert ana[col] == cli[col], col


@pytest.mark.integration
def test_the_analysis_killed_during_its_shuffles_resumes_to_the_same_tables(tiny_world, world_truth_scores, tmp_path):
    """``python -m analyses.eqtl_enrichment`` SIGKILLed after a seeded number of batches of shuffles, then
    run with --resume: every table equals an uninterrupted run's; the parts folder goes with the output."""
    from _kill import kill_after

    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(_config(tiny_world, scores=str(world_truth_scores), shuffles=99, n_boot=20,
                                      all_shuffled=False)))
    out = tmp_path / "killed"
    parts = Path(str(out) + ".parts")
    k = int(np.random.default_rng(6).integers(2, 9))
    n_done = kill_after("eqtl_enrichment", ["--config", cfg, "--out", out],
                        lambda: len(list(parts.glob("*/*.done"))), k)
    assert k <= n_done < 12 and not out.exists()
    from analyses.framework import main

    assert main(ee.ANALYSIS, ["--config", str(cfg), "--out", str(out), "--resume"]) == 0 and not parts.exists()
    assert main(ee.ANALYSIS, ["--config", str(cfg), "--out", str(tmp_path / "whole")]) == 0
    for name in ("results.tsv", "summary.tsv", "quantiles.tsv"):
        assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name

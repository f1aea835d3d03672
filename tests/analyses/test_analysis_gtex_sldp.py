"""The SLDP analysis (Basenji2, Fig. 4) on the tiny world, through its command line.

The random model's scores check that the files flow; the planted truth given as scores must find the
planted track on the directional trait and nothing on the null trait, and the truth with its SAD shuffled
across SNPs must find nothing. The world's own LD blocks are three per chromosome, too few chunks for
the sign-flip test (its smallest p is 2 / 2^6), so the tests cut the 2 x 500 kb genome into 25-kb blocks.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses import gtex_sldp as gs
from genocore.config import from_dict
from genocore.files import sha256
from _analysis_configs import run_config

CONFIGS = Path(__file__).parents[2] / "analyses" / "configs"
TRAITS = ("directional", "null")


def _read(path) -> pd.DataFrame:
    # "null" is a trait name here, not a missing value
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values={"z": ["nan"], "q": ["nan"]})


@pytest.fixture(scope="module")
def blocks(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("blocks") / "blocks_25kb.bed"
    path.write_text("chr\tstart\tstop\n" + "".join(f"chr{c}\t{s}\t{s + 25_000}\n" for c in (1, 2)
                                                   for s in range(0, 500_000, 25_000)))
    return path


def _config(world: Path, blocks: Path, **values) -> dict:
    cfg = {"sumstats": [str(world / "gwas" / f"{t}.sumstats.gz") for t in TRAITS],
           "bfile_chr": str(world / "genotypes" / "ref_panel.chr{chrom}"), "ld_blocks": str(blocks),
           "build": "simworld1", "gtf": str(world / "genome" / "genes.gtf"), "seed": 1}
    return {**cfg, **values}


def _run(tmp: Path, cfg: dict, analysis=gs.ANALYSIS) -> tuple[int, Path]:
    return run_config(analysis, tmp, cfg)


@pytest.fixture(scope="module")
def model_run(tiny_world, world_model_scores, world_truth_scores, blocks, tmp_path_factory):
    records = tmp_path_factory.mktemp("records")
    (records / "sequences.bed").write_text("chr1\t0\t500000\ttrain\nchr2\t0\t500000\ttest\n")
    cfg = _config(tiny_world, blocks, scores=str(world_model_scores), truth_scores=str(world_truth_scores),
                  data=str(records))
    rc, out = _run(tmp_path_factory.mktemp("sldp"), cfg)
    assert rc == 0
    return out, _read(out / "results.tsv")


def test_end_to_end_with_model_scores(model_run, tiny_world, world_model_scores, world_truth_scores):
    out, res = model_run
    n_targets = len(pd.read_csv(tiny_world / "tracks" / "targets.txt", sep="\t"))
    assert sorted(p.name for p in out.iterdir()) == ["background.tsv", "heatmap.png", "model_scores_provenance.json",
                                                     "provenance.json", "report.md", "results.tsv"]
    assert list(res.columns) == list(gs.RESULT_COLUMNS)
    assert len(res) == 2 * n_targets * 2 * 3 and set(res.trait) == set(TRAITS)
    assert set(res.source) == {"model", "truth"} and set(res.split) == {"all", "train", "heldout"}
    assert res[["z", "p", "q", "mu", "se"]].notna().all().all() and (res.q >= res.p - 1e-12).all()
    assert res.label.str.contains(":").all()  # the targets' labels (ASSAY:cell_type) beside their ids
    bg = pd.read_csv(out / "background.tsv", sep="\t").background_annotation.tolist()
    assert sum(b.startswith("MAF_") for b in bg) == 5 and {"exon", "intron"} <= set(bg)
    assert (out / "heatmap.png").read_bytes()[:4] == b"\x89PNG"
    report = (out / "report.md").read_text()
    assert "Basenji2" in report and "![" in report and "MAF_" in report
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["inputs"]["scores"]["sha256"] == sha256(world_model_scores)
    assert prov["inputs"]["truth_scores"]["sha256"] == sha256(world_truth_scores)
    assert {"sumstats_0", "sumstats_1", "ld_blocks", "gtf", "bfile_chr:ref_panel.chr2.bim"} <= set(prov["inputs"])


def test_truth_finds_the_planted_tracks(model_run, tiny_world):
    """The planted (immune) tracks' annotations: all positive, the two largest z on the directional trait, the
    strongest significant after BH; nothing on the null trait. (The tiny world's trait, spread over four
    tracks, leaves the two CAGE ones at p 0.07-0.10, level with an `other` DNase track; the demo world's
    report shows all four on top.)"""
    _, res = model_run
    planted = json.loads((tiny_world / "truth.json").read_text())["gwas"]["directional"]["planted_annotations"]
    truth = res[(res.source == "truth") & (res.split == "all")]
    d = truth[truth.trait == "directional"].set_index("label")
    rows = d.loc[planted]
    assert (rows.z > 0).all() and (rows.mu > 0).all() and rows.p.min() < 0.01 and rows.q.min() < 0.05
    assert set(d.z.nlargest(2).index) <= set(planted)
    assert not (truth[truth.trait == "null"].q < 0.05).any()
    null = truth[truth.trait == "null"].set_index("label").loc[planted]
    assert (null.z.abs() < rows.z.min()).all()


def test_null_world_finds_nothing(tiny_world, world_truth_scores, blocks, tmp_path):
    """The truth with its SAD rows shuffled across SNPs: nothing on either trait; conditioning on the
    truth's leading principal components puts them in the background."""
    from genocore.scores import read_sad_h5, write_sad_h5

    s = read_sad_h5(world_truth_scores, stats=["SAD"], dtype=np.float64)
    order = np.random.default_rng(2).permutation(len(s.variants))
    shuffled = write_sad_h5(tmp_path / "shuffled.h5", s.variants, {"SAD": s.stats["SAD"][order]},
                            target_ids=s.target_ids, target_labels=s.target_labels, dtype=np.float32)
    rc, out = _run(tmp_path, _config(tiny_world, blocks, scores=str(shuffled), condition_on=str(world_truth_scores),
                                     n_pcs=2, maf_bins=0, gtf=None))
    assert rc == 0
    res = _read(out / "results.tsv")
    assert set(res.source) == {"model"} and len(res) == 2 * len(s.target_ids)
    assert not (res.q < 0.05).any()
    assert pd.read_csv(out / "background.tsv", sep="\t").background_annotation.tolist() == ["PC1", "PC2"]


def test_command_line_chain_gives_the_analysis_numbers(tiny_world, world_truth_scores, blocks, tmp_path):
    """The analysis and the commands a user would chain by hand (genostats ldscore per chromosome, sannot,
    sldp) on the same inputs give the same numbers: every option of the run reaches the command line."""
    from stats.cli import main as genostats

    rc, out = _run(tmp_path / "a", _config(tiny_world, blocks, scores=str(world_truth_scores), maf_bins=0, gtf=None))
    assert rc == 0
    panel = str(tiny_world / "genotypes" / "ref_panel.chr{chrom}")
    for c in ("1", "2"):
        assert genostats(["ldscore", "--bfile", panel.replace("{chrom}", c), "--ld-wind-cm", "1",
                          "--out", str(tmp_path / "ld" / c)]) == 0
    assert genostats(["sannot", "--scores", str(world_truth_scores), "--bfile-chr", panel,
                      "--out", str(tmp_path / "annot" / "truth.")]) == 0
    gw = tmp_path / "cli.gwresults"
    assert genostats(["sldp", "--bfile-chr", panel, "--ld-blocks", str(blocks), "--sumstats",
                      *(str(tiny_world / "gwas" / f"{t}.sumstats.gz") for t in TRAITS),
                      "--sannot-chr", str(tmp_path / "annot" / "truth."), "--ldscores-chr",
                      str(tmp_path / "ld" / "{chrom}"), "--build", "simworld1", "--seed", "1", "--out", str(gw)]) == 0
    cli = _read(gw).rename(columns={"pheno": "trait", "se(mu)": "se"})
    cli["annotation"] = cli["annot"].str.replace(r"\.R$", "", regex=True)
    ana = _read(out / "results.tsv")
    merged = ana.merge(cli, on=["trait", "annotation"], suffixes=("", "_cli"), validate="one_to_one")
    assert len(merged) == len(ana) == len(cli) == 2 * len(read_target_ids(world_truth_scores))
    for col in ("z", "p", "mu", "se", "h2g"):  # results.tsv holds 6 significant digits
        rounded = [float(f"{v:.6g}") for v in merged[f"{col}_cli"]]
        assert merged[col].tolist() == rounded, col


def read_target_ids(path) -> list:
    from genocore.scores import read_sad_h5

    return list(read_sad_h5(path, stats=["SAD"]).target_ids)


def _refused(tmp_path, cfg, caplog) -> str:
    def boom(*args, **kwargs):
        raise AssertionError("the analysis ran")

    caplog.clear()
    with caplog.at_level(logging.ERROR):
        rc, out = _run(tmp_path, cfg, dataclasses.replace(gs.ANALYSIS, run=boom))
    assert rc == 2 and not out.exists()
    return caplog.text


def test_bad_config_fails_before_any_work(tiny_world, blocks, tmp_path, caplog):
    good = _config(tiny_world, blocks, scores=str(tmp_path / "x.h5"))
    assert "x.h5" in _refused(tmp_path / "a", good, caplog)  # a missing file, named
    assert "maf_bin" in _refused(tmp_path / "b", {**good, "maf_bin": 3}, caplog)  # an unknown key, named
    assert "maf_bins" in caplog.text  # with the right one suggested
    assert "n_pcs" in _refused(tmp_path / "c", {**good, "n_pcs": 0}, caplog)
    assert "model" in _refused(tmp_path / "d", {**good, "model": str(tmp_path)}, caplog)  # scores and model


def test_missing_panel_fails_before_scoring(tiny_world, blocks, world_truth_scores, tmp_path, caplog):
    """Folders and templates are checked at the start of the run, naming them."""
    cfg = _config(tiny_world, blocks, scores=str(world_truth_scores), bfile_chr=str(tmp_path / "none.{chrom}"))
    with caplog.at_level(logging.ERROR):
        rc, out = _run(tmp_path / "a", cfg)
    assert rc == 2 and not out.exists() and "none." in caplog.text
    cfg = _config(tiny_world, blocks, scores=str(world_truth_scores), data=str(tmp_path / "records"))
    with caplog.at_level(logging.ERROR):
        rc, out = _run(tmp_path / "b", cfg)
    assert rc == 2 and not out.exists() and "data" in caplog.text


def test_example_config_keys():
    values = json.loads((CONFIGS / "gtex_sldp.json").read_text())
    cfg = from_dict(gs.Config, values, where="gtex_sldp.json")  # strict keys; paths unchecked
    assert set(values) <= {f.name for f in dataclasses.fields(gs.Config)} and cfg.build == "hg19"
    assert len(cfg.sumstats) >= 2 and cfg.condition_on is not None


def test_demo_needs_the_demo_model(tiny_world, tmp_path):
    (tmp_path / "w").symlink_to(tiny_world)
    with pytest.raises(FileNotFoundError, match="make demo"):
        gs.demo(tmp_path / "w", tmp_path / "inputs")

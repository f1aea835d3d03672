"""The fine-mapped locus analysis (Basenji 2018 Fig. 6) on the tiny world: end to end with a random model,
the planted truth as the ceiling, and configs that fail before any work."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses import ms_locus
from analyses.framework import main

EXAMPLE = Path(__file__).resolve().parents[2] / "analyses" / "configs" / "ms_locus.json"


def _config(world: Path, model: Path, truth: Path, tmp: Path, **extra) -> Path:
    fm = json.loads((world / "truth.json").read_text())["finemap"]
    cfg = {"sumstats": str(world / "finemap" / "locus.sumstats.tsv"),
           "panel": str(world / "genotypes" / f"ref_panel.{fm['chrom']}.bed"), "model": str(model),
           "fasta": str(world / "genome" / "genome.fa"), "gtf": str(world / "genome" / "genes.gtf"),
           "motifs": str(world / "genome" / "motifs.meme"), "truth_scores": str(truth),
           "truth_reference": str(ms_locus.world_tss_reference(world, tmp / "truth_tss_signal.tsv")),
           "causal_snp": fm["causal_snp"], "causal_motif": fm["motif"], **extra}
    path = tmp / "ms_locus.json"
    path.write_text(json.dumps(cfg))
    return path


@pytest.fixture(scope="module")
def finished(tiny_world, world_model, world_truth_scores, tmp_path_factory):
    """One run through the command line with the random model; (exit status, output folder, config)."""
    tmp = tmp_path_factory.mktemp("ms_locus")
    cfg = _config(tiny_world, world_model, world_truth_scores, tmp)
    out = tmp / "out"
    return main(ms_locus.ANALYSIS, ["--config", str(cfg), "--out", str(out)]), out, json.loads(cfg.read_text())


def test_runs_end_to_end_with_provenance(finished):
    rc, out, cfg = finished
    assert rc == 0
    for png in ("pics.png", "sed.png", "ism_ref.png", "ism_alt.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    prov = json.loads((out / "provenance.json").read_text())
    keys = ("sumstats", "panel", "fasta", "gtf", "motifs", "truth_scores", "truth_reference")
    assert set(prov["inputs"]) == set(keys) and all(len(prov["inputs"][k]["sha256"]) == 64 for k in keys)
    assert prov["config"]["causal_snp"] == cfg["causal_snp"]
    table = pd.read_csv(out / "credible_set.tsv", sep="\t")
    assert {"pics_prob", "max_abs_sed", "rank", "n_flags", "truth_max_abs_sed", "truth_rank"} <= set(table.columns)
    assert cfg["causal_snp"] in set(table.snp) and table.pics_prob.between(0, 1).all()
    pairs = pd.read_csv(out / "sed_pairs.tsv", sep="\t")
    assert pairs.target.str.startswith("CAGE").all()
    scored = pairs.dropna(subset=["sed"])
    assert len(scored) and (scored.flag == (scored.sed.abs() / scored.ref_signal > 0.1)).all()
    matches = pd.read_csv(out / "motif_matches.tsv", sep="\t")
    # every map's windows rank all the world's 9 motifs (8 TFs and CORE)
    assert set(matches["map"]) == {"alt", "ref", "alt_minus_ref"} and matches["rank"].max() == 9
    details = json.loads((out / "details.json").read_text())
    assert np.array(details["ism"]["alt"]).shape == (50, 4) and len(details["model_weights_sha256"]) == 64
    assert cfg["causal_snp"] in (out / "report.md").read_text()


def test_given_the_truth_the_causal_snp_ranks_first(finished):
    _, out, cfg = finished
    table = pd.read_csv(out / "credible_set.tsv", sep="\t").set_index("snp")
    assert table.loc[cfg["causal_snp"], "truth_rank"] == 1
    assert (table.truth_rank == 1).sum() == 1 and table.truth_max_abs_sed.idxmax() == cfg["causal_snp"]


def test_matcher_names_the_planted_tf_in_the_truths_mutagenesis(tiny_world):
    """No model: saturation mutagenesis of the world's noiseless accessibility (the generative function,
    which scores the sequence with every TF's PWM) around the causal SNP's ALT allele."""
    from analyses.world import generative_model
    from genomodel import dna
    from genomodel import synthetic as syn
    from genomodel.attribution import motifs as mm

    fm = json.loads((tiny_world / "truth.json").read_text())["finemap"]
    genome = generative_model(tiny_world)
    snps = pd.read_csv(tiny_world / "truth" / "snp_track_effects.tsv.gz", sep="\t", usecols=["snp", "pos", "alt"])
    c = snps[snps.snp == fm["causal_snp"]].iloc[0]
    flank, width = 300, 50
    maps = {}
    for allele in ("ref", "alt"):
        win = genome.sequences[fm["chrom"]][int(c.pos) - 1 - flank:int(c.pos) + flank].copy()
        if allele == "alt":
            win[flank] = dna.encode(c.alt)[0]
        total = np.logaddexp(0, syn.landscape(genome, win).pre).sum()
        v = np.zeros((width, 4))
        for i in range(width):
            for b in set(range(4)) - {int(win[flank - width // 2 + i])}:
                m = win.copy()
                m[flank - width // 2 + i] = b
                v[i, b] = np.logaddexp(0, syn.landscape(genome, m).pre).sum() - total
        maps[allele] = mm.match_motifs(mm.ism_contributions(v), mm.read_motif_database(
            tiny_world / "genome" / "motifs.meme"), width=20, contains=width // 2).set_index("motif")
    alt = maps["alt"]
    # first, and clear of every motif that was not planted there (the cooperative partner sits beside it)
    unrelated = alt.drop(index=[fm["motif"], fm["partner_motif"]])
    assert alt.index[0] == fm["motif"] and alt.score.iloc[0] > unrelated.score.max() + 0.2
    hit = alt.loc[fm["motif"]]
    assert hit.offset <= width // 2 < hit.offset + hit.overlap  # the created site covers the SNP
    assert maps["ref"].loc[fm["motif"], "score"] < alt.loc[fm["motif"], "score"]


def test_tss_focus_mutates_a_chosen_snp_for_its_top_gene(finished, tiny_world, world_model, world_truth_scores,
                                                         tmp_path):
    first = pd.read_csv(finished[1] / "credible_set.tsv", sep="\t")
    snp = first.dropna(subset=["sed_gene"]).snp.iloc[-1]
    cfg = _config(tiny_world, world_model, world_truth_scores, tmp_path, ism_focus="tss", ism_snp=snp, ism_width=20,
                  motif_width=10, motif_windows=1, motif_top=3, truth_scores=None, truth_reference=None)
    assert main(ms_locus.ANALYSIS, ["--config", str(cfg), "--out", str(tmp_path / "out")]) == 0
    ism = json.loads((tmp_path / "out" / "details.json").read_text())["ism"]
    table = pd.read_csv(tmp_path / "out" / "credible_set.tsv", sep="\t").set_index("snp")
    assert ism["snp"] == snp and ism["gene"] == table.loc[snp, "sed_gene"] and "truth_rank" not in table.columns
    assert len(pd.read_csv(tmp_path / "out" / "motif_matches.tsv", sep="\t")) == 3 * 3  # maps x motif_top


def _never(cfg, progress):
    raise AssertionError("the analysis ran")


@pytest.mark.parametrize("change, message", [({"ism_widht": 40}, "ism_widht"),
                                             ({"motifs": "absent.meme"}, "absent.meme"),
                                             ({"model": "no_model_here"}, "no_model_here"),
                                             ({"ism_focus": "gene"}, "ism_focus")])
def test_bad_config_fails_before_any_work(tiny_world, world_model, world_truth_scores, tmp_path, caplog,
                                          change, message):
    cfg = _config(tiny_world, world_model, world_truth_scores, tmp_path)
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), **change}))
    never = dataclasses.replace(ms_locus.ANALYSIS, run=_never)
    assert main(never, ["--config", str(cfg), "--out", str(tmp_path / "out")]) == 2
    assert message in caplog.text and not (tmp_path / "out").exists()


def test_example_config_keys_parse_strictly():
    values = json.loads(EXAMPLE.read_text())
    fields = {f.name: f for f in dataclasses.fields(ms_locus.Config)}
    assert set(values) <= set(fields)
    assert {n for n, f in fields.items() if f.default is dataclasses.MISSING} <= set(values)
    from analyses.framework import load_config

    with pytest.raises(FileNotFoundError):  # the keys parse; the placeholder paths do not exist here
        load_config(ms_locus.Config, EXAMPLE)


def test_demo_without_a_trained_model_says_how_to_get_one(tiny_world, tmp_path):
    with pytest.raises(FileNotFoundError, match="make demo"):
        ms_locus.demo(tiny_world, tmp_path / "inputs")

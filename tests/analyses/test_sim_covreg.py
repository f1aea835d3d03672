"""The covariate-regression analysis on the tiny world, through its command line."""
from __future__ import annotations

import json

import pandas as pd

from analyses import sim_covreg


def test_cli_on_tiny_world(tiny_world, tmp_path):
    out = tmp_path / "covreg"
    assert sim_covreg.main(["--world", str(tiny_world), "--out", str(out), "--n-boot", "50", "--seed", "3",
                            "--shuffles", "9", "--scale", "abs"]) == 0
    assert not list(out.glob("*_sqrt*"))
    tissues = list(json.loads((tiny_world / "truth.json").read_text())["eqtl"])
    summary = pd.read_csv(out / "covreg_summary.tsv", sep="\t")
    assert len(summary) == len(tissues) * 3 * 2  # tissue x (true, shuffled, shuffled_in_gene) x (pair, snp)
    assert set(summary["annotation"]) == {"true", "shuffled", "shuffled_in_gene"} and set(summary["unit"]) == {"pair", "snp"}
    for col in ("ld_coef", "ld_t", "ld_p", "ld_tss_coef", "ld_tss_t", "ld_tss_p", "enrichment", "enrichment_lo",
                "enrichment_hi"):
        assert summary[col].notna().all(), col
    q = pd.read_csv(out / "covreg_quantiles.tsv", sep="\t")
    assert len(q) == len(summary) * 5
    rec = json.loads((out / "summary.json").read_text())
    assert rec["r2_max"] == 0.5 and len(rec["rows"]) == len(summary) and rec["n_shuffles"] == 9
    # the permutation p of |SED-LD|: on the grid k / 10, smallest for the true SED per pair in most tissues
    assert (summary["n_shuffles"] == 9).all() and summary["p_shuffle"].between(0.1, 1).all()
    true_pair = summary[(summary.annotation == "true") & (summary.unit == "pair")]
    assert (true_pair["p_shuffle"] == 0.1).sum() >= len(tissues) - 1
    for t in tissues:
        assert (out / f"covreg_{t}.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "covreg_panel.png").stat().st_size > 1000
    # the true SED beats its shuffled control in every tissue
    s = summary[summary.unit == "pair"].set_index(["tissue", "annotation"])
    for t in tissues:
        assert s.loc[(t, "true"), "ld_tss_t"] > 5 > abs(s.loc[(t, "shuffled"), "ld_tss_t"])


def test_cli_both_scales(tiny_world, tmp_path):
    """The default runs |SED-LD| and sqrt(|SED-LD|), same controls (one seed), files apart."""
    out = tmp_path / "both"
    assert sim_covreg.main(["--world", str(tiny_world), "--out", str(out), "--n-boot", "0", "--shuffles", "0"]) == 0
    a = pd.read_csv(out / "covreg_summary.tsv", sep="\t")
    b = pd.read_csv(out / "covreg_summary_sqrt.tsv", sep="\t")
    assert set(a["scale"]) == {"abs"} and set(b["scale"]) == {"sqrt"} and len(a) == len(b)
    assert (a[["tissue", "annotation", "unit", "n"]].to_numpy() == b[["tissue", "annotation", "unit", "n"]].to_numpy()).all()
    assert json.loads((out / "summary_sqrt.json").read_text())["scale"] == "sqrt"
    for name in ("covreg_panel.png", "covreg_panel_sqrt.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"

"""The eQTL enrichment pipeline: its options, the regression of many tables, and the composition of the stages."""
from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from stats.eqtl.pipeline import EnrichmentOptions, eqtl_enrichment, regress_tables
from stats.eqtl.regression import shuffle_t, table_regression
from stats.eqtl.sed_ld import match_sed_to_panel
from stats.eqtl.shuffles import shuffle_test
from stats.eqtl.tables import RegressionTables, annotation_tables, snp_blocks


def test_options_are_checked():
    o = EnrichmentOptions(unit=["pair", "snp"], controls=["shuffled"])
    assert o.units == ("pair", "snp") and o.controls == ("shuffled",) and o.needs_rng
    assert EnrichmentOptions(unit="snp").units == ("snp",) and not EnrichmentOptions(n_boot=0).needs_rng
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.n_boot = 5
    for kw, msg in ((dict(unit="gene"), "unit must be"), (dict(unit=()), "unit must be"),
                    (dict(controls=["flipped"]), "unknown control"), (dict(cluster="chrom"), "cluster must be"),
                    (dict(scale="log"), "scale must be"), (dict(n_shuffles=-1), "n_shuffles must be"),
                    (dict(shuffle_batch=0), "shuffle_batch >= 1")):
        with pytest.raises(ValueError, match=msg):
            EnrichmentOptions(**kw)


def test_eqtl_enrichment_checks_before_reading(tiny_world):
    kw = dict(bfile_chr=tiny_world, ld_blocks=tiny_world, build="simworld1", tss=None, sed=pd.DataFrame())
    with pytest.raises(ValueError, match="rng"):
        eqtl_enrichment({"x": pd.DataFrame()}, n_boot=0, n_shuffles=5, **kw)
    with pytest.raises(ValueError, match="scale must be one of"):
        eqtl_enrichment({"x": pd.DataFrame()}, options=EnrichmentOptions(n_boot=0), scale="log", **kw)
    with pytest.raises(ValueError, match="no eQTL tables"):
        eqtl_enrichment({}, n_boot=0, **kw)
    with pytest.raises(TypeError):
        eqtl_enrichment({"x": pd.DataFrame()}, n_boot=0, no_such_option=1, **kw)


def test_regress_tables(covreg_table):
    """Every table regressed in order with the shared rng; summary rows, quantiles and the permutation test."""
    rng = np.random.default_rng(0)
    tables = {("A", "SED", "pair"): covreg_table(rng), ("A", "shuffled", "pair"): covreg_table(rng, effect=0.0),
              ("B", "SED", "pair"): covreg_table(rng, n=300)}
    maker = RegressionTables(pd.DataFrame({"SNP": [], "L2": []}), None, pd.Series(dtype=np.int64), cluster="gene")
    null_t = {("A", "pair"): np.array([0.5, -1.0, 2.0]), ("B", "pair"): np.array([9.0, 1.0, 0.0])}
    opts = EnrichmentOptions(n_boot=15, scale="sqrt", n_quantiles=4, n_bottom=2, ci=0.9)
    res = regress_tables(tables, regression_tables=maker, options=opts, rng=np.random.default_rng(3), null_t=null_t,
                         pruning=pd.DataFrame({"tissue": ["A", "B"]}))
    assert list(res.results) == list(tables) and res.null_t == null_t and res.pruning["tissue"].tolist() == ["A", "B"]
    rng = np.random.default_rng(3)
    for k, ((tissue, label, u), t) in enumerate(tables.items()):
        g = t["gene_id"].to_numpy()
        want = table_regression(t, groups=g, cluster="gene", tissue=tissue, scale="sqrt", n_boot=15, rng=rng,
                                n_quantiles=4, n_bottom=2, ci=0.9)
        got = res.result(tissue, label, u)
        pd.testing.assert_frame_equal(got.coefficients, want.coefficients)
        np.testing.assert_array_equal(got.bootstrap, want.bootstrap)
        row = res.summary.iloc[k]
        assert (row["annotation"], row["unit"], row["scale"], row["cluster"]) == (label, u, "sqrt", "gene")
        extra = shuffle_test(want, shuffle_t(t, g, scale="sqrt"), null_t[(tissue, u)])
        assert row[list(extra)].to_dict() == pytest.approx(extra)
    assert len(res.quantiles) == 3 * 4 and list(res.quantiles.columns[:3]) == ["tissue", "annotation", "unit"]
    with pytest.raises(KeyError, match="2 results match"):
        res.result("A")
    plain = regress_tables(tables, regression_tables=maker, options=dataclasses.replace(opts, n_boot=0))
    assert "p_shuffle" not in plain.summary.columns and plain.null_t == {}


def test_eqtl_enrichment_composes_the_stages(world_info, world_pairs, world_covariates):
    """One tissue of the tiny world: the pipeline's tables and summary are those of its stages."""
    from stats.io.ldblocks import read_ldblocks

    tissue = world_pairs["tissue"]
    sed = world_info["seds"][tissue].rename(columns={"SED": "score"})
    calls = []
    res = eqtl_enrichment({tissue: world_info["eqtl"][tissue]}, bfile_chr=world_info["panel"],
                          ld_blocks=world_info["blocks"], build="simworld1", tss=world_info["gtf"], sed=sed,
                          lengths=world_info["lengths"], options=EnrichmentOptions(unit=("pair", "snp"), n_boot=0),
                          sed_column="score", annotation="true", cluster="block",
                          progress=lambda *a: calls.append(a))
    assert calls == [(1, 1, "tissues"), (1, 2, "regressions"), (2, 2, "regressions")]
    assert res.pruning.to_dict(orient="records") == world_pairs["pruning"]
    blocks = read_ldblocks(world_info["blocks"])
    maker = RegressionTables(*world_covariates, snp_blocks(world_pairs["bim"], blocks), units=("pair", "snp"),
                             cluster="block")
    want = annotation_tables(world_pairs["kept"], {"true": match_sed_to_panel(sed, world_pairs["bim"], value="score")}, tables=maker,
                             panel=world_info["panel"], blocks=blocks, build="simworld1", lengths=world_info["lengths"])
    assert list(res.tables) == [(tissue, "true", "pair"), (tissue, "true", "snp")]
    for (label, u), t in want.items():
        pd.testing.assert_frame_equal(res.tables[(tissue, label, u)], t)
    again = regress_tables(res.tables, regression_tables=maker,
                           options=EnrichmentOptions(unit=("pair", "snp"), n_boot=0, cluster="block"))
    pd.testing.assert_frame_equal(again.summary, res.summary)
    assert (res.summary["cluster"] == "block").all() and (res.summary["ld_tss_coef"] > 0).all()


def test_eqtl_enrichment_parses_the_panel_once(world_info, monkeypatch):
    """Every stage shares one panel: a run (all stages: both units, TSS, cis LD scores, controls, shuffles) parses
    each .bim and .fam of the panel exactly once, whether it is given as a path or as an open ReferencePanel."""
    from stats.io import plink
    from stats.io.panel import ReferencePanel

    counts = Counter()
    for name, k in (("read_bim", 1), ("read_fam", 2)):
        def counted(prefix, _read=getattr(plink, name), _k=k):
            counts[str(plink.bfile_paths(prefix)[_k])] += 1
            return _read(prefix)
        monkeypatch.setattr(plink, name, counted)
    tissue = world_info["tissues"][0]
    template = str(world_info["panel"])
    kw = dict(ld_blocks=world_info["blocks"], build="simworld1", tss=world_info["gtf"], sed=world_info["seds"][tissue],
              lengths=world_info["lengths"], unit=("pair", "snp"), controls=("shuffled", "shuffled_in_gene"),
              cis_ld_covariate=True, n_shuffles=2, shuffle_batch=1, n_boot=0)
    files = {str(plink.bfile_paths(template.format(chrom=c))[k]) for c in ("1", "2") for k in (1, 2)}
    res = eqtl_enrichment({tissue: world_info["eqtl"][tissue]}, bfile_chr=template, rng=np.random.default_rng(1), **kw)
    assert dict(counts) == dict.fromkeys(files, 1)
    counts.clear()
    panel = ReferencePanel(template)
    again = eqtl_enrichment({tissue: world_info["eqtl"][tissue]}, bfile_chr=panel, rng=np.random.default_rng(1), **kw)
    assert dict(counts) == dict(panel.parse_counts) == dict.fromkeys(files, 1)
    pd.testing.assert_frame_equal(again.summary, res.summary)
    assert len(res.summary) == 3 * 2 and (res.summary["n_shuffles"] == 2).all()

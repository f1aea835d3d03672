"""Shared inputs of the eQTL covariate-regression tests: synthetic regression data and the tiny world's SED."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest


def synthetic_covreg(rng: np.random.Generator, n: int = 400, effect: float = 0.5):
    """chi2 = 1 + 0.02 L2 + 0.1 TSS_0 + effect |s| + chi2_1 noise; the top 20% of chi2 are significant.

    Returns chi2, L2, SED-LD, TSS LD scores (n, 4) and the significance flags.
    """
    l2 = rng.gamma(3, 10, n)
    tss = rng.random((n, 4)) * 5
    s = rng.normal(size=n)
    chi2 = 1 + 0.02 * l2 + 0.1 * tss[:, 0] + effect * np.abs(s) + rng.chisquare(1, n)
    sig = chi2 > np.quantile(chi2, 0.8)
    return chi2, l2, s, tss, sig


@pytest.fixture
def covreg_data():
    """:func:`synthetic_covreg`, for tests to call with their own generator."""
    return synthetic_covreg


def synthetic_table(rng: np.random.Generator, n: int = 400, effect: float = 0.5, n_genes: int = 40) -> pd.DataFrame:
    """A regression table (``SNP, gene_id, chi2, significant, SED_LD, L2, TSS_*``) of synthetic pairs."""
    chi2, l2, s, tss, sig = synthetic_covreg(rng, n=n, effect=effect)
    t = pd.DataFrame({"SNP": [f"rs{i}" for i in range(n)], "gene_id": [f"g{i % n_genes}" for i in range(n)],
                      "chi2": chi2, "significant": sig, "SED_LD": s, "L2": l2})
    for k in range(4):
        t[f"TSS_{k}"] = tss[:, k]
    return t


@pytest.fixture
def covreg_table():
    """:func:`synthetic_table`, for tests to call with their own generator."""
    return synthetic_table


@pytest.fixture(scope="session")
def world_info(tiny_world) -> dict:
    """The tiny world's panel (opened once), blocks, build, chromosome lengths and each tissue's true SED table.

    ``seds``: per tissue, the SED table as ``genomodel sed`` gives one (``chrom, pos, ref, alt, gene_id, SED``);
    ``effects``: every cell type's true SED with the panel ids and alleles as given (``SNP``, ``A1`` = alt,
    ``A2`` = ref), the layout :func:`stats.eqtl.sed_ld.sed_ld` reads.
    """
    from stats.io.panel import ReferencePanel

    w = tiny_world
    truth = json.loads((w / "truth.json").read_text())
    eff = pd.read_csv(w / "truth" / "snp_gene_effects.tsv.gz", sep="\t")
    al = pd.read_csv(w / "truth" / "snp_track_effects.tsv.gz", sep="\t", usecols=["snp", "chrom", "pos", "ref", "alt"],
                     dtype={"chrom": str})
    eff = eff.merge(al, on="snp")
    seds = {t: eff[["chrom", "pos", "ref", "alt", "gene_id", i["cell_type"]]].rename(columns={i["cell_type"]: "SED"})
            for t, i in truth["eqtl"].items()}
    effects = eff.drop(columns=["chrom", "pos"]).rename(columns={"snp": "SNP", "alt": "A1", "ref": "A2"})
    return {"panel": ReferencePanel(w / "genotypes" / "ref_panel.chr{chrom}"),
            "blocks": w / "genotypes" / "ldblocks.bed", "build": "simworld1", "lengths": truth["chromosomes"], "tissues": list(truth["eqtl"]), "seds": seds,
            "eqtl": {t: w / "eqtl" / f"{t}.allpairs.txt.gz" for t in truth["eqtl"]}, "gtf": w / "genome" / "genes.gtf",
            "effects": effects}


@pytest.fixture(scope="session")
def world_pairs(world_info) -> dict:
    """One tissue of the tiny world matched to the panel and LD-pruned (:func:`stats.eqtl.pairs.pruned_eqtl_pairs`)."""
    from stats.eqtl.pairs import pruned_eqtl_pairs
    from stats.io.ldblocks import read_ldblocks

    tissue = world_info["tissues"][0]
    tested, kept, pruning = pruned_eqtl_pairs({tissue: world_info["eqtl"][tissue]}, world_info["panel"])
    return {"tissue": tissue, "bim": world_info["panel"].allele_table(), "blocks": read_ldblocks(world_info["blocks"]),
            "tested": tested[tissue], "kept": kept[tissue], "pruning": pruning}


@pytest.fixture(scope="session")
def world_sed(world_info, world_pairs) -> pd.DataFrame:
    """The true SED of :func:`world_pairs`' tissue matched to the panel
    (:func:`stats.eqtl.sed_ld.match_sed_to_panel`)."""
    from stats.eqtl.sed_ld import match_sed_to_panel

    return match_sed_to_panel(world_info["seds"][world_pairs["tissue"]], world_pairs["bim"])


@pytest.fixture(scope="session")
def world_covariates(world_info, world_pairs) -> tuple:
    """LD scores and per-SNP / per-pair TSS LD scores of :func:`world_pairs` (both units)."""
    from stats.eqtl.covariates import ld_score_covariates
    from stats.eqtl.tss import read_tss

    return ld_score_covariates(world_info["panel"], {world_pairs["tissue"]: world_pairs["tested"]},
                               tss=read_tss(world_info["gtf"]), units=("pair", "snp"))

"""Regression tables of the eQTL covariate regression, and the clusters of their rows.

A regression table has one row per unit of one tissue and annotation: per SNP-gene pair (``pair``) or
per SNP (``snp``, the SNP's pairs aggregated, :func:`aggregate_to_snps`). Its columns:

* ``SNP`` (and ``gene_id`` per pair), ``chi2``, ``significant`` (:func:`stats.eqtl.pairs.eqtl_pairs`);
* ``SED_LD`` (:func:`stats.eqtl.sed_ld.sed_ld`; per SNP: the max |SED-LD| over its genes);
* ``L2`` and the ``TSS_*`` LD scores (:func:`stats.eqtl.covariates.ld_score_covariates`), optionally
  ``CIS_L2`` (:func:`stats.eqtl.covariates.add_cis_ld_scores`).

Rows are clustered for the cluster-robust p and the bootstrap (:data:`CLUSTERS`): ``gene`` (a pair's
gene; per SNP, which has no single gene, its LD block), ``block`` (the LD block of the SNP; SNPs in no
block each their own cluster) or ``none``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from stats.eqtl.sed_ld import sed_ld

#: Clusterings of the regression rows.
CLUSTERS = ("block", "gene", "none")
#: Regression units.
UNITS = ("pair", "snp")


def aggregate_to_snps(pairs: pd.DataFrame, *, snp: str = "SNP") -> pd.DataFrame:
    """Per-SNP rows from per-pair rows: max chi^2, any significant, max |SED-LD| over the SNP's genes.

    Parameters
    ----------
    pairs : DataFrame
        ``SNP, chi2, significant, SED_LD`` and optionally other SNP-level columns (first value kept).
    snp : str
        Column of the SNP ids.

    Returns
    -------
    DataFrame, one row per SNP (first-appearance order)
        A ``CIS_L2`` column (:func:`stats.eqtl.covariates.pair_cis_ld_scores`) is also the max over the
        SNP's genes; ``n_genes`` counts them.
    """
    p = pairs.assign(_abs=np.abs(pairs["SED_LD"].to_numpy(np.float64)))
    g = p.groupby(snp, sort=False)
    out = g.first()
    out["chi2"] = g["chi2"].max()
    out["significant"] = g["significant"].any()
    out["SED_LD"] = g["_abs"].max()
    if "CIS_L2" in p.columns:
        out["CIS_L2"] = g["CIS_L2"].max()
    out["n_genes"] = g.size()
    drop = [c for c in ("gene_id", "_abs") if c in out.columns]
    return out.drop(columns=drop).reset_index()


def snp_blocks(panel, blocks: pd.DataFrame) -> pd.Series:
    """LD block of each panel SNP: SNP id -> block row (-1 for none; first of duplicated ids).

    Parameters
    ----------
    panel : ReferencePanel or DataFrame
        The panel, or its allele table ``chrom, snp, pos`` (:func:`stats.eqtl.pairs.panel_alleles`).
    blocks : DataFrame
        LD blocks (:func:`stats.io.ldblocks.read_ldblocks`).

    Returns
    -------
    Series, int, indexed by SNP id
    """
    from stats.eqtl.pairs import panel_alleles
    from stats.io.ldblocks import assign_blocks

    bim = panel_alleles(panel)
    block_of = pd.Series(assign_blocks(blocks, bim["chrom"].to_numpy(), bim["pos"].to_numpy()),
                         index=bim["snp"].astype(str).to_numpy())
    return block_of[~block_of.index.duplicated()]


def snp_clusters(block_of: pd.Series, snps) -> np.ndarray:
    """LD block of each SNP (``block_of``: SNP id -> block row, -1 for none; :func:`snp_blocks`) as cluster
    labels; SNPs in no block (or absent) get a cluster of their own.

    Returns
    -------
    ndarray, object, shape (len(snps),)
        ``b<block>`` or ``s<SNP>``.
    """
    snps = pd.Series(np.asarray(snps, dtype=str))
    b = block_of.reindex(snps.to_numpy()).to_numpy()
    lab = np.array([f"b{int(v)}" if np.isfinite(v) and v >= 0 else f"s{x}" for v, x in zip(b, snps)], dtype=object)
    return lab


@dataclass(frozen=True, eq=False)
class RegressionTables:
    """The annotation-free parts of the regression tables, and how SED-LD at a tissue's pairs completes them.

    Attributes
    ----------
    snp_scores : DataFrame
        ``SNP, L2`` (+ per-SNP ``TSS_*``): :func:`stats.eqtl.covariates.ld_score_covariates`.
    pair_tss : DataFrame or None
        Per-pair ``SNP, gene_id, TSS_*`` (None: no per-pair TSS covariates).
    block_of : Series
        SNP id -> LD block row (:func:`snp_blocks`).
    units : tuple of {"pair", "snp"}
    cluster : {"block", "gene", "none"}
    """

    snp_scores: pd.DataFrame
    pair_tss: pd.DataFrame | None
    block_of: pd.Series
    units: tuple = ("pair",)
    cluster: str = "gene"

    def __post_init__(self):
        bad = [u for u in self.units if u not in UNITS]
        if bad or not self.units:
            raise ValueError(f"units must be among {UNITS}, got {self.units!r}")
        if self.cluster not in CLUSTERS:
            raise ValueError(f"cluster must be one of {CLUSTERS}, got {self.cluster!r}")

    def tables(self, pairs: pd.DataFrame, sed_ld) -> dict[str, pd.DataFrame]:
        """The regression table of each unit.

        Parameters
        ----------
        pairs : DataFrame
            A tissue's kept pairs ``SNP, gene_id, chi2, significant`` (optionally ``CIS_L2``).
        sed_ld : array_like, float, shape (len(pairs),)
            SED-LD at the pairs.

        Returns
        -------
        dict of unit -> DataFrame
            Rows without finite SED-LD or without LD scores dropped; ``pairs``' order kept.
        """
        t = pairs.assign(SED_LD=sed_ld).merge(self.snp_scores[["SNP", "L2"]], on="SNP", how="inner")
        if self.pair_tss is not None:
            t = t.merge(self.pair_tss, on=["SNP", "gene_id"], how="inner")
        t = t[np.isfinite(t["SED_LD"])].reset_index(drop=True)
        out = {}
        if "pair" in self.units:
            out["pair"] = t
        if "snp" in self.units:
            ts = aggregate_to_snps(t[["SNP", "gene_id", "chi2", "significant", "SED_LD", "L2"]
                                     + (["CIS_L2"] if "CIS_L2" in t.columns else [])])
            out["snp"] = ts.merge(self.snp_scores.drop(columns=["L2"]), on="SNP", how="inner")
        return out

    def groups(self, table: pd.DataFrame, unit: str) -> np.ndarray | None:
        """Cluster label of each row of a ``unit`` table (None for ``cluster="none"``)."""
        if self.cluster == "none":
            return None
        if self.cluster == "gene" and unit == "pair":
            return table["gene_id"].to_numpy()
        return snp_clusters(self.block_of, table["SNP"])


def annotation_tables(pairs: pd.DataFrame, annotations: Mapping[str, pd.DataFrame], *, tables: RegressionTables,
                      panel, blocks, build: str, lengths: dict | None = None) -> dict[tuple, pd.DataFrame]:
    """One tissue's regression tables for several SED annotations.

    Parameters
    ----------
    pairs : DataFrame
        The tissue's kept pairs (:func:`stats.eqtl.pairs.pruned_eqtl_pairs`).
    annotations : mapping of str -> DataFrame
        Label -> SED table matched to the panel (:func:`stats.eqtl.sed_ld.match_sed_to_panel`; column ``SED``).
    tables : RegressionTables
    panel, blocks, build, lengths
        As :func:`stats.eqtl.sed_ld.sed_ld`.

    Returns
    -------
    dict of (label, unit) -> DataFrame
        In annotation, then unit order.
    """
    out = {}
    for label, ann in annotations.items():
        s = sed_ld(panel, blocks, ann[ann["SED"] != 0], build=build, targets=pairs, lengths=lengths)
        for u, t in tables.tables(pairs, s).items():
            out[(label, u)] = t
    return out

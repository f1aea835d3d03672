"""SED tables matched to the reference panel, and their signed LD profiles (SED-LD) at eQTL variants or pairs.

A SED table, as ``genomodel sed`` / :func:`genocore.scores.read_sed` give it, holds ``chrom, pos, ref,
alt`` (1-based position), optionally ``gene_id``, and a value column: the predicted effect (SED score) of
``alt`` minus ``ref`` on the expression of the gene (per SNP-gene pair), or a per-SNP score. Other columns
(``snp``, ``n_tss_bins``, other targets) are ignored. :func:`match_sed_to_panel` attaches the panel's
SNPs by chromosome, position and alleles (:func:`stats.alleles.match_by_position`; never by ID alone) and
orients the value to the panel's A1. Its SED-LD is the signed LD profile ``R v = X^T X v / N`` of the scores
per LD block of the reference panel (:func:`stats.ld.signed_profile.signed_ld_profile`; LD between blocks
is ignored), gene by gene when the table has ``gene_id``.
"""
from __future__ import annotations

import logging
from typing import Mapping

import numpy as np
import pandas as pd

from stats.alleles import match_alleles, match_by_position

logger = logging.getLogger(__name__)

#: Columns a SED table must have (besides its value column); ``gene_id`` is optional.
SED_COLUMNS = ("chrom", "pos", "ref", "alt")


def check_sed(sed: pd.DataFrame, value: str = "SED", *, what: str = "SED table") -> pd.DataFrame:
    """A SED table checked and normalized: ``chrom, pos, ref, alt, [gene_id,] SED``.

    Parameters
    ----------
    sed : DataFrame
        ``chrom, pos`` (1-based), ``ref, alt``, optionally ``gene_id``, and ``<value>`` (alt minus ref);
        other columns are dropped.
    value : str
        Column of the SED scores (renamed ``SED``).
    what : str
        Name of the table in messages.

    Returns
    -------
    DataFrame
        ``chrom`` and ``gene_id`` as str, ``pos`` int64, ``SED`` float64; the input's rows in order.

    Raises
    ------
    ValueError
        A missing column (SED tables meet the panel by position and alleles, not by SNP ID), a position
        that is not an integer, or a value that is not a finite number (naming its row and variant).
    """
    missing = [c for c in (*SED_COLUMNS, value) if c not in sed.columns]
    if missing:
        raise ValueError(f"{what}: missing columns {missing} (have {list(sed.columns)}); a SED table gives chrom, "
                         f"pos (1-based), ref, alt, optionally gene_id, and the value (alt minus ref), as genomodel "
                         "sed writes it")
    cols = list(SED_COLUMNS) + (["gene_id"] if "gene_id" in sed.columns else []) + [value]
    out = sed[cols].rename(columns={value: "SED"}).reset_index(drop=True)
    out["chrom"] = out["chrom"].astype(str)
    pos = pd.to_numeric(out["pos"], errors="coerce").to_numpy(np.float64)
    if not (np.isfinite(pos) & (pos == np.round(pos))).all():
        i = int(np.flatnonzero(~(np.isfinite(pos) & (pos == np.round(pos))))[0])
        raise ValueError(f"{what}: row {i + 1} has pos = {sed['pos'].iat[i]!r}, not an integer position")
    out["pos"] = pos.astype(np.int64)
    if "gene_id" in out.columns:
        out["gene_id"] = out["gene_id"].astype(str)
    v = pd.to_numeric(out["SED"], errors="coerce").to_numpy(np.float64)
    if not np.isfinite(v).all():
        i = int(np.flatnonzero(~np.isfinite(v))[0])
        raise ValueError(f"{what}: row {i + 1} ({out['chrom'].iat[i]}:{out['pos'].iat[i]} {out['ref'].iat[i]}>"
                         f"{out['alt'].iat[i]}) has {value} = {sed[value].iat[i]!r}, not a finite number")
    out["SED"] = v
    return out


def match_sed_to_panel(sed: pd.DataFrame, panel, *, value: str = "SED", what: str = "SED table") -> pd.DataFrame:
    """A SED table matched to the reference panel by chromosome, position and alleles, in the panel's orientation.

    Parameters
    ----------
    sed : DataFrame
        ``chrom, pos, ref, alt, [gene_id,] <value>`` (:func:`check_sed`).
    panel : ReferencePanel or DataFrame
        The panel, or its allele table ``chrom, snp, pos, a1, a2`` (:func:`stats.eqtl.pairs.panel_alleles`).
    value : str
        Column of the SED scores (alt minus ref).
    what : str
        Name of the table in messages.

    Returns
    -------
    DataFrame
        ``SNP`` (panel id), ``[gene_id,]`` ``A1, A2`` (the panel's alleles), ``SED`` (float64, the effect of
        the panel's A1: ``allele_sign`` x alt minus ref) and ``allele_sign`` (int8, +1 when the panel's A1 is
        ``alt``, -1 when it is ``ref``), one row per matched input row in input order
        (:func:`stats.alleles.match_by_position`: strand flips resolved; strand-ambiguous, mismatched and
        unmatched variants dropped and logged).

    Raises
    ------
    ValueError
        A table :func:`check_sed` rejects, no row matching the panel, or a SNP (SNP-gene pair) given twice.
    """
    from stats.eqtl.pairs import panel_alleles

    s = check_sed(sed, value, what=what)
    m = match_by_position(s, panel_alleles(panel), a1="alt", a2="ref", signed=["SED"], what=what)
    keys = ["SNP"] + (["gene_id"] if "gene_id" in s.columns else [])
    out = m[keys].assign(A1=m["panel_a1"].to_numpy(), A2=m["panel_a2"].to_numpy(),
                         SED=m["SED"].to_numpy(np.float64), allele_sign=m["allele_sign"].to_numpy(np.int8))
    out["SNP"] = out["SNP"].astype(str)
    dup = out.duplicated(keys, keep=False)
    if dup.any():
        ex = out.loc[dup, keys].iloc[0].tolist()
        raise ValueError(f"{what}: {int(dup.sum())} rows name the same panel SNP" + ("-gene pair" if len(keys) > 1
                         else "") + f" (e.g. {ex}); give each variant" + (" and gene" if len(keys) > 1 else "") +
                         " once")
    return out


def sed_tables(sed, tissues, *, panel, value: str = "SED") -> dict[str, pd.DataFrame]:
    """Each tissue's SED table matched to the panel (:func:`match_sed_to_panel`).

    Parameters
    ----------
    sed : DataFrame or mapping of str -> DataFrame
        One SED table for all tissues, or one per tissue (:func:`check_sed` layout).
    tissues : iterable of str
    panel : ReferencePanel or DataFrame
        The panel, or its allele table (:func:`stats.eqtl.pairs.panel_alleles`).
    value : str
        Column of the SED scores.

    Returns
    -------
    dict of str -> DataFrame
        In the order of ``tissues`` (one shared table is matched once); :func:`match_sed_to_panel` layout.

    Raises
    ------
    ValueError
        A tissue without a SED table in the mapping, or a table :func:`match_sed_to_panel` rejects; every
        table is checked (:func:`check_sed`) before any is matched.
    """
    from stats.eqtl.pairs import panel_alleles

    tissues = list(tissues)
    if isinstance(sed, Mapping):
        absent = [t for t in tissues if t not in sed]
        if absent:
            raise ValueError(f"sed: no SED table for tissue(s) {absent}")
        tables = {t: (sed[t], f"SED table of {t}") for t in tissues}
    else:
        tables = {t: (sed, "SED table") for t in tissues}
    for t, (table, what) in tables.items():
        check_sed(table, value, what=what)
    alleles = panel_alleles(panel)
    done = {}  # one shared table is matched once
    for t, (table, what) in tables.items():
        if id(table) not in done:
            done[id(table)] = match_sed_to_panel(table, alleles, value=value, what=what)
    return {t: done[id(table)] for t, (table, _) in tables.items()}


def _sed_input(sed: pd.DataFrame, targets: pd.DataFrame, value: str) -> tuple[pd.DataFrame, bool]:
    """``sed`` reduced to its columns with string ids, and whether it is per gene; checks (see :func:`sed_ld`)."""
    per_gene = "gene_id" in sed.columns
    need = ["SNP", "A1", "A2", value] + (["gene_id"] if per_gene else [])
    missing = [c for c in need if c not in sed.columns]
    if missing:
        raise ValueError(f"SED table: missing columns {missing}")
    if "SNP" not in targets.columns or (per_gene and "gene_id" not in targets.columns):
        raise ValueError("targets need SNP" + (" and gene_id" if per_gene else ""))
    sed = sed[need].copy()
    sed["SNP"] = sed["SNP"].astype(str)
    if per_gene:
        sed["gene_id"] = sed["gene_id"].astype(str)
    if sed.duplicated(["SNP"] + (["gene_id"] if per_gene else [])).any():
        raise ValueError("SED table: a SNP" + ("-gene pair" if per_gene else "") + " is given twice")
    return sed, per_gene


def _block_sed_ld(blk, ids: np.ndarray, rows: np.ndarray, sed: pd.DataFrame, sed_by_snp: dict, *, value: str,
                  per_gene: bool):
    """One LD block's profile: ``(R v)`` at the block's rows ``rows`` (shape (len(rows), n_genes)), the gene
    of each column, and how many SED rows were aligned to / dropped against the panel's alleles."""
    from stats.ld.signed_profile import signed_ld_profile

    hit = [sed_by_snp[s] for s in ids if s in sed_by_snp]
    sub = sed.iloc[np.concatenate(hit)] if hit else sed.iloc[:0]
    col = pd.Index(ids).get_indexer(sub["SNP"].to_numpy())
    am = match_alleles(sub["A1"].to_numpy(), sub["A2"].to_numpy(), blk.snps["a1"].to_numpy()[col],
                       blk.snps["a2"].to_numpy()[col])
    ok = am.sign != 0
    vals = sub[value].to_numpy(np.float64)[ok] * am.sign[ok]
    col = col[ok]
    if per_gene:
        genes, gcol = np.unique(sub["gene_id"].to_numpy()[ok], return_inverse=True)
    else:
        genes, gcol = np.array([""]), np.zeros(len(col), dtype=np.int64)
    v = np.zeros((len(ids), max(len(genes), 1)))
    np.add.at(v, (col, gcol), vals)
    return signed_ld_profile(blk.x, v, rows=rows), genes, int(ok.sum()), int((~ok).sum())


def sed_ld(panel, blocks, sed: pd.DataFrame, *, build: str, targets: pd.DataFrame, value: str = "SED",
           lengths: dict | None = None, quiet: bool = False) -> np.ndarray:
    """SED-LD: the signed LD profile of SED scores, per SNP or gene by gene, at target SNPs / pairs.

    Per LD block of the panel (:meth:`stats.io.panel.ReferencePanel.iter_blocks`), the SED scores of the block's
    SNPs are aligned to the panel's A1 (:func:`stats.alleles.match_alleles`; ambiguous / mismatched
    dropped) and ``R v = X^T X v / N`` (:func:`stats.ld.signed_profile.signed_ld_profile`) is read at the
    targets. With a ``gene_id`` column in ``sed``, ``v`` has one column per gene (the gene's SED over its
    cis SNPs, 0 elsewhere) and the target (SNP j, gene g) gets ``(R v_g)_j``.

    Parameters
    ----------
    panel : ReferencePanel
        An open :class:`stats.io.panel.ReferencePanel` (a path or mapping is opened here).
    blocks : DataFrame or path
        LD blocks.
    sed : DataFrame
        ``SNP, A1, A2, <value>`` and optionally ``gene_id`` (:func:`match_sed_to_panel`): SNP is the panel's
        id and A1 the allele whose effect is given.
    build : str
        Genome build of the panel (MHC and the block check).
    targets : DataFrame
        ``SNP`` (and ``gene_id`` when ``sed`` has it): where the profile is wanted.
    value : str
        Column of SED scores.
    lengths : dict, optional
        Chromosome lengths for the block check.
    quiet : bool
        Log the panel's per-chromosome counts at DEBUG, not INFO (repeated passes over one panel).

    Returns
    -------
    ndarray, float64, shape (len(targets),)
        SED-LD per target; NaN where the target SNP is not in the panel (or monomorphic, or in no block).
    """
    from stats.io.panel import as_panel

    sed, per_gene = _sed_input(sed, targets, value)
    # targets repeat few distinct SNPs and genes (many pairs, or a batch of shuffles): look them up by code
    snp_code, snp_names = pd.factorize(targets["SNP"].astype(str).to_numpy())
    if per_gene:
        gene_code, gene_names = pd.factorize(targets["gene_id"].astype(str).to_numpy())
    out = np.full(len(targets), np.nan)
    wanted = set(snp_names)
    sed_by_snp = sed.groupby("SNP", sort=False).indices
    n_aligned = n_dropped = 0
    for blk in as_panel(panel).iter_blocks(blocks, build=build, lengths=lengths,
                                           log_level=logging.DEBUG if quiet else logging.INFO):
        ids = blk.snps["snp"].astype(str).to_numpy()
        rows = np.flatnonzero(pd.Index(ids).isin(wanted))
        if len(rows) == 0:
            continue
        rv, genes, k_aligned, k_dropped = _block_sed_ld(blk, ids, rows, sed, sed_by_snp, value=value,
                                                        per_gene=per_gene)
        n_aligned += k_aligned
        n_dropped += k_dropped
        row_of_name = pd.Index(ids[rows]).get_indexer(snp_names)  # -1: the SNP is not in this block
        tsel = np.flatnonzero(row_of_name[snp_code] >= 0)  # the targets in this block
        r_of = row_of_name[snp_code[tsel]]
        if per_gene:
            g_of = pd.Index(genes).get_indexer(gene_names)[gene_code[tsel]]
            out[tsel] = np.where(g_of >= 0, rv[r_of, np.maximum(g_of, 0)], 0.0)
        else:
            out[tsel] = rv[r_of, 0]
    if n_dropped:
        logger.log(logging.DEBUG if quiet else logging.INFO,
                   "SED scores: %d aligned to the panel, %d dropped (ambiguous or mismatched alleles)", n_aligned,
                   n_dropped)
    if n_aligned == 0:
        raise ValueError("SED table: none of its SNPs matches a panel SNP in an LD block (ids and alleles)")
    return out


def sed_ld_many(panel, blocks, seds, *, build: str, targets: pd.DataFrame, value: str = "SED",
                lengths: dict | None = None, quiet: bool = False) -> np.ndarray:
    """:func:`sed_ld` of several SED tables at the same targets in one pass over the LD blocks.

    Each table's genes become their own columns (``gene_id`` suffixed ``#k``; a per-SNP table is one
    pseudo-gene ``#k``), so the panel is read and standardized once for all of them (e.g. a batch of
    shuffled annotations). Rows with a zero SED are dropped first (they add nothing to ``R v``).

    Parameters
    ----------
    panel, blocks, build, value, lengths, quiet
        As :func:`sed_ld`.
    seds : sequence of DataFrame
        SED tables ``SNP, A1, A2, <value>`` and optionally ``gene_id`` (all with it, or all without).
    targets : DataFrame
        ``SNP`` (and ``gene_id`` for per-gene tables).

    Returns
    -------
    ndarray, float64, shape (len(seds), len(targets))
        Row k equals ``sed_ld(panel, blocks, seds[k], targets=targets, ...)``.
    """
    seds = list(seds)
    if not seds:
        return np.zeros((0, len(targets)))
    per_gene = {"gene_id" in a.columns for a in seds}
    if len(per_gene) != 1:
        raise ValueError("sed_ld_many: mix of per-gene and per-SNP SED tables")
    per_gene = per_gene.pop()
    t_snp = targets["SNP"].astype(str).to_numpy()
    if per_gene and "gene_id" not in targets.columns:
        raise ValueError("targets need SNP and gene_id")
    t_gene = targets["gene_id"].astype(str).to_numpy() if per_gene else np.full(len(targets), "", dtype=object)
    parts, tparts = [], []
    for k, a in enumerate(seds):
        a = a[a[value] != 0]
        g = a["gene_id"].astype(str) if per_gene else pd.Series("", index=a.index)
        parts.append(pd.DataFrame({"SNP": a["SNP"].astype(str).to_numpy(), "gene_id": (g + f"#{k}").to_numpy(),
                                   "A1": a["A1"].to_numpy(), "A2": a["A2"].to_numpy(),
                                   value: a[value].to_numpy(np.float64)}))
        tparts.append(pd.DataFrame({"SNP": t_snp, "gene_id": pd.Series(t_gene).astype(str).to_numpy() + f"#{k}"}))
    s = sed_ld(panel, blocks, pd.concat(parts, ignore_index=True), build=build,
               targets=pd.concat(tparts, ignore_index=True), value=value, lengths=lengths, quiet=quiet)
    return s.reshape(len(seds), len(targets))

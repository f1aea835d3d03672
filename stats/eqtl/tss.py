"""Distance to transcription start sites (TSSs) as indicator annotations, and their LD scores.

The TSSs come from a GTF read by :func:`genocore.genes.read_tss`: one per transcript (its 5' end on
its strand), or one per gene when the GTF has no transcript rows. Positions are 1-based, as in a .bim and in GTEx ids:
a ``+`` strand TSS is the GTF ``start``, a ``-`` strand TSS the GTF ``end``.

Distance bins (Basenji 2018, Fig. 5): ``|pos - tss|`` in ``[0, 500)``, ``[500, 2000)``,
``[2000, 8000)``, ``[8000, 32000)`` bp; a variant farther than 32 kb is in none. Two flavours:

* per SNP: distance to the nearest TSS of any gene (:func:`nearest_tss_distance`);
* per SNP-gene pair: distance to that gene's nearest TSS (:func:`gene_tss_distance`).

Their LD scores, ``l_c(j) = sum_k r~2_jk a_c(k)`` (:mod:`stats.ld.scores`), are the covariates of the
eQTL covariate regression (:mod:`stats.eqtl.regression`). For a pair (j, g) the annotation depends on the
gene: ``l_c(j, g) = sum_k r~2_jk a_c(k, g)`` with ``a_c(k, g)`` the bin of SNP k's distance to g's
TSS (:func:`pair_tss_ld_scores`).
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from genocore.genome import normalize_chrom

logger = logging.getLogger(__name__)

#: Bin edges in bp: bin c holds distances ``edges[c] <= d < edges[c + 1]``.
TSS_BIN_EDGES = (0, 500, 2000, 8000, 32000)
#: Annotation names of the bins.
TSS_BIN_NAMES = ("TSS_0_500", "TSS_500_2000", "TSS_2000_8000", "TSS_8000_32000")


def read_tss(gtf, *, feature: str | None = None) -> pd.DataFrame:
    """TSSs of every gene of a GTF.

    Parameters
    ----------
    gtf : str or Path
        GTF file (plain or gzipped), read with :func:`genocore.genes.read_tss`.
    feature : {"transcript", "gene"}, optional
        Which rows give TSSs; default ``transcript`` when the GTF has transcript rows, else ``gene``.

    Returns
    -------
    DataFrame
        ``gene_id`` (str), ``chrom`` (str, normalized), ``tss`` (int64, 1-based), ``strand``; one row
        per distinct (gene, TSS), sorted by chrom, tss, gene_id.

    Raises
    ------
    ValueError
        For a GTF without rows of the feature, or without ``gene_id`` / strand.
    """
    from genocore.genes import read_tss as read_gtf_tss

    t = read_gtf_tss(gtf, feature=feature)  # 1-based, the convention here too
    out = t.assign(chrom=np.asarray(normalize_chrom(t["chrom"].astype(str).to_numpy()), dtype=str))
    out = out.drop_duplicates(["gene_id", "chrom", "tss"]).sort_values(["chrom", "tss", "gene_id"])
    return out.reset_index(drop=True)


def tss_bins(distance) -> np.ndarray:
    """Indicator annotations of TSS distance.

    Parameters
    ----------
    distance : array_like, shape (n,)
        Distances in bp (absolute value taken); NaN or inf for "no TSS".

    Returns
    -------
    ndarray, float64, shape (n, 4)
        Column c is 1 where ``TSS_BIN_EDGES[c] <= |d| < TSS_BIN_EDGES[c + 1]`` (:data:`TSS_BIN_NAMES`).
    """
    d = np.abs(np.asarray(distance, dtype=np.float64))
    edges = np.asarray(TSS_BIN_EDGES, dtype=np.float64)
    return ((d[:, None] >= edges[None, :-1]) & (d[:, None] < edges[None, 1:])).astype(np.float64)


def _check_tss(tss: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("gene_id", "chrom", "tss") if c not in tss.columns]
    if missing:
        raise ValueError(f"TSS table: missing columns {missing} (from read_tss)")
    out = tss[["gene_id", "chrom", "tss"]].copy()
    out["chrom"] = np.asarray(normalize_chrom(out["chrom"].astype(str).to_numpy()), dtype=str)
    out["gene_id"] = out["gene_id"].astype(str)
    return out


def nearest_tss_distance(chrom, pos, tss: pd.DataFrame) -> np.ndarray:
    """Distance from each SNP to the nearest TSS of any gene on its chromosome.

    Parameters
    ----------
    chrom : array_like of str, shape (n,)
    pos : array_like of int, shape (n,)
        1-based positions.
    tss : DataFrame
        :func:`read_tss` table.

    Returns
    -------
    ndarray, float64, shape (n,)
        ``min |pos - tss|``; inf on a chromosome without TSSs.
    """
    chrom = np.asarray(normalize_chrom(np.asarray(chrom).astype(str)), dtype=str)
    pos = np.asarray(pos, dtype=np.int64)
    t = _check_tss(tss)
    out = np.full(len(pos), np.inf)
    for c, g in t.groupby("chrom", sort=False):
        sel = np.flatnonzero(chrom == c)
        if len(sel) == 0:
            continue
        s = np.sort(g["tss"].to_numpy(np.int64))
        i = np.searchsorted(s, pos[sel])
        left = np.abs(pos[sel] - s[np.maximum(i - 1, 0)])
        right = np.abs(s[np.minimum(i, len(s) - 1)] - pos[sel])
        out[sel] = np.minimum(left, right)
    return out


def gene_tss_distance(chrom, pos, gene_id, tss: pd.DataFrame) -> np.ndarray:
    """Distance from each SNP to the nearest TSS of its paired gene.

    Parameters
    ----------
    chrom : array_like of str, shape (n,)
    pos : array_like of int, shape (n,)
        1-based positions.
    gene_id : array_like of str, shape (n,)
    tss : DataFrame
        :func:`read_tss` table.

    Returns
    -------
    ndarray, float64, shape (n,)
        ``min over g's TSSs of |pos - tss|``; inf for a gene absent from ``tss`` or on another
        chromosome (counted in the log).
    """
    chrom = np.asarray(normalize_chrom(np.asarray(chrom).astype(str)), dtype=str)
    pos = np.asarray(pos, dtype=np.int64)
    gene_id = np.asarray(gene_id).astype(str)
    t = _check_tss(tss)
    out = np.full(len(pos), np.inf)
    groups = {g: d for g, d in t.groupby("gene_id", sort=False)}
    codes, uniq = pd.factorize(gene_id)
    n_absent = 0
    for k, g in enumerate(uniq):
        sel = np.flatnonzero(codes == k)
        d = groups.get(g)
        if d is None:
            n_absent += len(sel)
            continue
        for c, dc in d.groupby("chrom", sort=False):
            on = sel[chrom[sel] == c]
            if len(on):
                tt = dc["tss"].to_numpy(np.int64)
                out[on] = np.abs(pos[on][:, None] - tt[None, :]).min(axis=1)
    if n_absent:
        logger.warning("%d SNP-gene pairs name a gene without a TSS in the GTF; they get no TSS bin", n_absent)
    return out


def snp_tss_annotations(chrom, pos, tss: pd.DataFrame) -> pd.DataFrame:
    """Per-SNP TSS-distance indicators (nearest TSS of any gene).

    Returns
    -------
    DataFrame, shape (n, 4)
        Float 0/1 columns :data:`TSS_BIN_NAMES`.
    """
    return pd.DataFrame(tss_bins(nearest_tss_distance(chrom, pos, tss)), columns=list(TSS_BIN_NAMES))


def pair_tss_annotations(chrom, pos, gene_id, tss: pd.DataFrame) -> pd.DataFrame:
    """Per SNP-gene pair TSS-distance indicators (that gene's nearest TSS).

    Returns
    -------
    DataFrame, shape (n, 4)
        Float 0/1 columns :data:`TSS_BIN_NAMES`.
    """
    return pd.DataFrame(tss_bins(gene_tss_distance(chrom, pos, gene_id, tss)), columns=list(TSS_BIN_NAMES))


def _panel_snps(panel) -> pd.DataFrame:
    """The panel's .bim rows in the order :func:`stats.ld.scores.ld_scores` annotates them: its distinct
    filesets one after another (chromosome order), each in .bim order; chromosome names normalized."""
    sets = list(dict.fromkeys(panel.filesets().values()))
    bim = pd.concat([panel.fileset_bim(p) for p in sets], ignore_index=True)
    bim["chrom"] = np.asarray(normalize_chrom(bim["chrom"].astype(str).to_numpy()), dtype=str)
    return bim


def snp_tss_ld_scores(panel, tss: pd.DataFrame, **ld_options) -> pd.DataFrame:
    """LD scores of the per-SNP TSS-distance annotations of a reference panel.

    Parameters
    ----------
    panel : ReferencePanel, str or Path
        An open :class:`stats.io.panel.ReferencePanel`, or what it opens (a fileset prefix, a per-chromosome
        template...); see :func:`stats.ld.scores.ld_scores`.
    tss : DataFrame
        :func:`read_tss` table.
    **ld_options
        Passed to :func:`stats.ld.scores.ld_scores` (``wind_cm``, ``wind_kb``, ``maf``, ``snps``...).

    Returns
    -------
    DataFrame
        ``CHR SNP BP`` and one column ``<bin>L2`` per bin, one row per SNP kept by ``ld_scores``.
    """
    from stats.io.panel import as_panel
    from stats.ld.scores import ld_scores

    panel = as_panel(panel)
    bim = _panel_snps(panel)
    annot = snp_tss_annotations(bim["chrom"].to_numpy(str), bim["pos"].to_numpy(), tss)
    scores = ld_scores(panel, annot=annot.to_numpy(), annot_names=list(TSS_BIN_NAMES), **ld_options)
    return scores.table[["CHR", "SNP", "BP"] + list(scores.ldscore_columns)].reset_index(drop=True)


def _first_rows(where: pd.Index, keys) -> np.ndarray:
    """Position of the first entry of ``where`` equal to each key (-1 for none); int64, shape (len(keys),)."""
    keep = np.flatnonzero(~where.duplicated())
    hit = where[keep].get_indexer(keys)
    return np.where(hit >= 0, keep[np.maximum(hit, 0)], -1)


def _gene_slots(bim: pd.DataFrame, pairs: pd.DataFrame) -> tuple[dict, np.ndarray, np.ndarray]:
    """The genes of ``pairs`` on each chromosome (that of the pair's SNP in ``bim``; first-appearance order),
    and per pair its chromosome (``""`` for a SNP absent from ``bim``) and its gene's rank on it (-1)."""
    row = _first_rows(pd.Index(bim["snp"].astype(str).to_numpy()), pairs["SNP"].astype(str).to_numpy())
    ok = row >= 0
    pair_chrom = np.full(len(pairs), "", dtype=object)
    pair_chrom[ok] = bim["chrom"].to_numpy(str)[row[ok]]
    pair_gene = pairs["gene_id"].astype(str).to_numpy()
    genes, rank = {}, np.full(len(pairs), -1, dtype=np.int64)
    for c in pd.unique(pair_chrom[ok]):
        on = np.flatnonzero(pair_chrom == c)
        genes[c] = pd.unique(pair_gene[on])
        rank[on] = pd.Index(genes[c]).get_indexer(pair_gene[on])
    return genes, pair_chrom.astype(str), rank


def _slot_annotations(bim: pd.DataFrame, slots: dict, tss_of: dict) -> np.ndarray:
    """The TSS-bin columns of a pass of :func:`pair_tss_ld_scores`: slot ``k`` holds, on the SNPs of each
    chromosome ``c``, the bins of their distance to the TSSs of gene ``slots[c][k]``.

    Returns
    -------
    ndarray, float64, shape (len(bim), 4 * max slots)
    """
    n_bins = len(TSS_BIN_NAMES)
    chrom, pos = bim["chrom"].to_numpy(str), bim["pos"].to_numpy()
    annot = np.zeros((len(bim), n_bins * max(len(g) for g in slots.values())))
    for c, genes in slots.items():
        r = np.flatnonzero(chrom == c)
        for k, g in enumerate(genes):
            d = gene_tss_distance(chrom[r], pos[r], np.full(len(r), g), tss_of[g])
            annot[r, n_bins * k:n_bins * (k + 1)] = tss_bins(d)
    return annot


def pair_tss_ld_scores(panel, tss: pd.DataFrame, pairs: pd.DataFrame, *, gene_batch: int = 64,
                       **ld_options) -> pd.DataFrame:
    """LD scores of the per-pair TSS-distance annotations, ``l_c(j, g) = sum_k r~2_jk a_c(k, g)``.

    The genes of each chromosome (that of their pairs' SNPs) are taken ``gene_batch`` at a time, and the
    batches of all chromosomes share one :func:`stats.ld.scores.ld_scores` pass over the panel: slot ``k``
    of a pass holds, on each chromosome's SNPs, the four annotation columns of that chromosome's ``k``-th
    gene of the batch (LD windows never cross chromosomes). Memory ``n_panel_snps x 4 x gene_batch`` floats.

    Parameters
    ----------
    panel : ReferencePanel, str or Path
        An open :class:`stats.io.panel.ReferencePanel`, or what it opens.
    tss : DataFrame
        :func:`read_tss` table.
    pairs : DataFrame
        ``SNP`` (panel ids) and ``gene_id``, one row per pair.
    gene_batch : int
        Genes per chromosome and ``ld_scores`` pass.
    **ld_options
        Passed to :func:`stats.ld.scores.ld_scores`.

    Returns
    -------
    DataFrame, shape (len(pairs), 4)
        Columns ``<bin>L2``, aligned with ``pairs`` (same index); NaN for pairs whose SNP is not among
        the SNPs ``ld_scores`` keeps (absent from the panel or monomorphic).
    """
    from stats.io.panel import as_panel
    from stats.ld.scores import ld_scores

    for c in ("SNP", "gene_id"):
        if c not in pairs.columns:
            raise ValueError(f"pairs: missing column {c!r} (need SNP and gene_id)")
    panel = as_panel(panel)
    bim = _panel_snps(panel)
    genes, pair_chrom, rank = _gene_slots(bim, pairs)
    t = _check_tss(tss)
    tss_of = {g: t.iloc[:0] for gs in genes.values() for g in gs}
    tss_of.update({g: d for g, d in t[t["gene_id"].isin(set(tss_of))].groupby("gene_id", sort=False)})
    n_bins, batch = len(TSS_BIN_NAMES), max(1, int(gene_batch))
    out = np.full((len(pairs), n_bins), np.nan)
    key = pd.MultiIndex.from_arrays([pair_chrom, pairs["SNP"].astype(str).to_numpy()])
    for b in range(max([-(-len(g) // batch) for g in genes.values()] or [0])):
        slots = {c: g[b * batch:(b + 1) * batch] for c, g in genes.items() if len(g) > b * batch}
        annot = _slot_annotations(bim, slots, tss_of)
        names = [f"g{k}_{n}" for k in range(annot.shape[1] // n_bins) for n in range(n_bins)]
        scores = ld_scores(panel, annot=annot, annot_names=names, **ld_options)
        tab = scores.table
        row_of = pd.MultiIndex.from_arrays([np.asarray(normalize_chrom(tab["CHR"].astype(str).to_numpy()), dtype=str),
                                            tab["SNP"].astype(str).to_numpy()])
        r = _first_rows(row_of, key)
        sel = np.flatnonzero((rank >= 0) & (rank // batch == b) & (r >= 0))
        cols = n_bins * (rank[sel] % batch)[:, None] + np.arange(n_bins)[None, :]
        out[sel] = tab[scores.ldscore_columns].to_numpy()[r[sel][:, None], cols]
    return pd.DataFrame(out, columns=[f"{n}L2" for n in TSS_BIN_NAMES], index=pairs.index)

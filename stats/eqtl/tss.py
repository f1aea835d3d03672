"""Distance to transcription start sites (TSSs) as indicator annotations, and their LD scores.

The TSSs come from a GTF read with pyranges: one per transcript (its 5' end on its strand), or one
per gene when the GTF has no transcript rows. Positions are 1-based, as in a .bim and in GTEx ids:
a ``+`` strand TSS is the GTF ``start``, a ``-`` strand TSS the GTF ``end``.

Distance bins (Basenji 2018, Fig. 5): ``|pos - tss|`` in ``[0, 500)``, ``[500, 2000)``,
``[2000, 8000)``, ``[8000, 32000)`` bp; a variant farther than 32 kb is in none. Two flavours:

* per SNP: distance to the nearest TSS of any gene (:func:`nearest_tss_distance`);
* per SNP-gene pair: distance to that gene's nearest TSS (:func:`gene_tss_distance`).

Their LD scores, ``l_c(j) = sum_k r~2_jk a_c(k)`` (:mod:`stats.ld.scores`), are the covariates of the
eQTL covariate regression (:mod:`stats.eqtl.covreg`). For a pair (j, g) the annotation depends on the
gene: ``l_c(j, g) = sum_k r~2_jk a_c(k, g)`` with ``a_c(k, g)`` the bin of SNP k's distance to g's
TSS (:func:`pair_tss_ld_scores`).
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from stats.io.ldblocks import normalize_chrom

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
        GTF file (plain or gzipped), read with ``pyranges.read_gtf``.
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
    import pyranges as pr

    gr = pr.read_gtf(str(gtf))
    df = gr.df if hasattr(gr, "df") else pd.DataFrame(gr)
    feats = set(df["Feature"].astype(str))
    if feature is None:
        feature = "transcript" if "transcript" in feats else "gene"
    if feature not in feats:
        raise ValueError(f"{gtf}: no {feature!r} rows (features present: {sorted(feats)})")
    if "gene_id" not in df.columns:
        raise ValueError(f"{gtf}: no gene_id attribute")
    df = df[df["Feature"].astype(str) == feature]
    strand = df["Strand"].astype(str).to_numpy()
    if not np.isin(strand, ["+", "-"]).all():
        bad = df["gene_id"].astype(str).to_numpy()[~np.isin(strand, ["+", "-"])][0]
        raise ValueError(f"{gtf}: {feature} of gene {bad} has no strand (+/-); a TSS needs one")
    # pyranges: Start 0-based, End 1-based inclusive
    tss = np.where(strand == "+", df["Start"].to_numpy(np.int64) + 1, df["End"].to_numpy(np.int64))
    out = pd.DataFrame({"gene_id": df["gene_id"].astype(str).to_numpy(),
                        "chrom": np.asarray(normalize_chrom(df["Chromosome"].astype(str).to_numpy()), dtype=str),
                        "tss": tss, "strand": strand})
    out = out.drop_duplicates(["gene_id", "chrom", "tss"]).sort_values(["chrom", "tss", "gene_id"])
    logger.info("%s: %d TSSs of %d genes (from %s rows)", gtf, len(out), out["gene_id"].nunique(), feature)
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


def snp_tss_ld_scores(bfile, tss: pd.DataFrame, **ld_options) -> pd.DataFrame:
    """LD scores of the per-SNP TSS-distance annotations of a PLINK fileset.

    Parameters
    ----------
    bfile : str or Path
        Fileset prefix (see :func:`stats.ld.scores.ld_scores`).
    tss : DataFrame
        :func:`read_tss` table.
    **ld_options
        Passed to :func:`stats.ld.scores.ld_scores` (``wind_cm``, ``wind_kb``, ``maf``, ``snps``...).

    Returns
    -------
    DataFrame
        ``CHR SNP BP`` and one column ``<bin>L2`` per bin, one row per SNP kept by ``ld_scores``.
    """
    from stats.io.plink import read_bim
    from stats.ld.scores import ld_scores

    bim = read_bim(bfile)
    annot = snp_tss_annotations(bim["chrom"].to_numpy(str), bim["pos"].to_numpy(), tss)
    scores = ld_scores(bfile, annot=annot.to_numpy(), annot_names=list(TSS_BIN_NAMES), **ld_options)
    return scores.table[["CHR", "SNP", "BP"] + list(scores.ldscore_columns)].reset_index(drop=True)


def pair_tss_ld_scores(bfile, tss: pd.DataFrame, pairs: pd.DataFrame, *, gene_batch: int = 64,
                       **ld_options) -> pd.DataFrame:
    """LD scores of the per-pair TSS-distance annotations, ``l_c(j, g) = sum_k r~2_jk a_c(k, g)``.

    Genes are taken ``gene_batch`` at a time; each batch is one :func:`stats.ld.scores.ld_scores` call
    with four annotation columns per gene (memory ``n_snps x 4 x gene_batch`` floats).

    Parameters
    ----------
    bfile : str or Path
        Fileset prefix.
    tss : DataFrame
        :func:`read_tss` table.
    pairs : DataFrame
        ``SNP`` (bim ids) and ``gene_id``, one row per pair.
    gene_batch : int
        Genes per ``ld_scores`` call.
    **ld_options
        Passed to :func:`stats.ld.scores.ld_scores`.

    Returns
    -------
    DataFrame, shape (len(pairs), 4)
        Columns ``<bin>L2``, aligned with ``pairs`` (same index); NaN for pairs whose SNP is not among
        the SNPs ``ld_scores`` keeps (absent from the fileset or monomorphic).
    """
    from stats.io.plink import read_bim
    from stats.ld.scores import ld_scores

    for c in ("SNP", "gene_id"):
        if c not in pairs.columns:
            raise ValueError(f"pairs: missing column {c!r} (need SNP and gene_id)")
    bim = read_bim(bfile)
    cols = [f"{n}L2" for n in TSS_BIN_NAMES]
    out = np.full((len(pairs), len(cols)), np.nan)
    genes = pd.unique(pairs["gene_id"].astype(str))
    t = _check_tss(tss)
    t = t[t["gene_id"].isin(set(genes))]
    chrom, pos = bim["chrom"].to_numpy(str), bim["pos"].to_numpy()
    pair_gene = pairs["gene_id"].astype(str).to_numpy()
    pair_snp = pairs["SNP"].astype(str).to_numpy()
    n_bins = len(TSS_BIN_NAMES)
    for b in range(0, len(genes), max(1, int(gene_batch))):
        batch = genes[b:b + max(1, int(gene_batch))]
        annot = np.zeros((len(bim), n_bins * len(batch)))
        for k, g in enumerate(batch):
            d = gene_tss_distance(chrom, pos, np.full(len(bim), g), t[t["gene_id"] == g])
            annot[:, n_bins * k:n_bins * (k + 1)] = tss_bins(d)
        names = [f"g{k}_{n}" for k in range(len(batch)) for n in range(n_bins)]
        scores = ld_scores(bfile, annot=annot, annot_names=names, **ld_options)
        row_of = pd.Index(scores.table["SNP"].astype(str))
        vals = scores.table[scores.ldscore_columns].to_numpy()
        for k, g in enumerate(batch):
            sel = np.flatnonzero(pair_gene == g)
            r = row_of.get_indexer(pair_snp[sel])
            ok = r >= 0
            out[sel[ok]] = vals[r[ok], n_bins * k:n_bins * (k + 1)]
    return pd.DataFrame(out, columns=cols, index=pairs.index)

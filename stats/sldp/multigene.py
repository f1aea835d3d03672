"""GTEx inputs of SLDP: the per-SNP multi-gene eQTL summary and the gene-set enrichment of SLDP results.

Multi-gene summary (Reshef et al. 2018, Methods): for SNP m with eQTL estimates alpha_hat_m^(k) for the
genes k in G_m whose cis window holds it,

    alpha_hat_m = |G_m|^(-1/2) sum_{k in G_m} alpha_hat_m^(k),   alpha_hat_m^(k) = Z_mk / sqrt(N),

so that its z-score sqrt(N) alpha_hat_m = |G_m|^(-1/2) sum_k Z_mk stays standard normal under the null
when the genes' estimates are independent.

Gene-set enrichment (sldp's README, errata): with q_i an SLDP association's per-LD-block statistic and
s_i the number of the set's genes in block i,

    a = sum_i s_i q_i / sum_i s_i  -  mean of q_i over the blocks with s_i = 0,

and its null distribution from shuffling s over blocks (the weighted mean in the null too, as the
errata corrects).
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)


def multigene_sumstats(eqtl: pd.DataFrame, *, n: int, snp_ids: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-SNP summary statistics combining every gene the SNP is a cis-eQTL candidate for.

    Parameters
    ----------
    eqtl : DataFrame
        One tissue's pairs as :func:`stats.io.gtex.read_eqtl_table` gives them (``gene_id, variant_id,
        chrom, pos, ref, alt, z``).
    n : int
        The tissue's sample size.
    snp_ids : DataFrame, optional
        ``variant_id, SNP``: names to give the SNPs (e.g. rsids of the reference panel); variants
        without a name are dropped and counted. Default: the variant id is the name.

    Returns
    -------
    DataFrame
        ldsc's sumstats layout ``SNP A1 A2 N Z`` plus ``n_genes``; A1 is the ALT (effect) allele and
        ``Z = sqrt(N) alpha_hat_m``. One row per variant, in first-seen order.
    """
    if n <= 0:
        raise ValueError(f"sample size must be positive, got {n}")
    if eqtl.empty:
        raise ValueError("no eQTL pairs to summarize")
    g = eqtl.groupby("variant_id", sort=False)
    first = g[["alt", "ref"]].first()
    k = g.size()
    z = g["z"].sum() / np.sqrt(k)
    out = pd.DataFrame({"SNP": first.index.to_numpy(), "A1": first.alt.to_numpy(), "A2": first.ref.to_numpy(),
                        "N": int(n), "Z": z.to_numpy(), "n_genes": k.to_numpy()})
    if snp_ids is not None:
        names = snp_ids.drop_duplicates("variant_id").set_index("variant_id")["SNP"]
        mapped = out.SNP.map(names)
        if mapped.isna().any():
            logger.info("%d of %d eQTL variants have no SNP name and are dropped", int(mapped.isna().sum()), len(out))
        out = out.assign(SNP=mapped)[mapped.notna().to_numpy()].reset_index(drop=True)
    logger.info("multi-gene summary: %d SNPs, median %d genes per SNP", len(out), int(np.median(out.n_genes)))
    return out


def genes_per_block(gene_chrom, gene_pos, blocks: pd.DataFrame) -> np.ndarray:
    """Number of genes (by TSS position) in each LD block.

    Parameters
    ----------
    gene_chrom, gene_pos : array-like, shape (n_genes,)
        Chromosome and 0-based position of each gene's TSS.
    blocks : DataFrame
        ``chrom, start, end`` (BED, half-open), sorted within each chromosome.

    Returns
    -------
    ndarray, int64, shape (n_blocks,)
    """
    counts = np.zeros(len(blocks), np.int64)
    gene_chrom = np.asarray(gene_chrom).astype(str)
    gene_pos = np.asarray(gene_pos, np.int64)
    for chrom, idx in blocks.groupby("chrom", sort=False).indices.items():
        starts = blocks.start.to_numpy()[idx]
        ends = blocks.end.to_numpy()[idx]
        p = gene_pos[gene_chrom == str(chrom)]
        j = np.searchsorted(starts, p, side="right") - 1
        inside = (j >= 0) & (p < ends[np.clip(j, 0, None)])
        np.add.at(counts, idx[j[inside]], 1)
    return counts


def geneset_enrichment(q: np.ndarray, s: np.ndarray, *, n_perm: int = 10_000,
                       rng: np.random.Generator) -> dict:
    """sldp's gene-set enrichment statistic and its permutation p-value.

    Parameters
    ----------
    q : ndarray, float, shape (n_blocks,)
        Per-block SLDP statistic of one annotation-trait association.
    s : ndarray, shape (n_blocks,)
        Number of the set's genes in each block (non-negative).
    n_perm : int
        Shuffles of ``s`` over blocks.
    rng : numpy.random.Generator

    Returns
    -------
    dict
        ``statistic`` (a above), ``p`` (two-sided: (1 + #{|a_null| >= |a|}) / (1 + n_perm)),
        ``n_blocks_with_genes``.
    """
    q = np.asarray(q, np.float64)
    s = np.asarray(s, np.float64)
    if q.shape != s.shape or q.ndim != 1:
        raise ValueError(f"q and s must be vectors of one length, got shapes {q.shape} and {s.shape}")
    if not np.isfinite(q).all():
        raise ValueError("q has non-finite entries")
    if (s < 0).any():
        raise ValueError("s counts genes per block and cannot be negative")
    with_genes = s > 0
    if not with_genes.any() or with_genes.all():
        raise ValueError("the gene set must touch some blocks and leave others empty "
                         f"({int(with_genes.sum())} of {len(s)} blocks hold its genes)")

    def stat(ss: np.ndarray) -> np.ndarray:
        # rows are (shuffled) copies of s
        zero = ss == 0
        return (ss @ q) / ss.sum(axis=1) - (zero @ q) / zero.sum(axis=1)

    obs = float(stat(s[None])[0])
    exceed = 0
    for a in range(0, n_perm, 1000):
        m = min(1000, n_perm - a)
        perm = rng.permuted(np.broadcast_to(s, (m, len(s))), axis=1)
        exceed += int((np.abs(stat(perm)) >= abs(obs)).sum())
    return {"statistic": obs, "p": (1 + exceed) / (1 + n_perm), "n_blocks_with_genes": int(with_genes.sum())}

"""Raw GWAS summary statistics to LDSC's munged layout, in the spirit of ldsc's ``munge_sumstats.py``.

:func:`munge_sumstats` reads any table :func:`stats.io.sumstats.read_sumstats` reads (columns found by
their aliases; Z from Z, BETA/SE, OR/SE, LOG_ODDS/SE or P with a signed column; N from a column, case
and control counts, or ``n=``), then, as ldsc does:

- drops SNPs whose imputation quality (an ``INFO`` column) is below ``info_min`` (ldsc: 0.9);
- drops SNPs whose minor allele frequency (from an allele frequency or ``MAF`` column) is at most
  ``maf_min`` (ldsc: 0.01);
- with a SNP list (``--merge-alleles``: ``SNP A1 A2``, such as HapMap3's ``w_hm3.snplist``), keeps its
  SNPs whose alleles are the list's (as a pair, in either order or on the other strand), in the list's
  order, and drops the others with a count.

Each filter is counted and logged; a filter that leaves nothing is an error naming it. Differences from
ldsc on purpose: strand-ambiguous SNPs (A/T, C/G) are kept when they match the list (ldsc drops them
always); SNPs are not filtered on N (ldsc's ``--n-min``).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["munge_sumstats", "read_snplist"]

def read_snplist(path) -> pd.DataFrame:
    """A SNP list ``SNP A1 A2`` (whitespace- or tab-separated, header line; ldsc's ``w_hm3.snplist``)."""
    from stats.io.sumstats import read_text_table

    t = read_text_table(path)
    missing = [c for c in ("SNP", "A1", "A2") if c not in t.columns]
    if missing:
        raise ValueError(f"{path}: a SNP list needs columns SNP, A1, A2; lacks {missing} (has {list(t.columns)})")
    return pd.DataFrame({"SNP": t.SNP.astype(str), "A1": t.A1.str.upper(), "A2": t.A2.str.upper()})


def _extra_column(path, names, canonical: str) -> str | None:
    from genocore.columns import lookup

    cols = [c for c in names if lookup(c) == canonical]
    if len(cols) > 1:
        raise ValueError(f"{path}: columns {cols} all look like {canonical.upper()}; keep one")
    return cols[0] if cols else None


def _quality_filters(ss: pd.DataFrame, path, *, info_min: float | None, maf_min: float | None, counts: dict):
    """``ss`` without SNPs of low INFO or MAF (columns found by alias in the file)."""
    from stats.io.sumstats import header_names, parse_numbers, read_text_table

    names = header_names(path)
    info, eaf, maf = (_extra_column(path, names, c) for c in ("info", "eaf", "maf"))
    extra = [c for c in (info, eaf, maf) if c is not None and (c != info or info_min is not None)]
    if not extra:
        return ss
    snp_col = ss.attrs["sumstats"]["columns"]["SNP"]
    raw = read_text_table(path, usecols=[snp_col] + extra).drop_duplicates(snp_col, keep=False)
    raw = raw.set_index(snp_col).reindex(ss.SNP.to_numpy())
    keep = np.ones(len(ss), dtype=bool)
    if info is not None and info_min is not None:
        v = parse_numbers(raw[info].fillna(""), path=path, col=info)
        low = ~(v >= info_min)
        counts["info_below_min"] = int(low.sum())
        keep &= ~low
    if maf_min is not None and (eaf is not None or maf is not None):
        f = parse_numbers(raw[eaf if eaf is not None else maf].fillna(""), path=path,
                          col=eaf if eaf is not None else maf)
        m = np.minimum(f, 1 - f)
        low = ~(m > maf_min)
        counts["maf_at_or_below_min"] = int((low & keep).sum())
        keep &= ~low
    return ss[keep].reset_index(drop=True)


def _merge_alleles(ss: pd.DataFrame, snplist: pd.DataFrame, counts: dict) -> pd.DataFrame:
    """The list's SNPs whose alleles match, in the list's order (Z still of the sumstats' A1)."""
    from stats.alleles import match_alleles

    m = snplist.merge(ss, on="SNP", how="inner", suffixes=("_list", ""), validate="one_to_one")
    # same pair, swapped or on the other strand; a strand-ambiguous pair is kept when it is the list's pair
    ok = match_alleles(m.A1, m.A2, m.A1_list, m.A2_list, ambiguous="assume_forward").sign != 0
    counts["not_in_snplist"] = int(len(ss) - len(m))
    counts["alleles_not_matching_snplist"] = int((~ok).sum())
    return m[ok].drop(columns=["A1_list", "A2_list"]).reset_index(drop=True)


def munge_sumstats(path, *, n: float | None = None, columns: dict | None = None, snplist=None,
                   info_min: float | None = 0.9, maf_min: float | None = 0.01) -> pd.DataFrame:
    """Munged summary statistics ``SNP A1 A2 N Z`` (see the module notes).

    Parameters
    ----------
    path : path-like
        A raw GWAS table (plain, gzip, bzip2 or Parquet).
    n : float, optional
        Sample size of every SNP (when the table has no N, or to replace it).
    columns : dict, optional
        Field -> column name, for columns detection misses (:func:`stats.io.sumstats.read_sumstats`).
    snplist : DataFrame or path-like, optional
        ``SNP A1 A2`` to merge alleles against (:func:`read_snplist`).
    info_min, maf_min : float or None
        Filters (None: off); used only when the table has the column.

    Returns
    -------
    DataFrame
        ``SNP A1 A2 N Z``; ``attrs["munge"]`` holds the counts of every step.

    Raises
    ------
    ValueError
        Bad input (naming file, line and column), or a step that leaves no SNP (naming the step).
    """
    from stats.io.sumstats import read_sumstats

    ss = read_sumstats(path, n=n, columns=columns)
    counts = {"read": int(ss.attrs["sumstats"]["counts"]["kept"])}
    if counts["read"] == 0:
        raise ValueError(f"{path}: no SNP to munge: the table has no rows, or every row was excluded on reading "
                         f"({ss.attrs['sumstats']['counts']})")
    attrs = dict(ss.attrs)
    ss = _quality_filters(ss, path, info_min=info_min, maf_min=maf_min, counts=counts)
    if len(ss) == 0:
        raise ValueError(f"{path}: no SNP left after the INFO >= {info_min} and MAF > {maf_min} filters ({counts})")
    if snplist is not None:
        lst = snplist if isinstance(snplist, pd.DataFrame) else read_snplist(snplist)
        ss = _merge_alleles(ss, lst, counts)
        if len(ss) == 0:
            raise ValueError(f"{path}: no SNP left after merging alleles with the SNP list ({counts}); same SNP "
                             "IDs (rsIDs) on both sides?")
    counts["written"] = len(ss)
    logger.info("munged %s: %s", path, ", ".join(f"{k} {v}" for k, v in counts.items()))
    out = ss[["SNP", "A1", "A2", "N", "Z"]].reset_index(drop=True)
    out.attrs = {**attrs, "munge": counts}
    return out

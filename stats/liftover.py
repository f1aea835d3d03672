"""Moving variant tables between genome builds (hg19 <-> hg38) with a UCSC chain file.

Positions are lifted with the ``liftover`` package (a C++ reader of local UCSC ``.over.chain[.gz]``
files; nothing is downloaded). Each variant is

- *mapped* to one position: kept, on the target strand; when the chain maps it to the minus strand
  its alleles are complemented (A<->T, C<->G) and it is counted as *strand-flipped*;
- *unmapped* (in a gap of the chain, or on a chromosome the chain lacks), mapped to *several*
  positions, or mapped to *another chromosome*: dropped and counted.

The counts are returned and logged. Three layouts are handled: tables with chromosome and position
columns (summary statistics, annotations; found by their usual names) and allele columns; GTEx eQTL
tables (``variant_id`` = ``chrom_pos_ref_alt_b37``, rewritten with the new position and build); and VCFs.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["load_chain", "lift_positions", "lift_table", "lift_gtex_table", "lift_vcf", "BUILD_SUFFIX"]

#: GTEx variant-id build suffix per build.
BUILD_SUFFIX = {"hg19": "b37", "hg38": "b38"}
_COMPLEMENT = str.maketrans("ACGTacgt", "TGCAtgca")


def load_chain(chain):
    """A loaded ``liftover.ChainFile`` (1-based positions) from a path; a loaded one is returned as it is."""
    from liftover import ChainFile

    return ChainFile(str(chain), one_based=True) if not hasattr(chain, "__getitem__") else chain


def lift_positions(chrom, pos, *, chain) -> pd.DataFrame:
    """Lift 1-based positions.

    Parameters
    ----------
    chrom : array-like of str, shape (n,)
        Chromosome names (``1`` or ``chr1``; the output keeps the input's style).
    pos : array-like of int, shape (n,)
        1-based positions.
    chain : path-like or a loaded ``liftover.ChainFile``

    Returns
    -------
    DataFrame, n rows
        ``chrom, pos`` (target; NaN position where not mapped), ``strand`` (``+``/``-``) and
        ``status``: ``mapped``, ``unmapped``, ``multiple`` or ``other_chromosome``.
    """
    c = load_chain(chain)
    chrom = np.asarray(chrom).astype(str)
    pos = np.asarray(pos, dtype=np.int64)
    out_pos = np.full(len(pos), -1, dtype=np.int64)
    strand = np.full(len(pos), "+", dtype=object)
    status = np.full(len(pos), "unmapped", dtype=object)
    bare = np.char.replace(chrom, "chr", "")
    for i, (ch, p) in enumerate(zip(chrom, pos)):
        hits = c[str(ch)][int(p)]
        if len(hits) > 1:
            status[i] = "multiple"
        elif len(hits) == 1:
            t_chrom, t_pos, t_strand = hits[0]
            if t_chrom.replace("chr", "") != bare[i]:
                status[i] = "other_chromosome"
            else:
                out_pos[i], strand[i], status[i] = t_pos, t_strand, "mapped"
    return pd.DataFrame({"chrom": chrom, "pos": pd.Series(out_pos).where(out_pos >= 0).astype("Int64"),
                         "strand": strand, "status": status})


def _apply(df: pd.DataFrame, lifted: pd.DataFrame, *, pos_col: str, allele_cols, what: str) -> tuple:
    counts = {k: int((lifted.status == k).sum()) for k in ("mapped", "unmapped", "multiple", "other_chromosome")}
    keep = (lifted.status == "mapped").to_numpy()
    flip = keep & (lifted.strand == "-").to_numpy()
    counts["strand_flipped"] = int(flip.sum())
    out = df.copy()
    for col in allele_cols:
        out.loc[flip, col] = out.loc[flip, col].astype(str).str.translate(_COMPLEMENT)
    out = out[keep].reset_index(drop=True)
    out[pos_col] = lifted.pos[keep].to_numpy(dtype=np.int64)
    logger.info("%s lifted: %s", what, ", ".join(f"{k} {v}" for k, v in counts.items()))
    if not len(out):
        raise ValueError(f"{what}: no variant could be lifted ({counts}); is the chain file the right way round "
                         "(from the table's build to the target build) and are the chromosome names alike?")
    return out, counts


def lift_table(df: pd.DataFrame, *, chain, chrom_col: str | None = None, pos_col: str | None = None,
               allele_cols=None, what: str = "table") -> tuple[pd.DataFrame, dict]:
    """Lift a table with chromosome and position columns (found by name unless given).

    Parameters
    ----------
    df : DataFrame
    chain : path-like or ``liftover.ChainFile``
    chrom_col, pos_col : str, optional
        Default: the columns whose names are aliases of ``chrom`` and ``pos`` (:mod:`genocore.columns`).
    allele_cols : sequence of str, optional
        Complemented where the variant lands on the minus strand; default: the ``a1``/``a2``/``ref``/
        ``alt`` columns found by name.
    what : str
        Name in messages.

    Returns
    -------
    (DataFrame, dict)
        The lifted rows (the table's order) and the counts.
    """
    from genocore.columns import lookup

    if not len(df):
        raise ValueError(f"{what}: the table has no rows (a header only); nothing to lift")
    names = {c: lookup(c) for c in df.columns}
    chrom_col = chrom_col or next((c for c, n in names.items() if n == "chrom"), None)
    pos_col = pos_col or next((c for c, n in names.items() if n == "pos"), None)
    if chrom_col is None or pos_col is None:
        raise ValueError(f"{what}: no chromosome and position columns found among {list(df.columns)}; name them")
    if allele_cols is None:
        allele_cols = [c for c, n in names.items() if n in ("a1", "a2", "ref", "alt")]
    pos = pd.to_numeric(df[pos_col], errors="coerce")
    if pos.isna().any():
        i = int(np.flatnonzero(pos.isna().to_numpy())[0])
        raise ValueError(f"{what}: row {i + 1} has position {df[pos_col].iloc[i]!r}, not a number")
    lifted = lift_positions(df[chrom_col].astype(str).to_numpy(), pos.to_numpy(np.int64), chain=chain)
    return _apply(df, lifted, pos_col=pos_col, allele_cols=allele_cols, what=what)


def lift_gtex_table(df: pd.DataFrame, *, chain, to_build: str, what: str = "eQTL table") -> tuple[pd.DataFrame, dict]:
    """Lift a GTEx eQTL table: ``variant_id`` (``chrom_pos_ref_alt_build``) gets the new position,
    alleles (complemented on the minus strand) and build suffix of ``to_build`` (``hg19``/``hg38``)."""
    from stats.io.gtex import parse_variant_ids

    if to_build not in BUILD_SUFFIX:
        raise ValueError(f"to_build must be one of {sorted(BUILD_SUFFIX)}, not {to_build!r}")
    ids = parse_variant_ids(df["variant_id"].astype(str), source=what)
    t = pd.concat([df.reset_index(drop=True), ids[["chrom", "pos", "ref", "alt"]].add_prefix("_")], axis=1)
    out, counts = lift_table(t, chain=chain, chrom_col="_chrom", pos_col="_pos", allele_cols=["_ref", "_alt"],
                             what=what)
    out["variant_id"] = (out._chrom.astype(str) + "_" + out._pos.astype(str) + "_" + out._ref + "_" + out._alt
                         + "_" + BUILD_SUFFIX[to_build])
    return out.drop(columns=["_chrom", "_pos", "_ref", "_alt"]), counts


def lift_vcf(lines, *, chain, what: str = "VCF") -> tuple[list, dict]:
    """Lift the records of a VCF (an iterable of its text lines); header lines pass through. Records are
    re-sorted by chromosome (input order) and new position; REF and ALT are complemented on the minus strand.

    Returns
    -------
    (list of str, dict)
        The lifted VCF's lines and the counts.
    """
    header, rows = [], []
    for line in lines:
        (header if line.startswith("#") else rows).append(line.rstrip("\n"))
    if not rows:
        raise ValueError(f"{what}: no records")
    fields = [r.split("\t") for r in rows]
    df = pd.DataFrame({"chrom": [f[0] for f in fields], "pos": [int(f[1]) for f in fields],
                       "ref": [f[3] for f in fields], "alt": [f[4] for f in fields], "row": range(len(fields))})
    out, counts = lift_table(df, chain=chain, chrom_col="chrom", pos_col="pos", allele_cols=["ref", "alt"], what=what)
    order = {c: k for k, c in enumerate(dict.fromkeys(df.chrom))}
    out = out.assign(chrom_rank=out.chrom.map(order)).sort_values(["chrom_rank", "pos"], kind="stable")
    lifted = []
    for r in out.itertuples(index=False):
        f = list(fields[r.row])
        f[1], f[3], f[4] = str(r.pos), r.ref, r.alt
        lifted.append("\t".join(f))
    return header + lifted, counts

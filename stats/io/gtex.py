"""GTEx cis-eQTL tables (``*.allpairs.txt.gz`` / fastQTL nominal output) read into a checked DataFrame.

Columns used: ``gene_id variant_id slope slope_se`` (plus ``tss_distance maf pval_nominal`` when present).
GTEx variant ids are ``chrom_pos_ref_alt_build`` (``chr1_13550_G_A_b38``); the slope is per copy of the
ALT allele, so ALT is the effect allele (A1) and REF the other (A2).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from genocore.columns import GTEX_EQTL

logger = logging.getLogger(__name__)

#: Columns every GTEx eQTL table has.
REQUIRED = GTEX_EQTL.required


def parse_variant_ids(ids: pd.Series, *, source: str = "variant ids") -> pd.DataFrame:
    """Split GTEx ``chrom_pos_ref_alt[_build]`` ids.

    Returns
    -------
    DataFrame, columns ``chrom`` (str), ``pos`` (int64, 1-based), ``ref``, ``alt`` (str, upper case),
    ``build`` (str, empty when absent); index as ``ids``.

    Raises
    ------
    ValueError
        Naming the first id that does not have that shape.
    """
    parts = ids.astype(str).str.split("_", n=4, expand=True)
    if parts.shape[1] < 4:
        parts = parts.reindex(columns=range(4))
    bad = parts[[0, 1, 2, 3]].isna().any(axis=1) | ~parts[1].fillna("").str.fullmatch(r"\d+")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"{source}: row {i + 1} has variant id {ids.iloc[i]!r}; expected chrom_pos_ref_alt[_build] "
                         "(e.g. chr1_13550_G_A_b38)")
    return pd.DataFrame({"chrom": parts[0].astype(str), "pos": parts[1].astype(np.int64),
                         "ref": parts[2].str.upper(), "alt": parts[3].str.upper(),
                         "build": parts[4].fillna("").astype(str) if 4 in parts.columns else ""}, index=ids.index)


def read_eqtl_table(path, *, genes=None) -> pd.DataFrame:
    """One tissue's cis-eQTL pairs with per-pair z-scores.

    Parameters
    ----------
    path : path-like
        Tab-separated, optionally gzipped; GTEx v8 ``allpairs`` or fastQTL nominal layout.
    genes : collection of str, optional
        Keep only these gene ids.

    Returns
    -------
    DataFrame
        ``gene_id, variant_id, chrom, pos, ref, alt, build, slope, slope_se, z`` (z = slope / slope_se)
        and the optional columns present. Pairs with a missing, non-finite or non-positive
        ``slope_se`` (GTEx writes ``-nan`` for monomorphic variants) are dropped, counted and logged;
        a (gene, variant) pair given twice is an error naming its line.
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, sep="\t", dtype={"gene_id": str, "variant_id": str}, na_values=["-nan", "nan", "NA"],
                            compression="infer")
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty: expected a GTEx eQTL table with columns {', '.join(REQUIRED)}") from None
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; a GTEx eQTL table has {', '.join(REQUIRED)} "
                         f"(found {list(table.columns)[:10]})")
    if genes is not None:
        table = table[table.gene_id.isin(set(genes))]
    for c in ("slope", "slope_se"):
        table[c] = pd.to_numeric(table[c], errors="coerce")
    dup = table.duplicated(["gene_id", "variant_id"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        r = table.iloc[i]
        raise ValueError(f"{path}: line {table.index[i] + 2} repeats the pair {r.gene_id} / {r.variant_id}")
    ok = np.isfinite(table.slope_se) & (table.slope_se > 0) & np.isfinite(table.slope)
    if (~ok).any():
        logger.info("%s: %d of %d pairs dropped (missing, non-finite or zero slope / slope_se)", path,
                    int((~ok).sum()), len(table))
    table = table[ok].reset_index(drop=True)
    if not len(table):
        emptied = "" if not len(ok) else " after dropping pairs with missing, non-finite or zero slope / slope_se"
        raise ValueError(f"{path}: no eQTL pairs{emptied}" + (f" of genes {sorted(genes)[:5]}" if genes is not None
                                                              else ""))
    ids = parse_variant_ids(table.variant_id, source=str(path))
    out = pd.concat([table[["gene_id", "variant_id"]], ids, table.drop(columns=["gene_id", "variant_id"])], axis=1)
    out["z"] = out.slope / out.slope_se
    return out


def tissue_name(path) -> str:
    """``Whole_Blood.allpairs.txt.gz`` -> ``Whole_Blood`` (the file name up to its first dot)."""
    name = Path(path).name
    return name.split(".")[0] or name


def tables_by_tissue(paths, *, what: str = "--eqtl") -> dict:
    """GTEx eQTL table paths keyed by tissue (:func:`tissue_name`); each must exist and name a
    different tissue."""
    from stats.io.tables import existing

    tables = {}
    for f in paths:
        name = tissue_name(existing(f, what))
        if name in tables:
            raise ValueError(f"{what} {f}: tissue {name!r} (the file name up to its first dot) is also "
                             f"{tables[name]}; give each tissue one table")
        tables[name] = Path(f)
    return tables

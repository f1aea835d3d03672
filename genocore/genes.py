"""Genes of a GTF (GENCODE / Ensembl) and their transcription start sites (TSSs).

Coordinate convention: every position here is **1-based**, as in the GTF itself, a VCF, a PLINK
``.bim`` and GTEx variant ids. A TSS is the 5' end of its row on its strand: the GTF ``start`` of a
``+`` strand row, the GTF ``end`` of a ``-`` strand row. A consumer that indexes 0-based arrays (the
model half's windows and bins, BED) converts at the call, ``tss["tss"] - 1``, and says so there.

Chromosome names are kept as the GTF writes them; a consumer that matches them against other files
normalizes them itself.
"""
from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["GTF_COLUMNS", "read_gtf", "tss_positions", "read_tss"]

#: The nine GTF columns, as named here.
GTF_COLUMNS = ("chrom", "source", "feature", "start", "end", "score", "strand", "frame", "attribute")
_GENE_ID = re.compile(r'gene_id "([^"]*)"')


def _read_rows(path) -> pd.DataFrame:
    """Every non-comment row of a GTF, all columns as text (no NA parsing: ``.`` stays ``.``)."""
    gtf = pd.read_csv(path, sep="\t", header=None, names=list(GTF_COLUMNS), dtype=str, quoting=3, comment=None,
                      keep_default_na=False, compression="infer")
    # comment=None: a '#' inside an attribute value is text, so comment lines are dropped by their first field
    return gtf[~gtf["chrom"].str.startswith("#")]


def _typed(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows with ``start``/``end`` as int64 and a ``gene_id`` column (NaN where the attribute lacks one)."""
    out = rows.copy()
    out["start"] = out["start"].astype(np.int64)
    out["end"] = out["end"].astype(np.int64)
    out["gene_id"] = out["attribute"].str.extract(_GENE_ID, expand=False)
    return out


def read_gtf(path, *, features=None) -> pd.DataFrame:
    """Rows of a GTF.

    Parameters
    ----------
    path : path-like
        GTF, optionally gzipped (``.gz``).
    features : sequence of str, optional
        Keep only rows whose third column is one of these (e.g. ``["gene", "transcript"]``).

    Returns
    -------
    DataFrame
        :data:`GTF_COLUMNS` (``start``, ``end`` int64, 1-based inclusive; the others str) plus
        ``gene_id`` (str, NaN where the row has none), in file order.
    """
    rows = _read_rows(path)
    if features is not None:
        rows = rows[rows["feature"].isin(list(features))]
    return _typed(rows).reset_index(drop=True)


def tss_positions(rows: pd.DataFrame) -> np.ndarray:
    """1-based TSS of each GTF row: ``start`` on the ``+`` strand, ``end`` on the ``-`` strand.

    Parameters
    ----------
    rows : DataFrame with ``start``, ``end`` (int, 1-based inclusive) and ``strand`` (``+``/``-``)

    Returns
    -------
    ndarray, int64, shape (n_rows,)
    """
    plus = (rows["strand"] == "+").to_numpy()
    return np.where(plus, rows["start"].to_numpy(np.int64), rows["end"].to_numpy(np.int64))


def read_tss(path, *, feature: str | None = None, invalid: str = "raise") -> pd.DataFrame:
    """TSSs of every gene of a GTF, one row per distinct (gene, chromosome, TSS).

    Parameters
    ----------
    path : path-like
        GTF, optionally gzipped (``.gz``).
    feature : str, optional
        Rows giving the starts; default ``"transcript"`` when the GTF has transcript rows, else
        ``"gene"``.
    invalid : {"raise", "skip"}
        What to do with rows of ``feature`` that have no ``gene_id`` or no ``+``/``-`` strand: stop
        with a ValueError naming them, or leave them out with a warning.

    Returns
    -------
    DataFrame
        ``gene_id`` (str), ``chrom`` (str, as written), ``tss`` (int64, **1-based**), ``strand``
        (``+``/``-``); sorted by chrom, tss, gene_id.

    Raises
    ------
    ValueError
        The GTF has no rows of ``feature``, or (``invalid="raise"``) a row without gene id or strand.
    """
    if invalid not in ("raise", "skip"):
        raise ValueError(f"invalid must be 'raise' or 'skip', got {invalid!r}")
    rows = _read_rows(path)
    present = set(rows["feature"])
    if feature is None:
        feature = "transcript" if "transcript" in present else "gene"
    if feature not in present:
        raise ValueError(f"{path}: no {feature!r} rows (features present: {sorted(present)})")
    rows = _typed(rows[rows["feature"] == feature])
    bad = rows["gene_id"].isna() | ~rows["strand"].isin(["+", "-"])
    if bad.any():
        first = rows[bad].iloc[0]
        what = f"{int(bad.sum())} {feature} rows without gene_id or strand +/- (e.g. {first.chrom}:{first.start})"
        if invalid == "raise":
            raise ValueError(f"{path}: {what}; a TSS needs both")
        logger.warning("%s: %s were skipped", path, what)
        rows = rows[~bad]
    out = pd.DataFrame({"gene_id": rows["gene_id"].to_numpy(), "chrom": rows["chrom"].to_numpy(),
                        "tss": tss_positions(rows), "strand": rows["strand"].to_numpy()})
    out = out.drop_duplicates(["gene_id", "chrom", "tss"]).sort_values(["chrom", "tss", "gene_id"], kind="stable")
    logger.info("%s: %d TSSs of %d genes (from %s rows)", path, len(out), out["gene_id"].nunique(), feature)
    return out.reset_index(drop=True)

"""Plain delimited input tables (expression matrices, labels, PICS sumstats, LD tables) with errors
that name the file, the line and the column. The delimiter is told from the header line: a tab when
it has one, else a comma when it has one, else any run of whitespace (PLINK and PICS tables).

``what`` in every function is how the input is named in messages: the option that gave it
(``--observed``), so that the user knows which of several files to fix.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)


def existing(path, what: str) -> Path:
    """``path`` as a Path; FileNotFoundError naming ``what`` when it is not a file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path}: no such file")
    return path


def delimiter(path) -> str:
    """The delimiter of a (plain or gzip) table, from its header line: tab, comma or whitespace."""
    from genocore.files import open_text

    with open_text(path, errors="replace") as fh:
        header = fh.readline()
    return "\t" if "\t" in header else ("," if "," in header else r"\s+")


def read_tsv(path, what: str, *, required=(), **kwargs) -> pd.DataFrame:
    """Read a tab-, comma- or whitespace-separated table with a header line (:func:`delimiter`).

    Parameters
    ----------
    path : path-like
    what : str
        Name of the input in messages.
    required : sequence of str
        Columns that must be present.
    **kwargs
        Passed to :func:`pandas.read_csv` (``dtype=...``).

    Raises
    ------
    FileNotFoundError, ValueError
        Naming the file: missing, unreadable, or lacking a required column.
    """
    path = existing(path, what)
    try:
        df = pd.read_csv(path, sep=delimiter(path), **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ValueError(f"{what} {path}: not a readable TSV ({err})") from err
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"{what} {path}: lacks column(s) {missing}; columns are {list(df.columns)}")
    logger.info("read %s: %d rows, columns %s", path, len(df), list(df.columns))
    return df


def numeric(df: pd.DataFrame, columns, *, path, what: str) -> pd.DataFrame:
    """A copy with ``columns`` as float64; the first non-numeric cell is reported by file, line
    (1-based, header = line 1) and column."""
    out = df.copy()
    for c in columns:
        v = pd.to_numeric(df[c], errors="coerce")
        bad = v.isna() & df[c].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(f"{what} {path}, line {i + 2}: column {c!r} holds {df[c].iloc[i]!r}, not a number")
        out[c] = v.astype(np.float64)
    return out


def read_numeric_tsv(path, what: str, *, columns, required=(), **kwargs) -> pd.DataFrame:
    """:func:`read_tsv`, then :func:`numeric` on ``columns``."""
    df = read_tsv(path, what, required=tuple(required) + tuple(c for c in columns if c not in required), **kwargs)
    return numeric(df, columns, path=path, what=what)

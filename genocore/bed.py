"""BED intervals: the one reader of the suite's BED files (regions, blacklists, gaps, record windows).

Coordinates are **0-based, half-open** as in every BED: ``start`` is the 0-based first base and ``end``
one past the last, so ``chr1 0 100`` is the first 100 bases (1-based 1..100) and ``end - start`` is
the length. A consumer working in 1-based positions converts at the call (``start + 1``).
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["BED_COLUMNS", "read_bed"]

#: Columns of :func:`read_bed`'s table.
BED_COLUMNS = ("chrom", "start", "end", "name", "line")


def _fields(line: str) -> list:
    # BED is tab-separated (a name may hold spaces); files without a tab are split on whitespace, as
    # UCSC tools accept
    text = line.rstrip("\r\n")
    return text.split("\t") if "\t" in text else text.split()


def read_bed(path) -> pd.DataFrame:
    """The intervals of a BED file (plain or gzipped); ``#``, ``track`` and ``browser`` lines are skipped.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    DataFrame
        ``chrom`` (str), ``start``, ``end`` (int64, 0-based half-open), ``name`` (str: the fourth column,
        or ``chrom:start-end`` where there is none) and ``line`` (int64, the 1-based line of the file),
        one row per interval in file order; no rows for a file without intervals. Columns past the
        fourth are not read.

    Raises
    ------
    FileNotFoundError
    ValueError
        A line with fewer than three fields, or a start or end that is not an integer (naming the line).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"BED file {path} does not exist")
    rows = []
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        for i, line in enumerate(fh, start=1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = _fields(line)
            if len(f) < 3:
                raise ValueError(f"{path} line {i}: expected chrom start end, got {line.strip()!r}")
            try:
                start, end = int(f[1]), int(f[2])
            except ValueError:
                raise ValueError(f"{path} line {i}: start/end are not integers: {line.strip()!r}") from None
            chrom = f[0].strip()
            rows.append((chrom, start, end, f[3] if len(f) > 3 else f"{chrom}:{start}-{end}", i))
    df = pd.DataFrame(rows, columns=list(BED_COLUMNS))
    return df.astype({"chrom": str, "start": np.int64, "end": np.int64, "name": str, "line": np.int64})

"""GTF output (GENCODE-style attributes)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from genocore.files import write_text

GTF_COLUMNS = ["seqname", "source", "feature", "start", "end", "score", "strand", "frame", "attribute"]


def write_gtf(path, features: pd.DataFrame, *, header: str = "") -> Path:
    """Write a GTF atomically.

    Parameters
    ----------
    features : DataFrame
        Columns ``GTF_COLUMNS``; ``start``/``end`` 1-based inclusive.
    header : str
        Lines written first, each prefixed with ``#!``.
    """
    missing = [c for c in GTF_COLUMNS if c not in features]
    if missing:
        raise ValueError(f"GTF features lack columns {missing}")
    lines = [f"#!{h}\n" for h in header.splitlines() if h]
    body = features[GTF_COLUMNS].to_csv(sep="\t", header=False, index=False, lineterminator="\n",
                                        quoting=3)
    return write_text(Path(path), "".join(lines) + body)

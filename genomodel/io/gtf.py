"""GTF output (GENCODE-style attributes), and the TSSs of a GTF in the model's 0-based coordinates."""
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


def model_tss(path, *, genes=None) -> pd.DataFrame:
    """TSSs of a GTF as the model half uses them: 0-based, like its windows and bins.

    Parameters
    ----------
    path : path-like
        GTF, optionally gzipped; read by :func:`genocore.genes.read_tss` (transcript rows, or gene rows
        when there are none; rows without gene id or strand are skipped with a warning).
    genes : sequence of str, optional
        Keep only these genes; each must have a TSS in the GTF.

    Returns
    -------
    DataFrame
        ``gene_id, chrom, tss`` (int64, **0-based**: the 1-based GTF position minus 1), ``strand``;
        sorted by chrom, tss, gene_id.
    """
    from genocore.genes import read_tss

    tss = read_tss(path, invalid="skip")
    # genocore.genes is 1-based (GTF, VCF); the model's windows and bins are 0-based
    tss["tss"] = tss["tss"] - 1
    if genes:
        want = list(genes)
        absent = [g for g in want if g not in set(tss.gene_id)]
        if absent:
            raise ValueError(f"{path} has no transcripts of the requested genes {absent[:5]}")
        tss = tss[tss.gene_id.isin(want)]
    return tss

"""BigWig output through pyBigWig."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyBigWig

from genocore.files import atomic_path


def write_bigwig(path, chrom_sizes: dict, values: dict) -> Path:
    """Write base-resolution coverage as BigWig (zeros left out, equal runs merged), atomically.

    Parameters
    ----------
    path : str or Path
    chrom_sizes : dict of str -> int
        Every chromosome of the genome, in order (the header).
    values : dict of str -> ndarray, float, shape (chrom_size,)
        Coverage per base; chromosomes missing from ``values`` have no data.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader(list(chrom_sizes.items()), maxZooms=10)
            for chrom in chrom_sizes:
                if chrom not in values:
                    continue
                v = np.asarray(values[chrom], dtype=np.float64)
                if len(v) != chrom_sizes[chrom]:
                    raise ValueError(f"{chrom}: {len(v)} values for a chromosome of {chrom_sizes[chrom]} bp")
                starts, ends, vals = _runs(v)
                if len(starts):
                    bw.addEntries([chrom] * len(starts), starts.tolist(), ends=ends.tolist(), values=vals.tolist())
        finally:
            bw.close()
    return path


def _runs(v: np.ndarray):
    """Start, end and value of each run of equal non-zero values."""
    change = np.flatnonzero(np.diff(v) != 0) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(v)]])
    vals = v[starts]
    keep = vals != 0
    return starts[keep].astype(np.int64), ends[keep].astype(np.int64), vals[keep]

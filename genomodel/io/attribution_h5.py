"""HDF5 layouts of attribution results: saliency of regions and mutagenesis around a site."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from genocore.files import atomic_path


def write_saliency_h5(path, values: np.ndarray, windows: pd.DataFrame, *, bin_width: int,
                      provenance: dict | None = None) -> Path:
    """Write saliency maps atomically.

    Datasets: ``saliency`` (float32, shape (n_regions, tower_bins)), ``chrom`` and ``start`` (int64,
    0-based start of each input window; may be negative at a chromosome start). Attributes:
    ``bin_width`` (bp per tower bin) and ``provenance`` (JSON).
    """
    import h5py

    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.create_dataset("saliency", data=values)
        h5.create_dataset("chrom", data=np.array(windows.chrom, dtype="S"))
        h5.create_dataset("start", data=windows.start.to_numpy(np.int64))
        h5.attrs["bin_width"] = int(bin_width)
        if provenance is not None:
            h5.attrs["provenance"] = json.dumps(provenance)
    return path


def write_ism_h5(path, values: np.ndarray, ref_codes: np.ndarray, *, chrom: str, start_1based: int, bins,
                 provenance: dict | None = None) -> Path:
    """Write a mutagenesis result atomically.

    Datasets: ``ism`` (float32, shape (width, 4, n_targets): alt - ref per position and base) and
    ``ref_codes`` (uint8, shape (width,)). Attributes: ``chrom``, ``start_1based`` (1-based position
    of the first mutated base), ``bins`` (output bins summed) and ``provenance`` (JSON).
    """
    import h5py

    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.create_dataset("ism", data=values)
        h5.create_dataset("ref_codes", data=ref_codes)
        h5.attrs["chrom"], h5.attrs["start_1based"] = chrom, int(start_1based)
        h5.attrs["bins"] = np.array(bins)
        if provenance is not None:
            h5.attrs["provenance"] = json.dumps(provenance)
    return path

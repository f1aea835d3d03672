"""Variant score files: the one writer and the one reader of what the model half hands the statistics half.

Two files carry variant scores, both with variants at 1-based positions (as in a VCF):

``sad.h5`` (basenji's layout)
    Datasets ``snp``, ``chr``, ``pos``, ``ref_allele``, ``alt_allele`` (one entry per variant),
    ``target_ids``, ``target_labels`` (one per target) and one dataset per statistic (``SAD``,
    ``SAR``, ``REF``, ``ALT``, ``LOG2MAX``), float16, shape (n_variants, n_targets). SED, when scored,
    is the group ``sed``: ``variant`` (int64, row of the variant datasets), ``gene_id``,
    ``n_tss_bins`` (int64) and ``SED`` (float32, shape (n_pairs, n_targets)), one row per
    (variant, gene) pair. The provenance record is the JSON attribute ``provenance``.

SED table (TSV)
    ``chrom pos ref alt snp gene_id n_tss_bins SED_<target_id>...``, one row per (variant, gene).

The statistics half matches rows by chromosome, position and alleles, never by ``snp`` alone, which
is why every table here carries all four.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from genocore.files import atomic_path, write_table

logger = logging.getLogger(__name__)

__all__ = ["SAD_STATS", "SED_KEYS", "MissingScoreError", "ScoreFile", "write_sad_h5", "read_sad_h5",
           "write_sad_table", "sed_table", "write_sed_table", "read_sed", "sed_for_target"]

#: Statistics of a ``sad.h5`` (each variants x targets).
SAD_STATS = ("SAD", "SAR", "REF", "ALT", "LOG2MAX")
#: Leading columns of an SED table, before one ``SED_<target_id>`` column per target.
SED_KEYS = ("chrom", "pos", "ref", "alt", "snp", "gene_id", "n_tss_bins")
#: Variant columns of a DataFrame -> their datasets in a ``sad.h5``.
_H5_VARIANTS = {"snp": "snp", "chrom": "chr", "pos": "pos", "ref": "ref_allele", "alt": "alt_allele"}
_H5_METADATA = set(_H5_VARIANTS.values()) | {"target_ids", "target_labels"}


class MissingScoreError(KeyError, ValueError):
    """A ``sad.h5`` lacks a dataset that was asked for (a KeyError and a ValueError, so that callers
    catching either see it)."""

    def __str__(self) -> str:
        # KeyError would show the message quoted, as if it were a key
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class ScoreFile:
    """The content of a ``sad.h5``.

    Attributes
    ----------
    variants : DataFrame
        ``snp, chrom, pos (1-based), ref, alt`` (those the file holds; ``snp`` always), one row per
        variant.
    stats : dict of str -> ndarray, shape (n_variants, n_targets)
    target_ids, target_labels : list of str or None
        None when the file lacks the dataset.
    sed : DataFrame or None
        The SED pairs as :func:`read_sed` returns them; None without a ``sed`` group.
    provenance : dict or None
    """

    variants: pd.DataFrame
    stats: dict
    target_ids: list | None = None
    target_labels: list | None = None
    sed: pd.DataFrame | None = None
    provenance: dict | None = None


def _sed_values(sed: pd.DataFrame) -> list:
    """Value columns of a pair table: every column but ``variant, gene_id, n_tss_bins``, in order."""
    return [c for c in sed.columns if c not in ("variant", "gene_id", "n_tss_bins")]


def write_sad_h5(path, variants: pd.DataFrame, stats: dict, *, target_ids, target_labels,
                 sed: pd.DataFrame | None = None, provenance: dict | None = None, dtype=np.float16) -> Path:
    """Write variant scores in basenji's ``sad.h5`` layout, atomically.

    Parameters
    ----------
    path : path-like
    variants : DataFrame
        ``snp, chrom, pos (1-based), ref, alt``, one row per variant, in the order of the arrays.
    stats : dict of str -> ndarray, float, shape (n_variants, n_targets)
        Stored as ``dtype``: float16 by default (basenji's choice), clipped to float16's range so that no
        score becomes inf; float32 keeps scores far below 1e-4 (such as exact simulated effects) exact.
    target_ids, target_labels : sequence of str, length n_targets
    sed : DataFrame, optional
        One row per (variant, gene): ``variant`` (row of ``variants``), ``gene_id``, ``n_tss_bins`` and
        the SED values, one column per target in target order (any names).
    provenance : dict, optional
        Stored as the JSON attribute ``provenance``.
    dtype : numpy dtype
        Of the statistics: float16 (default) or float32.

    Returns
    -------
    Path
    """
    import h5py

    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.create_dataset("snp", data=np.array(variants.snp, dtype="S"))
        h5.create_dataset("chr", data=np.array(variants.chrom, dtype="S"))
        h5.create_dataset("pos", data=variants.pos.to_numpy(np.int64))
        h5.create_dataset("ref_allele", data=np.array(variants.ref, dtype="S"))
        h5.create_dataset("alt_allele", data=np.array(variants.alt, dtype="S"))
        h5.create_dataset("target_ids", data=np.array(list(target_ids), dtype="S"))
        h5.create_dataset("target_labels", data=np.array(list(target_labels), dtype="S"))
        top = float(np.finfo(dtype).max)
        for name, x in stats.items():
            h5.create_dataset(name, data=np.clip(x, -top, top).astype(dtype))
        if sed is not None:
            g = h5.create_group("sed")
            g.create_dataset("variant", data=sed.variant.to_numpy(np.int64))
            g.create_dataset("gene_id", data=np.array(sed.gene_id, dtype="S"))
            g.create_dataset("n_tss_bins", data=sed.n_tss_bins.to_numpy(np.int64))
            g.create_dataset("SED", data=sed[_sed_values(sed)].to_numpy(np.float32))
        if provenance:
            h5.attrs["provenance"] = json.dumps(provenance, sort_keys=True)
    return path


def _missing(path, name: str, keys) -> MissingScoreError:
    if name == "snp":
        return MissingScoreError(f"{path}: no dataset 'snp' (the sad.h5 layout needs 'snp' and one dataset per "
                                 f"statistic; found {sorted(keys)})")
    return MissingScoreError(f"{path}: no statistic {name!r} (no dataset {name!r} in this sad.h5; it holds "
                             f"{sorted(keys)})")


def _check_shape(path, name: str, x: np.ndarray, n_variants: int, n_targets) -> None:
    if x.ndim != 2 or x.shape[0] != n_variants or (n_targets is not None and x.shape[1] != n_targets):
        raise ValueError(f"{path}: {name} has shape {x.shape} but there are {n_variants} snps and "
                         f"{'some' if n_targets is None else n_targets} targets")


def read_sad_h5(path, *, stats=None, dtype=np.float32) -> ScoreFile:
    """Read a ``sad.h5``.

    Parameters
    ----------
    path : path-like
    stats : sequence of str, optional
        Statistics to read; by default every dataset that is not a variant or target field.
    dtype : numpy dtype
        Of the statistics' arrays (float16 values are exact in float32 and float64).

    Returns
    -------
    ScoreFile

    Raises
    ------
    MissingScoreError
        No ``snp`` dataset, or no dataset of a requested statistic.
    ValueError
        A statistic whose shape is not (n_variants, n_targets).
    """
    import h5py

    with h5py.File(path, "r") as h5:
        keys = list(h5.keys())
        if "snp" not in h5:
            raise _missing(path, "snp", keys)
        variants = pd.DataFrame({col: (h5[key][:] if col == "pos" else h5[key][:].astype(str))
                                 for col, key in _H5_VARIANTS.items() if key in h5})
        ids, labels = ([str(s) for s in h5[k][:].astype(str)] if k in h5 else None
                       for k in ("target_ids", "target_labels"))
        names = list(stats) if stats is not None else [k for k in keys if k not in _H5_METADATA
                                                          and isinstance(h5[k], h5py.Dataset)]
        n_targets = len(labels) if labels is not None else None if ids is None else len(ids)
        out = {}
        for name in names:
            if name not in h5 or not isinstance(h5[name], h5py.Dataset):
                raise _missing(path, name, keys)
            out[name] = h5[name][:].astype(dtype)
            _check_shape(path, name, out[name], len(variants), n_targets)
        sed = _read_sed_group(h5["sed"], variants, ids) if "sed" in h5 else None
        prov = json.loads(h5.attrs["provenance"]) if "provenance" in h5.attrs else None
    return ScoreFile(variants=variants, stats=out, target_ids=ids, target_labels=labels, sed=sed, provenance=prov)


def _read_sed_group(group, variants: pd.DataFrame, target_ids) -> pd.DataFrame:
    values = group["SED"][:].astype(np.float64)
    names = target_ids if target_ids is not None else [f"t{j}" for j in range(values.shape[1])]
    pairs = pd.DataFrame(values, columns=list(names))
    pairs.insert(0, "n_tss_bins", group["n_tss_bins"][:].astype(np.int64))
    pairs.insert(0, "gene_id", group["gene_id"][:].astype(str))
    pairs.insert(0, "variant", group["variant"][:].astype(np.int64))
    return sed_table(variants, pairs, target_ids=names)


def write_sad_table(path, variants: pd.DataFrame, sad: np.ndarray, *, target_ids,
                    float_format: str = "%.6g") -> Path:
    """Write SAD as a TSV: ``snp chrom pos ref alt SAD_<target_id>...``, one row per variant, atomically.

    Parameters
    ----------
    variants : DataFrame
        ``snp, chrom, pos (1-based), ref, alt``.
    sad : ndarray, float, shape (n_variants, n_targets)
    target_ids : sequence of str, length n_targets
    """
    wide = variants[["snp", "chrom", "pos", "ref", "alt"]].copy()
    for j, t in enumerate(target_ids):
        wide[f"SAD_{t}"] = sad[:, j]
    return write_table(path, wide, float_format=float_format)


def sed_table(variants: pd.DataFrame, sed: pd.DataFrame, *, target_ids) -> pd.DataFrame:
    """The SED table from variants and (variant, gene) pairs.

    Parameters
    ----------
    variants : DataFrame
        ``snp, chrom, pos (1-based), ref, alt``, one row per variant.
    sed : DataFrame
        ``variant`` (row of ``variants``), ``gene_id``, ``n_tss_bins`` and one SED column per target,
        in the order of ``target_ids``.
    target_ids : sequence of str, length n_targets

    Returns
    -------
    DataFrame
        ``chrom, pos, ref, alt, snp, gene_id, n_tss_bins, SED_<target_id>...``, one row per pair.
    """
    cols = _sed_values(sed)
    if len(cols) != len(target_ids):
        raise ValueError(f"{len(cols)} SED columns for {len(target_ids)} target ids")
    rows = sed.variant.to_numpy(np.int64)
    v = variants.reset_index(drop=True)
    out = pd.DataFrame({k: v[k].to_numpy()[rows] for k in ("chrom", "pos", "ref", "alt", "snp")})
    out["gene_id"] = sed.gene_id.to_numpy()
    out["n_tss_bins"] = sed.n_tss_bins.to_numpy(np.int64)
    for c, t in zip(cols, target_ids):
        out[f"SED_{t}"] = sed[c].to_numpy()
    return out


def write_sed_table(path, variants: pd.DataFrame, sed: pd.DataFrame, *, target_ids,
                    float_format: str = "%.6g") -> Path:
    """Write the SED table (:func:`sed_table`) as a TSV, atomically."""
    return write_table(path, sed_table(variants, sed, target_ids=target_ids), float_format=float_format)


def read_sed(path) -> pd.DataFrame:
    """SED scores of a SED table (TSV, ``.gz`` ok) or of a ``sad.h5`` with a ``sed`` group.

    Returns
    -------
    DataFrame
        ``chrom, pos, ref, alt, snp, gene_id`` (str; ``pos`` int64, 1-based), ``n_tss_bins`` (int64) and
        one float64 ``SED_<target_id>`` column per target, one row per (variant, gene) pair.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SED file {path} does not exist")
    if h5py.is_hdf5(path):
        scores = read_sad_h5(path, stats=())
        if scores.sed is None:
            raise ValueError(f"{path}: no 'sed' group (genomodel sad writes one when given --gtf)")
        return scores.sed
    header = pd.read_csv(path, sep="\t", nrows=0).columns.tolist()
    missing = [c for c in SED_KEYS if c not in header]
    if missing:
        raise ValueError(f"{path}: an SED table needs columns {list(SED_KEYS)}; {missing} are missing")
    values = [c for c in header if c.startswith("SED_")]
    dtypes = {c: str for c in SED_KEYS} | {"pos": np.int64, "n_tss_bins": np.int64} | {c: np.float64 for c in values}
    # allele "NA" or a gene called "nan" are names, not missing values; only empty SED cells are NaN
    table = pd.read_csv(path, sep="\t", dtype=dtypes, keep_default_na=False, na_values={c: [""] for c in values})
    return table[list(SED_KEYS) + values]


def sed_for_target(path, *, target: str | None = None) -> pd.DataFrame:
    """One target's SED from an SED table or a ``sad.h5`` with a ``sed`` group (:func:`read_sed`).

    Parameters
    ----------
    path : path-like
    target : str, optional
        Target id (the ``SED_<id>`` column); may be left out when the file scores a single target.

    Returns
    -------
    DataFrame
        ``chrom, pos, ref, alt, snp, gene_id, n_tss_bins`` and ``SED`` (float64, alt minus ref), one row
        per (variant, gene) pair.

    Raises
    ------
    ValueError
        ``target`` is not among the file's targets, or is left out for a file of several targets.
    """
    sed = read_sed(path)
    ids = [c[len("SED_"):] for c in sed.columns if c.startswith("SED_")]
    if target is None and len(ids) != 1:
        raise ValueError(f"{path} holds the SED of {len(ids)} targets ({', '.join(ids[:5])}"
                         f"{', ...' if len(ids) > 5 else ''}): name the one to use")
    target = ids[0] if target is None else str(target)
    if target not in ids:
        raise ValueError(f"{path}: no SED of target {target!r}; its targets are {ids[:10]}")
    return sed[list(SED_KEYS)].assign(SED=sed[f"SED_{target}"].to_numpy(np.float64))

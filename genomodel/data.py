"""Training data: FASTA + coverage tracks (+ gaps / blacklist BED) -> binned targets -> TFRecord shards.

The pipeline (:func:`write_dataset`)
------------------------------------
1. Read ``targets.txt`` (basenji layout) and check every input up front: files exist, chromosome names
   of every BigWig / bedGraph / BED are in the FASTA (with a specific message when they differ by a
   ``chr`` prefix), BigWig chromosome lengths equal the FASTA's.
2. Tile windows of ``seq_length`` bp with ``stride`` along each chromosome (:func:`tile_windows`); skip
   windows with more than ``max_n_fraction`` N bases (from the sequence) or more than
   ``max_unmappable_fraction`` bases in the gaps / blacklist BED.
3. Split windows into train / valid / test: held-out chromosomes, seeded random fractions, or the
   Basenji2 homology-aware procedure (:func:`split_by_homology`); training windows are written in a
   seeded random order (:func:`split_windows`).
4. For every window and track: per-base coverage (missing data = 0; an explicit NaN is an error),
   blacklist handling, crop, pooling and the per-track transforms of ``targets.txt``
   (:func:`window_targets`, :func:`transform_coverage`), stored as float16 (:func:`write_records`).
5. Write ``tfrecords/{split}-{i}.tfr``, ``sequences.bed``, ``statistics.json``
   (:func:`dataset_statistics`), ``targets.txt`` and ``provenance.json`` into a temporary folder beside
   ``out_dir`` that is renamed at the end, so a failed run leaves no output folder.

Target transforms and their source
----------------------------------
``transform="basenji"`` (default) follows calico/basenji ``bin/basenji_data_read.py`` in the version
with ``--clip_soft`` and ``--black_pct`` (the Basenji2 / Borzoi-manuscript transform; the same code is
kept as the ``--transform_old`` branch of calico/baskerville
``src/baskerville/scripts/hound_data_read.py`` @ 40c8925), per window and track:

1. baseline = the ``blacklist_pct`` percentile (0.25 here) of the window's per-base coverage (the whole
   uncropped window, before any transform); blacklisted bases (BED intervals widened by
   ``blacklist_buffer`` = 20 bp each side) are set to the baseline (basenji clips them to it);
2. crop ``crop_bp`` from each end;
3. pool bins of ``pool_width``: ``sum``; ``sum_sqrt`` = sum ** 0.75 (basenji's name; its code raises to
   0.75); ``mean``; ``mean_sqrt`` = mean ** 0.75; ``max``; ``median``; ``peak`` = clip(sqrt(4 mean), 0, 1);
4. soft clip ``min(x, clip_soft + sqrt(max(0, x - clip_soft)))`` (basenji omits the ``min``, which
   raises values just above ``clip_soft``);
5. hard clip to ``[-clip, clip]``;
6. multiply by ``scale``;
7. clip to the float16 range and store as float16.

``transform="baskerville"`` follows the current default branch of that same baskerville file (and the
later basenji master): scale the per-base coverage first, pool, ``sum_sqrt`` = -1 + sqrt(1 + sum),
soft clip ``clip_soft - 1 + sqrt(x - clip_soft + 1)``, hard clip, float16 range.

Differences from basenji, on purpose: a NaN in a coverage file raises an error (basenji silently sets
it to the baseline); per-base coverage is kept in float64 (basenji rounds BigWig values to float16
before pooling); the genome-wide ``--clip_pct`` extreme-value clip over all windows is not applied.
"""
from __future__ import annotations

import gzip
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from genocore import provenance
from genocore.config import to_dict
from genocore.files import atomic_dir, write_text
from genomodel.splits import assign_splits, read_alignments
from genomodel import dna
from genomodel.io import tfrecord

logger = logging.getLogger(__name__)

SUM_STATS = ("sum", "sum_sqrt", "mean", "avg", "mean_sqrt", "avg_sqrt", "max", "median", "peak")
TRANSFORMS = ("basenji", "baskerville")
SPLIT_MODES = ("chrom", "fraction", "homology")
_BEDGRAPH_EXT = (".bedgraph", ".bg", ".bdg")
_BIGWIG_EXT = (".bw", ".bigwig")


# ---------------------------------------------------------------------------------------------------
# configuration


@dataclass(frozen=True)
class DataConfig:
    """How windows are tiled, split and turned into targets.

    Attributes
    ----------
    seq_length : int
        Window length in bp.
    pool_width : int
        Bin width in bp; ``seq_length - 2 * crop_bp`` must be a multiple of it.
    crop_bp : int
        Bases cropped from each end of the window before binning (the targets cover the centre).
    stride : int, optional
        Step between window starts; None means ``seq_length`` (no overlap).
    max_n_fraction : float
        Skip windows with a larger fraction of N bases.
    max_unmappable_fraction : float
        Skip windows with a larger fraction of bases in the gaps / blacklist BED.
    chroms : tuple of str
        Use only these chromosomes (empty: every FASTA chromosome). Chromosomes of the tracks and BED
        files outside this list are then ignored instead of refused.
    test_chroms, valid_chroms : tuple of str
        Held-out chromosomes (``split_mode="chrom"``).
    valid_fraction, test_fraction : float
        Shares of windows for valid / test drawn at random (mode ``"fraction"``; in mode ``"chrom"``
        for a split without chromosomes, drawn from the other windows), or targets for whole
        connected components (mode ``"homology"``).
    split_mode : str
        ``"chrom"``, ``"fraction"`` or ``"homology"``.
    homology_region : int
        Region size (bp) of the homology split.
    homology_min_aligned : int
        Two regions are linked when more than this many bp align between them.
    records_per_shard : int
    seed : int
        Seed of every random choice (fraction and homology splits).
    genome : str
        Genome name recorded in ``statistics.json``; also the genome label of windows for homology.
    transform : str
        ``"basenji"`` or ``"baskerville"`` (see the module docstring).
    blacklist_pct : float
        Quantile (0-1) of the window's per-base coverage that blacklisted bases are clipped to.
    blacklist_buffer : int
        Blacklist intervals are widened by this many bp on each side (basenji uses 20).
    """

    seq_length: int = 131_072
    pool_width: int = 128
    crop_bp: int = 0
    stride: int | None = None
    max_n_fraction: float = 0.3
    max_unmappable_fraction: float = 0.5
    chroms: tuple = ()
    test_chroms: tuple = ()
    valid_chroms: tuple = ()
    valid_fraction: float = 0.0
    test_fraction: float = 0.0
    split_mode: str = "chrom"
    homology_region: int = 1_000_000
    homology_min_aligned: int = 100_000
    records_per_shard: int = 256
    seed: int = 0
    genome: str = "genome"
    transform: str = "basenji"
    blacklist_pct: float = 0.25
    blacklist_buffer: int = 20

    def __post_init__(self):
        for name in ("chroms", "test_chroms", "valid_chroms"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise ValueError(f"DataConfig.{name} must be a list of chromosome names, not the string {value!r}")
            object.__setattr__(self, name, tuple(value))
        if self.seq_length <= 0 or self.pool_width <= 0:
            raise ValueError("DataConfig: seq_length and pool_width must be positive")
        if self.crop_bp < 0 or 2 * self.crop_bp >= self.seq_length:
            raise ValueError(f"DataConfig: crop_bp {self.crop_bp} must be >= 0 and leave part of seq_length "
                             f"{self.seq_length}")
        if (self.seq_length - 2 * self.crop_bp) % self.pool_width:
            raise ValueError(f"DataConfig: seq_length - 2 * crop_bp = {self.seq_length - 2 * self.crop_bp} "
                             f"is not a multiple of pool_width {self.pool_width}")
        if self.stride is not None and self.stride <= 0:
            raise ValueError(f"DataConfig: stride must be positive, got {self.stride}")
        for name in ("max_n_fraction", "max_unmappable_fraction", "blacklist_pct"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"DataConfig.{name} must be in [0, 1], got {getattr(self, name)}")
        for name in ("valid_fraction", "test_fraction"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"DataConfig.{name} must be in [0, 1), got {getattr(self, name)}")
        if self.valid_fraction + self.test_fraction >= 1:
            raise ValueError("DataConfig: valid_fraction + test_fraction must leave windows for training")
        if self.split_mode not in SPLIT_MODES:
            raise ValueError(f"DataConfig.split_mode {self.split_mode!r} is not one of {SPLIT_MODES}")
        if self.transform not in TRANSFORMS:
            raise ValueError(f"DataConfig.transform {self.transform!r} is not one of {TRANSFORMS}")
        overlap = set(self.test_chroms) & set(self.valid_chroms)
        if overlap:
            raise ValueError(f"DataConfig: chromosomes {sorted(overlap)} are in both test_chroms and valid_chroms")
        if self.split_mode != "chrom" and (self.test_chroms or self.valid_chroms):
            raise ValueError(f"DataConfig: test_chroms / valid_chroms need split_mode='chrom', not {self.split_mode!r}")
        if self.records_per_shard < 1 or self.homology_region < 1 or self.blacklist_buffer < 0:
            raise ValueError("DataConfig: records_per_shard and homology_region must be positive, "
                             "blacklist_buffer >= 0")

    @property
    def step(self) -> int:
        """The stride actually used (``seq_length`` when ``stride`` is None)."""
        return self.seq_length if self.stride is None else self.stride

    @property
    def target_length(self) -> int:
        """Bins per window."""
        return (self.seq_length - 2 * self.crop_bp) // self.pool_width


# ---------------------------------------------------------------------------------------------------
# targets.txt


def read_targets(path) -> pd.DataFrame:
    """Read a basenji ``targets.txt``.

    Tab-separated with a header; the first column is the target index (its header may be empty or
    ``index``). Columns ``identifier`` and ``file`` are required; ``clip`` (default: none),
    ``clip_soft`` (none), ``scale`` (1), ``sum_stat`` (``sum``), ``strand_pair`` (the target itself)
    and ``description`` (the identifier) are optional. Relative ``file`` paths are relative to the
    folder of ``targets.txt``.

    Returns
    -------
    DataFrame
        Columns index (int), identifier, file (absolute path, str), clip (float, NaN = none),
        clip_soft (float, NaN = none), scale (float), sum_stat, strand_pair (int), description; plus
        ``line`` (int), the line of ``targets.txt`` each row came from.

    Raises
    ------
    FileNotFoundError
        For ``targets.txt`` itself, or a row whose file does not exist (naming the line and path).
    ValueError
        For missing required columns, an unknown ``sum_stat`` or a ``strand_pair`` that names no target.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"targets file {path} does not exist")
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    first = df.columns[0]
    if first == "index" or first == "" or first.startswith("Unnamed"):
        df = df.rename(columns={first: "index"})
        index_given = True
    else:
        index_given = False
    missing = [c for c in ("identifier", "file") if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; a basenji targets.txt has a header "
                         "'<tab>identifier<tab>file<tab>clip<tab>scale<tab>sum_stat<tab>description'")
    out = pd.DataFrame({"line": np.arange(len(df)) + 2})

    def num(col, default):
        if col not in df.columns:
            return np.full(len(df), default, dtype=np.float64)
        vals = df[col].str.strip()
        try:
            return np.array([float(v) if v not in ("", "nan", "NaN", "None") else default for v in vals])
        except ValueError as err:
            raise ValueError(f"{path}: column {col!r} has a non-numeric value ({err})") from None

    out["index"] = df["index"].astype(int).to_numpy() if index_given else np.arange(len(df))
    out["identifier"] = df["identifier"].to_numpy()
    files = []
    for line, ident, f in zip(out["line"], df["identifier"], df["file"]):
        p = Path(f.strip())
        if not p.is_absolute():
            p = path.parent / p
        if not p.is_file():
            raise FileNotFoundError(f"{path} line {line} (identifier {ident!r}): coverage file {p} does not "
                                    "exist; fix the 'file' column (relative paths are relative to the "
                                    "folder of targets.txt) or create the file")
        files.append(str(p.resolve()))
    out["file"] = files
    out["clip"] = num("clip", np.nan)
    out["clip_soft"] = num("clip_soft", np.nan)
    out["scale"] = num("scale", 1.0)
    stats = df["sum_stat"].str.strip().replace("", "sum") if "sum_stat" in df.columns else pd.Series(["sum"] * len(df))
    for line, s in zip(out["line"], stats):
        if s not in SUM_STATS:
            raise ValueError(f"{path} line {line}: unknown sum_stat {s!r}; use one of {SUM_STATS}")
    out["sum_stat"] = stats.to_numpy()
    if "strand_pair" in df.columns and (df["strand_pair"].str.strip() != "").all():
        out["strand_pair"] = df["strand_pair"].astype(int).to_numpy()
    else:
        out["strand_pair"] = out["index"].to_numpy()
    known = set(out["index"])
    for line, sp in zip(out["line"], out["strand_pair"]):
        if sp not in known:
            raise ValueError(f"{path} line {line}: strand_pair {sp} names no target index")
    out["description"] = (df["description"].to_numpy() if "description" in df.columns else out["identifier"].to_numpy())
    return out[["index", "identifier", "file", "clip", "clip_soft", "scale", "sum_stat", "strand_pair",
                "description", "line"]]


def strand_pair_positions(path) -> np.ndarray:
    """Row position of each target's opposite-strand partner in a ``targets.txt`` (itself if unstranded).

    basenji's ``strand_pair`` column holds the partner's value of the index column, which need not be
    0..n-1 (a subset keeps its original indices); empty, NaN or -1 means unstranded. The coverage files
    are not needed (a records folder's ``targets.txt`` names files on another machine).

    Returns
    -------
    ndarray, int64, shape (n_targets,)
    """
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    n = len(df)
    first = df.columns[0]
    index_given = first in ("", "index") or first.startswith("Unnamed")
    index = df[first].astype(int).to_numpy() if index_given else np.arange(n)
    if "strand_pair" not in df.columns:
        return np.arange(n)
    pos = {int(v): i for i, v in enumerate(index)}
    out = np.arange(n)
    for i, v in enumerate(df["strand_pair"].str.strip()):
        if v in ("", "nan", "NaN", "-1"):
            continue
        if int(float(v)) not in pos:
            raise ValueError(f"{path} line {i + 2}: strand_pair {v} names no target index")
        out[i] = pos[int(float(v))]
    return out


def _targets_text(targets: pd.DataFrame) -> str:
    """basenji layout: unnamed index column first, empty cells for 'no clip'."""
    df = targets[["index", "identifier", "file", "clip", "clip_soft", "scale", "sum_stat", "strand_pair",
                  "description"]].copy()
    df = df.rename(columns={"index": ""})
    for col in ("clip", "clip_soft"):
        df[col] = [("" if not np.isfinite(v) else f"{v:g}") for v in df[col]]
    df["scale"] = [f"{v:g}" for v in df["scale"]]
    return df.to_csv(sep="\t", index=False, lineterminator="\n")


# ---------------------------------------------------------------------------------------------------
# transforms


def transform_coverage(cov: np.ndarray, *, pool_width: int, crop_bp: int = 0, sum_stat: str = "sum",
                       scale: float = 1.0, clip: float | None = None, clip_soft: float | None = None,
                       transform: str = "basenji") -> np.ndarray:
    """Per-base coverage of windows -> transformed bins (steps 2-7 of the module docstring).

    Parameters
    ----------
    cov : ndarray, float, shape (..., seq_length)
        Per-base coverage of whole windows (blacklist already handled).
    pool_width, crop_bp : int
    sum_stat : str
        One of :data:`SUM_STATS`.
    scale : float
    clip, clip_soft : float or None
        None or NaN means no clipping.
    transform : str
        ``"basenji"`` or ``"baskerville"``.

    Returns
    -------
    ndarray, float32, shape (..., (seq_length - 2 * crop_bp) // pool_width)
        Within the float16 range.
    """
    if transform not in TRANSFORMS:
        raise ValueError(f"transform {transform!r} is not one of {TRANSFORMS}")
    if sum_stat not in SUM_STATS:
        raise ValueError(f"sum_stat {sum_stat!r} is not one of {SUM_STATS}")
    x = np.asarray(cov, dtype=np.float64)
    if crop_bp:
        x = x[..., crop_bp:x.shape[-1] - crop_bp]
    n = x.shape[-1]
    if n % pool_width:
        raise ValueError(f"{n} bp after cropping is not a multiple of pool_width {pool_width}")
    new = transform == "baskerville"
    if new:
        x = scale * x
    x = x.reshape(x.shape[:-1] + (n // pool_width, pool_width))
    if sum_stat in ("sum", "sum_sqrt"):
        b = x.sum(axis=-1)
    elif sum_stat in ("mean", "avg", "mean_sqrt", "avg_sqrt", "peak"):
        b = x.mean(axis=-1)
    elif sum_stat == "max":
        b = x.max(axis=-1)
    else:
        b = np.median(x, axis=-1)
    if sum_stat in ("sum_sqrt", "mean_sqrt", "avg_sqrt"):
        b = -1 + np.sqrt(1 + b) if new else np.power(b, 0.75)
    elif sum_stat == "peak":
        b = np.clip(np.sqrt(b * 4), 0, 1)
    if clip_soft is not None and np.isfinite(clip_soft):
        over = b > clip_soft
        if new:
            b = np.where(over, clip_soft - 1 + np.sqrt(np.where(over, b - clip_soft + 1, 1.0)), b)
        else:
            # the min(x, t + sqrt(x - t)): basenji's formula alone would raise values in (t, t + 1)
            b = np.where(over, np.minimum(b, clip_soft + np.sqrt(np.where(over, b - clip_soft, 0.0))), b)
    if clip is not None and np.isfinite(clip):
        b = np.clip(b, -clip, clip)
    if not new:
        b = scale * b
    f16 = np.finfo(np.float16)
    return np.clip(b, f16.min, f16.max).astype(np.float32)


def clip_blacklisted(cov: np.ndarray, mask: np.ndarray, *, pct: float) -> np.ndarray:
    """Set blacklisted bases of one window to the window's ``pct`` quantile (basenji's ``--black_pct``
    baseline; basenji clips to it, this sets, so blacklisted bins carry neither artefacts nor holes).

    Parameters
    ----------
    cov : ndarray, float, shape (seq_length,)
        Per-base coverage of the whole window.
    mask : ndarray, bool, shape (seq_length,)
        Blacklisted bases.
    pct : float
        Quantile in [0, 1]; the baseline is ``np.percentile(cov, 100 * pct)`` over all bases of the window.

    Returns
    -------
    ndarray, float64, shape (seq_length,)
    """
    out = np.array(cov, dtype=np.float64)
    if mask.any():
        base = float(np.percentile(out, 100 * pct))
        out[mask] = base
    return out


# ---------------------------------------------------------------------------------------------------
# intervals


def _merge(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of half-open intervals as sorted, disjoint (starts, ends)."""
    if len(starts) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    o = np.argsort(starts, kind="stable")
    s, e = np.asarray(starts, np.int64)[o], np.asarray(ends, np.int64)[o]
    reach = np.maximum.accumulate(e)
    new = np.ones(len(s), bool)
    new[1:] = s[1:] > reach[:-1]
    groups = np.cumsum(new) - 1
    ms = s[new]
    me = np.zeros(len(ms), np.int64)
    np.maximum.at(me, groups, e)
    return ms, me


def _covered(starts: np.ndarray, ends: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Bases of the disjoint sorted intervals below each position x (a cumulative coverage function)."""
    x = np.asarray(x, np.int64)
    if len(starts) == 0:
        return np.zeros(x.shape, np.int64)
    cum = np.concatenate([[0], np.cumsum(ends - starts)])
    i = np.searchsorted(starts, x, side="right") - 1
    ok = i >= 0
    ii = np.where(ok, i, 0)
    part = np.clip(x - starts[ii], 0, ends[ii] - starts[ii])
    return np.where(ok, cum[ii] + part, 0)


def _n_runs(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Runs of N (code 4) as (starts, ends)."""
    isn = np.concatenate([[False], codes == dna.N_CODE, [False]])
    d = np.flatnonzero(np.diff(isn.astype(np.int8)))
    return d[0::2].astype(np.int64), d[1::2].astype(np.int64)


def read_bed(path) -> pd.DataFrame:
    """The first three columns of a BED file (``#``, ``track`` and ``browser`` lines skipped).

    Returns
    -------
    DataFrame with columns chrom (str), start, end (int64, 0-based half-open), and ``line`` (1-based
    line in the file); read by :func:`genocore.bed.read_bed`.
    """
    from genocore.bed import read_bed as _read_bed

    return _read_bed(path)[["chrom", "start", "end", "line"]]


# ---------------------------------------------------------------------------------------------------
# chromosome checks


def _alt_name(chrom: str) -> str:
    return chrom[3:] if chrom.startswith("chr") else "chr" + chrom


def _check_names(source: str, names, fasta_path, fasta_sizes: dict, used: list, restricted: bool,
                 what: str = "chromosome") -> None:
    """Every name of ``source`` must be in the FASTA (or outside ``used`` when chromosomes are restricted)."""
    names = list(dict.fromkeys(names))
    used_set = set(used)
    prefix = [c for c in names if c not in fasta_sizes and _alt_name(c) in fasta_sizes]
    prefix += [_alt_name(c) for c in used if c not in set(names) and _alt_name(c) in set(names)
               and _alt_name(c) not in fasta_sizes]
    if prefix:
        c = prefix[0]
        raise ValueError(
            f"{source} names {what} {c!r} but the FASTA {fasta_path} calls it {_alt_name(c)!r}: the names differ "
            f"by a 'chr' prefix. Rename the chromosomes of one file so that they match (e.g. "
            f"{'add' if not c.startswith('chr') else 'remove'} the 'chr' prefix in {source}).")
    missing = [c for c in names if c not in fasta_sizes and (not restricted or c in used_set)]
    if missing:
        raise ValueError(
            f"{source} names {what} {missing[0]!r} (of {len(missing)} missing) but the FASTA {fasta_path} has "
            f"no such sequence (it has {', '.join(list(fasta_sizes)[:8])}{', ...' if len(fasta_sizes) > 8 else ''}). "
            "Use the FASTA of the same genome build, or list the chromosomes to use in DataConfig.chroms.")


# ---------------------------------------------------------------------------------------------------
# coverage tracks


def _fill(length: int, offset: int, starts, ends, values) -> np.ndarray:
    """Per-base array of ``length`` from disjoint intervals (clipped to [offset, offset + length))."""
    out = np.zeros(length, np.float64)
    if len(starts) == 0:
        return out
    s = np.clip(np.asarray(starts, np.int64) - offset, 0, length)
    e = np.clip(np.asarray(ends, np.int64) - offset, 0, length)
    n = e - s
    keep = n > 0
    s, n, v = s[keep], n[keep], np.asarray(values, np.float64)[keep]
    if len(s) == 0:
        return out
    first = np.repeat(np.cumsum(n) - n, n)
    pos = np.repeat(s, n) + (np.arange(n.sum()) - first)
    out[pos] = np.repeat(v, n)
    return out


class _BigWig:
    """Coverage from a BigWig, read as intervals so that explicit NaN entries are seen."""

    def __init__(self, path: str):
        import pyBigWig

        self.path = path
        bw = pyBigWig.open(path)
        if bw is None or not bw.isBigWig():
            raise ValueError(f"{path} is not a BigWig file (pyBigWig cannot open it); convert it with "
                             "bedGraphToBigWig or give a bedGraph with a .bedGraph extension")
        self.bw = bw
        self.chrom_sizes = dict(bw.chroms())

    def read(self, chrom: str, start: int, end: int) -> np.ndarray:
        if chrom not in self.chrom_sizes:
            return np.zeros(end - start)
        values = np.asarray(self.bw.values(chrom, start, end, numpy=True), dtype=np.float64)
        missing = np.isnan(values)
        if not missing.any():
            return values
        # bases without an entry read as NaN too; only an entry written as NaN is an error
        iv = self.bw.intervals(chrom, start, end)
        a = np.array(iv or [], dtype=np.float64).reshape(-1, 3)
        bad = np.isnan(a[:, 2])
        if bad.any():
            p = int(max(a[bad][0, 0], start))
            raise ValueError(f"{self.path}: NaN coverage at {chrom}:{p + 1} (entry {chrom}:{int(a[bad][0, 0])}-"
                             f"{int(a[bad][0, 1])}, 0-based half-open); missing data must be left out of the "
                             "file (it reads as 0), not written as NaN. Regenerate the BigWig without NaN.")
        values[missing] = 0.0
        return values

    def close(self):
        self.bw.close()


class _BedGraph:
    """Coverage from a bedGraph (chrom start end value), held in memory per chromosome."""

    def __init__(self, path: str):
        self.path = path
        p = Path(path)
        opener = gzip.open if p.suffix == ".gz" else open
        with opener(p, "rt") as fh:
            lines = fh.readlines()
        keep = [i for i, ln in enumerate(lines) if ln.strip() and not ln.startswith(("#", "track", "browser"))]
        text = "".join(lines[i] for i in keep)
        names = ["chrom", "start", "end", "value"]
        if text:
            df = pd.read_csv(io.StringIO(text), sep=r"\s+", header=None, usecols=[0, 1, 2, 3], names=names)
        else:
            logger.warning("%s has no data lines; its coverage is 0 everywhere", path)
            df = pd.DataFrame({k: [] for k in names})
        df = df.astype({"chrom": str, "start": np.int64, "end": np.int64, "value": np.float64})
        df["line"] = np.asarray(keep, np.int64) + 1
        bad = df["value"].isna().to_numpy()
        if bad.any():
            r = df[bad].iloc[0]
            raise ValueError(f"{path} line {r.line}: NaN coverage at {r.chrom}:{r.start + 1}; missing data must "
                             "be left out of the file (it reads as 0), not written as NaN")
        self.df = df
        self.chrom_sizes = None
        self.by_chrom = {c: (g["start"].to_numpy(), g["end"].to_numpy(), g["value"].to_numpy())
                         for c, g in df.sort_values(["chrom", "start"]).groupby("chrom", sort=False)}

    def check_lengths(self, fasta_path, fasta_sizes: dict) -> None:
        for c, (s, e, _) in self.by_chrom.items():
            if c in fasta_sizes and len(e) and e.max() > fasta_sizes[c]:
                r = self.df[(self.df.chrom == c) & (self.df.end > fasta_sizes[c])].iloc[0]
                raise ValueError(f"{self.path} line {r.line}: interval {c}:{r.start}-{r.end} ends past the "
                                 f"end of {c} in the FASTA {fasta_path} ({fasta_sizes[c]} bp); the files are "
                                 "of different genome builds")

    def read(self, chrom: str, start: int, end: int) -> np.ndarray:
        if chrom not in self.by_chrom:
            return np.zeros(end - start)
        s, e, v = self.by_chrom[chrom]
        i0 = np.searchsorted(e, start, side="right")
        i1 = np.searchsorted(s, end, side="left")
        return _fill(end - start, start, s[i0:i1], e[i0:i1], v[i0:i1])

    def close(self):
        pass


def open_track(path):
    """A coverage reader for a BigWig (``.bw``, ``.bigWig``) or bedGraph (``.bedGraph``, ``.bg``,
    ``.bdg``, optionally ``.gz``). Its ``read(chrom, start, end)`` returns float64 per-base coverage,
    0 where the file has no data, and raises ValueError on NaN."""
    name = str(path).lower()
    base = name[:-3] if name.endswith(".gz") else name
    if base.endswith(_BEDGRAPH_EXT):
        return _BedGraph(str(path))
    if base.endswith(_BIGWIG_EXT):
        return _BigWig(str(path))
    raise ValueError(f"{path}: unknown coverage format; use a BigWig (.bw/.bigWig) or a bedGraph "
                     "(.bedGraph/.bg/.bdg)")


# ---------------------------------------------------------------------------------------------------
# FASTA and windows


class _Genome:
    """A FASTA through pyfaidx, with base codes of one chromosome cached at a time."""

    def __init__(self, path):
        from genomodel.io.fasta import open_fasta

        self.path = Path(path)
        self.fa = open_fasta(self.path, upper=False)
        self.sizes = {k: len(v) for k, v in self.fa.items()}
        self._chrom, self._codes = None, None

    def codes(self, chrom: str) -> np.ndarray:
        if chrom != self._chrom:
            self._codes = dna.encode(self.fa[chrom][:])
            self._chrom = chrom
        return self._codes

    def window(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Base codes of ``chrom:start-end`` (0-based half-open), read from the file: records are written
        in a shuffled order, so caching whole chromosomes would re-read them over and over."""
        if chrom == self._chrom:
            return self._codes[start:end]
        return dna.encode(self.fa[chrom][start:end])

    def close(self):
        self.fa.close()


def interval_dict(df: pd.DataFrame | None, *, buffer: int = 0) -> dict:
    """BED intervals (chrom start end) widened by ``buffer`` bp and merged: chrom -> (starts, ends),
    the form :func:`window_targets` takes its blacklist in."""
    out = {}
    if df is None or len(df) == 0:
        return out
    for c, g in df.groupby("chrom", sort=False):
        out[c] = _merge(np.maximum(g["start"].to_numpy() - buffer, 0), g["end"].to_numpy() + buffer)
    return out


def _union(a: dict, b: dict) -> dict:
    out = {}
    for c in set(a) | set(b):
        sa, ea = a.get(c, (np.zeros(0, np.int64),) * 2)
        sb, eb = b.get(c, (np.zeros(0, np.int64),) * 2)
        out[c] = _merge(np.concatenate([sa, sb]), np.concatenate([ea, eb]))
    return out


def tile_windows(chrom_sizes: dict, *, config: DataConfig, codes=None, unmappable: dict | None = None
                 ) -> pd.DataFrame:
    """All windows of ``seq_length`` at ``stride`` along each chromosome, with their N and unmappable shares.

    Parameters
    ----------
    chrom_sizes : dict of str -> int
        The chromosomes to tile, in order.
    config : DataConfig
    codes : callable, optional
        ``codes(chrom) -> ndarray uint8`` base codes of a chromosome, for the N fraction.
    unmappable : dict of str -> (starts, ends), optional
        Disjoint sorted unmappable intervals per chromosome.

    Returns
    -------
    DataFrame
        Columns chrom, start, end, n_fraction, unmappable_fraction, keep (bool: both within limits).
    """
    L, step = config.seq_length, config.step
    parts = []
    for chrom, size in chrom_sizes.items():
        if size < L:
            continue
        starts = np.arange(0, size - L + 1, step, dtype=np.int64)
        ends = starts + L
        if codes is not None:
            ns, ne = _n_runs(codes(chrom))
            nfrac = (_covered(ns, ne, ends) - _covered(ns, ne, starts)) / L
        else:
            nfrac = np.zeros(len(starts))
        us, ue = (unmappable or {}).get(chrom, (np.zeros(0, np.int64),) * 2)
        ufrac = (_covered(us, ue, ends) - _covered(us, ue, starts)) / L
        parts.append(pd.DataFrame({"chrom": chrom, "start": starts, "end": ends, "n_fraction": nfrac,
                                   "unmappable_fraction": ufrac}))
    if not parts:
        return pd.DataFrame({"chrom": pd.Series(dtype=str), "start": pd.Series(dtype=np.int64),
                             "end": pd.Series(dtype=np.int64), "n_fraction": pd.Series(dtype=float),
                             "unmappable_fraction": pd.Series(dtype=float), "keep": pd.Series(dtype=bool)})
    w = pd.concat(parts, ignore_index=True)
    w["keep"] = (w["n_fraction"] <= config.max_n_fraction) & (w["unmappable_fraction"] <= config.max_unmappable_fraction)
    return w


# ---------------------------------------------------------------------------------------------------
# the whole pipeline


def _window_mask(iv: tuple, start: int, end: int) -> np.ndarray | None:
    s, e = iv
    i0 = np.searchsorted(e, start, side="right")
    i1 = np.searchsorted(s, end, side="left")
    if i1 <= i0:
        return None
    m = np.zeros(end - start, bool)
    for a, b in zip(s[i0:i1], e[i0:i1]):
        m[max(a - start, 0):min(b - start, end - start)] = True
    return m


def window_targets(tracks: list, targets: pd.DataFrame, chrom: str, start: int, end: int, *,
                   config: DataConfig, blacklist: dict | None = None) -> np.ndarray:
    """Targets of one window for every track.

    Parameters
    ----------
    tracks : list of coverage readers (:func:`open_track`), in the order of ``targets``
    targets : DataFrame from :func:`read_targets`
    blacklist : dict of chrom -> (starts, ends), optional
        Disjoint sorted blacklist intervals (already widened by the buffer).

    Returns
    -------
    ndarray, float32, shape (target_length, num_targets)
    """
    mask = _window_mask(blacklist[chrom], start, end) if blacklist and chrom in blacklist else None
    out = np.empty((config.target_length, len(tracks)), np.float32)
    columns = zip(targets["sum_stat"], targets["scale"], targets["clip"], targets["clip_soft"])  # not itertuples: hot
    for j, (tr, (sum_stat, scale, clip, clip_soft)) in enumerate(zip(tracks, columns)):
        cov = tr.read(chrom, start, end)
        if mask is not None:
            cov = clip_blacklisted(cov, mask, pct=config.blacklist_pct)
        out[:, j] = transform_coverage(cov, pool_width=config.pool_width, crop_bp=config.crop_bp,
                                       sum_stat=sum_stat, scale=scale, clip=clip,
                                       clip_soft=clip_soft, transform=config.transform)
    return out


def _used_chromosomes(cfg: DataConfig, sizes: dict, fasta_path) -> list:
    """The chromosomes to tile (``cfg.chroms`` or the whole FASTA), after checking that every one named exists."""
    for c in list(cfg.chroms) + list(cfg.test_chroms) + list(cfg.valid_chroms):
        if c not in sizes:
            hint = (f" (the FASTA has {_alt_name(c)!r}: the names differ by a 'chr' prefix)"
                    if _alt_name(c) in sizes else "")
            raise ValueError(f"DataConfig names chromosome {c!r} but the FASTA {fasta_path} has no such "
                             f"sequence{hint}; fix DataConfig.chroms / test_chroms / valid_chroms")
    return list(cfg.chroms) if cfg.chroms else list(sizes)


def _open_tracks(tdf: pd.DataFrame, sizes: dict, fasta_path, used: list, restricted: bool) -> list:
    """Readers of the targets' files, in their order, checked against the FASTA (all closed when one fails)."""
    tracks = []
    try:
        for row in tdf.itertuples(index=False):
            tr = open_track(row.file)
            tracks.append(tr)
            src = f"{row.file} (targets.txt line {row.line}, identifier {row.identifier!r})"
            if isinstance(tr, _BigWig):
                _check_names(src, tr.chrom_sizes, fasta_path, sizes, used, restricted)
                for c in used:
                    if c in tr.chrom_sizes and tr.chrom_sizes[c] != sizes[c]:
                        rel = "shorter" if tr.chrom_sizes[c] < sizes[c] else "longer"
                        raise ValueError(f"{src}: chromosome {c} is {tr.chrom_sizes[c]} bp, {rel} than in the "
                                         f"FASTA {fasta_path} ({sizes[c]} bp); the files are of different "
                                         "genome builds. Use coverage made against this FASTA.")
                absent = [c for c in used if c not in tr.chrom_sizes]
                if absent:
                    logger.warning("%s has no chromosome %s; its coverage there is 0", row.file, ", ".join(absent))
            else:
                _check_names(src, tr.by_chrom, fasta_path, sizes, used, restricted)
                tr.check_lengths(fasta_path, sizes)
    except BaseException:
        for tr in tracks:
            tr.close()
        raise
    return tracks


def _read_beds(gaps, blacklist, sizes: dict, fasta_path, used: list, restricted: bool) -> dict:
    """The gaps and blacklist BEDs given ("gaps", "blacklist" -> DataFrame on ``used`` chromosomes), checked."""
    beds = {}
    for name, p in (("gaps", gaps), ("blacklist", blacklist)):
        if p is None:
            continue
        bed = read_bed(p)
        _check_names(f"{name} BED {p}", bed["chrom"], fasta_path, sizes, used, restricted)
        over = bed[bed["chrom"].isin(list(sizes)) & (bed["end"] > bed["chrom"].map(sizes).fillna(np.inf))]
        if len(over):
            r = over.iloc[0]
            raise ValueError(f"{name} BED {p} line {r.line}: {r.chrom}:{r.start}-{r.end} ends past the end of "
                             f"{r.chrom} in the FASTA {fasta_path} ({sizes[r.chrom]} bp); use a BED of this "
                             "genome build")
        beds[name] = bed[bed["chrom"].isin(used)]
    return beds


def _dataset_windows(windows: pd.DataFrame | None, genome: _Genome, used: list, cfg: DataConfig, unmappable: dict
                     ) -> tuple[pd.DataFrame, dict]:
    """The given windows, checked, or the tiled windows within the N and unmappable limits (chrom, start,
    end); and the counts ``windows_tiled``, ``skipped_n``, ``skipped_unmappable``."""
    if windows is not None:
        w = _check_windows(windows, genome.sizes, cfg, genome.path)
        return w, {"windows_tiled": len(w), "skipped_n": 0, "skipped_unmappable": 0}
    w = tile_windows({c: genome.sizes[c] for c in used}, config=cfg, codes=genome.codes, unmappable=unmappable)
    skipped_n = int((w["n_fraction"] > cfg.max_n_fraction).sum())
    skipped_u = int(((w["n_fraction"] <= cfg.max_n_fraction)
                     & (w["unmappable_fraction"] > cfg.max_unmappable_fraction)).sum())
    kept = w[w["keep"]].reset_index(drop=True)[["chrom", "start", "end"]]
    logger.info("%d windows tiled; %d skipped for N, %d for unmappable; %d kept", len(w), skipped_n,
                skipped_u, len(kept))
    return kept, {"windows_tiled": len(w), "skipped_n": skipped_n, "skipped_unmappable": skipped_u}


def genome_windows(fasta, *, config: DataConfig, gaps=None, blacklist=None) -> pd.DataFrame:
    """The windows :func:`write_dataset` tiles over one genome (chrom, start, end): within the N and
    unmappable limits, on the chromosomes ``config`` uses."""
    genome = _Genome(fasta)
    try:
        sizes = genome.sizes
        used = _used_chromosomes(config, sizes, genome.path)
        beds = _read_beds(gaps, blacklist, sizes, genome.path, used, bool(config.chroms))
        unmappable = _union(interval_dict(beds.get("gaps")), interval_dict(beds.get("blacklist")))
        return _dataset_windows(None, genome, used, config, unmappable)[0]
    finally:
        genome.close()


def split_windows(windows: pd.DataFrame, *, config: DataConfig, alignment=None, source: str = "") -> pd.DataFrame:
    """Windows with a ``split`` label, in the order their records are written.

    Parameters
    ----------
    windows : DataFrame
        n_windows rows with chrom, start, end (bp, 0-based half-open) and, optionally, ``split``; an
        existing ``split`` column is kept, otherwise labels come from :func:`genomodel.splits.assign_splits`.
    config : DataConfig
        ``split_mode`` and its options, and ``seed`` for the order of the training windows.
    alignment : str, Path or DataFrame, optional
        For ``split_mode="homology"``: a chain / pairs file (its first genome is ``config.genome``, the
        second is named ``"aligned"``) or blocks from :func:`genomodel.splits.read_alignments`.
    source : str
        Named in error messages (e.g. the FASTA).

    Returns
    -------
    DataFrame
        The same windows and columns plus ``split``, index reset: train, then valid, then test. Training
        windows are in a seeded random order, as basenji writes them (the reader shuffles only through a
        buffer, so genome order would give batches of neighbouring windows); valid and test keep their order.

    Raises
    ------
    ValueError
        A split label other than train / valid / test, or an empty split (see ``assign_splits``).
    """
    cfg = config
    w = windows
    if "split" not in w.columns:
        blocks = alignment
        if cfg.split_mode == "homology" and alignment is not None and not isinstance(alignment, pd.DataFrame):
            blocks = read_alignments(alignment, genome1=cfg.genome, genome2="aligned")
        w = w.assign(split=assign_splits(w, config=cfg, alignment=blocks, source=source))
    order = {"train": 0, "valid": 1, "test": 2}
    bad = set(w["split"]) - set(order)
    if bad:
        raise ValueError(f"windows have split labels {sorted(bad)}; use train / valid / test")
    rank = np.random.default_rng([cfg.seed, 7]).permutation(len(w))
    w = w.assign(_o=w["split"].map(order), _r=np.where(w["split"].to_numpy() == "train", rank, 0))
    w = w.sort_values(["_o", "_r"], kind="stable").drop(columns=["_o", "_r"])
    return w.reset_index(drop=True)


def write_records(folder, windows: pd.DataFrame, *, codes, tracks: list, targets: pd.DataFrame, config: DataConfig,
                  blacklist: dict | None = None, progress=None) -> dict:
    """Write the TFRecord shards of every split: one record (sequence, targets) per window.

    Parameters
    ----------
    folder : str or Path
        The dataset folder; shards go to ``tfrecords/{split}-{i}.tfr`` with ``config.records_per_shard``
        records each.
    windows : DataFrame
        n_windows rows with chrom, start, end, split (e.g. from :func:`split_windows`), written in this
        order within each split.
    codes : callable
        ``codes(chrom, start, end) -> ndarray uint8``: the base codes of a window.
    tracks, targets, config, blacklist
        As for :func:`window_targets`.
    progress : callable, optional
        Called as ``progress(done, n_windows)`` after each record.

    Returns
    -------
    dict of str -> int
        Records written per split (``train``, ``valid``, ``test``).
    """
    counts, done, total = {}, 0, len(windows)
    for split in ("train", "valid", "test"):
        sw = windows[windows["split"] == split]
        with tfrecord.RecordWriter(folder, split, records_per_shard=config.records_per_shard) as writer:
            for chrom, start, end in zip(sw["chrom"], sw["start"], sw["end"]):
                seq = codes(chrom, int(start), int(end))
                y = window_targets(tracks, targets, chrom, int(start), int(end), config=config, blacklist=blacklist)
                writer.write(seq, y)
                done += 1
                if progress is not None:
                    progress(done, total)
        counts[split] = writer.n_records
    return counts


def dataset_statistics(*, config: DataConfig, num_targets: int, counts: dict) -> dict:
    """The content of ``statistics.json``: basenji's keys plus the encoding, transform and split settings.

    Parameters
    ----------
    config : DataConfig
    num_targets : int
        Number of tracks (rows of ``targets.txt``).
    counts : dict of str -> int
        Records per split, as :func:`write_records` returns.

    Returns
    -------
    dict
        Lengths (``seq_length``, ``target_length``, bp and bins), ``pool_width`` and ``crop_bp`` (bp),
        ``{split}_seqs`` counts, ``genome``, ``seq_encoding``, ``target_dtype``, ``transform``, ``stride`` (bp)
        and ``split_mode``.
    """
    cfg = config
    return {"num_targets": num_targets, "seq_length": cfg.seq_length, "seq_1hot": True,
            "pool_width": cfg.pool_width, "crop_bp": cfg.crop_bp, "target_length": cfg.target_length,
            "train_seqs": counts["train"], "valid_seqs": counts["valid"], "test_seqs": counts["test"],
            "genome": cfg.genome, "seq_encoding": "base_index", "target_dtype": "float16",
            "transform": cfg.transform, "stride": cfg.step, "split_mode": cfg.split_mode}


def _write_metadata(folder: Path, windows: pd.DataFrame, tdf: pd.DataFrame, stats: dict, cfg: DataConfig,
                    inputs: dict) -> None:
    """``sequences.bed``, ``statistics.json``, ``targets.txt`` and ``provenance.json`` of a dataset folder."""
    tfrecord.write_sequences_bed(folder, windows)
    tfrecord.write_statistics(folder, stats)
    write_text(folder / "targets.txt", _targets_text(tdf))
    inputs = dict(inputs)
    inputs.update({f"track_{i}": Path(f) for i, f in zip(tdf["index"], tdf["file"])})
    provenance.write(folder / "provenance.json", provenance.record(
        command="genomodel.data.write_dataset", config=to_dict(cfg), inputs=inputs,
        extra={"statistics": stats}))


def write_dataset(out_dir, *, fasta, targets, blacklist=None, gaps=None, config: DataConfig,
                  alignment=None, windows: pd.DataFrame | None = None, progress=None,
                  overwrite: bool = False) -> dict:
    """Make a basenji / baskerville training-data folder from a FASTA and coverage tracks.

    The stages, in order: check the inputs against the FASTA, :func:`tile_windows` (or check the given
    windows), :func:`split_windows`, :func:`write_records`, then ``sequences.bed``,
    :func:`dataset_statistics`, ``targets.txt`` and ``provenance.json``.

    Parameters
    ----------
    out_dir : str or Path
        The folder to create (built in a temporary folder beside it and renamed at the end).
    fasta : str or Path
        Genome FASTA with a ``.fai`` index (pyfaidx makes one if absent and the folder is writable).
    targets : str or Path
        basenji ``targets.txt`` naming BigWig / bedGraph files (see :func:`read_targets`).
    blacklist, gaps : str or Path, optional
        BED files. Both count as unmappable when filtering windows; blacklisted bases are also clipped
        to a low baseline in the coverage (see the module docstring).
    config : DataConfig
    alignment : str, Path or DataFrame, optional
        For ``split_mode="homology"``: a chain / pairs file (its first genome is ``config.genome``, the
        second is taken as another genome named ``"aligned"``), or blocks from :func:`read_alignments`.
    windows : DataFrame, optional
        Use these windows (chrom, start, end[, split]) instead of tiling; with a ``split`` column the
        splits are kept (e.g. from :func:`split_by_homology` run over several genomes).
    progress : callable, optional
        Called as ``progress(done, total)`` after each record.
    overwrite : bool
        Replace an existing ``out_dir``.

    Returns
    -------
    dict
        ``out_dir``, ``windows_tiled``, ``skipped_n``, ``skipped_unmappable``, ``train_seqs``,
        ``valid_seqs``, ``test_seqs``, ``num_targets``, ``seq_length``, ``target_length``.

    Raises
    ------
    FileNotFoundError, ValueError
        For unusable inputs, naming the file and record; no output folder is left behind.
    """
    cfg = config
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} exists; remove it or pass overwrite=True")
    targets_path = Path(targets)
    tdf = read_targets(targets_path)
    if len(tdf) == 0:
        raise ValueError(f"{targets_path}: no targets listed")
    genome = _Genome(fasta)
    tracks = []
    try:
        sizes = genome.sizes
        used = _used_chromosomes(cfg, sizes, genome.path)
        tracks = _open_tracks(tdf, sizes, genome.path, used, bool(cfg.chroms))
        beds = _read_beds(gaps, blacklist, sizes, genome.path, used, bool(cfg.chroms))
        black_iv = interval_dict(beds.get("blacklist"), buffer=cfg.blacklist_buffer)
        unmap_iv = _union(interval_dict(beds.get("gaps")), interval_dict(beds.get("blacklist")))
        w, tiling = _dataset_windows(windows, genome, used, cfg, unmap_iv)
        w = split_windows(w, config=cfg, alignment=alignment, source=f"FASTA {genome.path}")
        with atomic_dir(out_dir, overwrite=overwrite) as tmp:
            counts = write_records(tmp, w, codes=genome.window, tracks=tracks, targets=tdf, config=cfg,
                                   blacklist=black_iv, progress=progress)
            stats = dataset_statistics(config=cfg, num_targets=len(tdf), counts=counts)
            inputs = {"fasta": genome.path, "targets": targets_path}
            inputs.update({k: Path(v) for k, v in (("gaps", gaps), ("blacklist", blacklist)) if v is not None})
            _write_metadata(tmp, w, tdf, stats, cfg, inputs)
    finally:
        for tr in tracks:
            tr.close()
        genome.close()
    summary = {"out_dir": str(out_dir), **tiling, "train_seqs": counts["train"], "valid_seqs": counts["valid"],
               "test_seqs": counts["test"], "num_targets": len(tdf), "seq_length": cfg.seq_length,
               "target_length": cfg.target_length}
    logger.info("wrote %s: %s", out_dir, json.dumps({k: v for k, v in summary.items() if k != "out_dir"}))
    return summary


def _check_windows(windows: pd.DataFrame, sizes: dict, cfg: DataConfig, fasta_path) -> pd.DataFrame:
    cols = ["chrom", "start", "end"] + (["split"] if "split" in windows.columns else [])
    w = windows[cols].reset_index(drop=True).copy()
    w["start"] = w["start"].astype(np.int64)
    w["end"] = w["end"].astype(np.int64)
    for i, r in enumerate(w.itertuples(index=False)):
        if r.chrom not in sizes:
            raise ValueError(f"window {i} ({r.chrom}:{r.start}-{r.end}) is on a chromosome the FASTA {fasta_path} "
                             "lacks; drop it or use the matching FASTA")
        if r.end - r.start != cfg.seq_length or r.start < 0 or r.end > sizes[r.chrom]:
            raise ValueError(f"window {i} ({r.chrom}:{r.start}-{r.end}) is not a {cfg.seq_length}-bp window inside "
                             f"{r.chrom} ({sizes[r.chrom]} bp in {fasta_path})")
    return w


def float16_round(x) -> np.ndarray:
    """Values as stored in the records (float16), back as float32; for comparing with records."""
    return np.asarray(x, np.float32).astype(np.float16).astype(np.float32)


__all__ = ["DataConfig", "read_targets", "transform_coverage", "clip_blacklisted", "read_bed", "open_track",
           "tile_windows", "window_targets", "split_windows", "write_records", "dataset_statistics",
           "write_dataset",
           "float16_round", "SUM_STATS", "TRANSFORMS", "SPLIT_MODES"]

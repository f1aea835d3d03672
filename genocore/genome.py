"""Chromosome names, genome builds and the MHC: one definition for the whole suite.

Chromosome names are compared in one normalized form everywhere (:func:`normalize_chrom`): no
``chr`` prefix, PLINK's numeric codes for the sex chromosomes and the mitochondrion turned into
``X``, ``Y``, ``XY`` and ``MT``. Files written by the model half (``chr1``) and read by the
statistics half (``1``) are matched through this form, never through the raw spelling.

Genome builds are named ``hg19`` (aliases ``GRCh37``, ``b37``, ``hs37d5``), ``hg38`` (``GRCh38``,
``b38``) or ``simworld*`` (the suite's simulated worlds, which have no MHC and no fixed chromosome
lengths). Positions are 1-based bp throughout.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["CHROM_LENGTHS", "MHC", "canonical_build", "chrom_labels", "chrom_lengths", "chrom_sort_key",
           "in_region", "mhc_region", "normalize_chrom", "sorted_chroms"]

# -- chromosome names ------------------------------------------------------------------------------

_PLINK_CODES = {"23": "X", "24": "Y", "25": "XY", "26": "MT", "M": "MT"}
_CHR_PREFIX = re.compile(r"^chr", re.IGNORECASE)


def _normalize_one(name) -> str:
    if name is None or pd.isna(name):
        raise ValueError("missing chromosome name")
    s = _CHR_PREFIX.sub("", str(name).strip())
    if s.isdigit():
        s = str(int(s))  # "01" -> "1"
    else:
        s = s.upper() if s.upper() in ("X", "Y", "XY", "M", "MT") else s
    if not s:
        raise ValueError(f"empty chromosome name {name!r}")
    return _PLINK_CODES.get(s, s)


def normalize_chrom(chrom):
    """Chromosome names in the suite's one normalized form.

    ``chr1``, ``Chr1``, ``01`` and ``1`` become ``1``; ``chrX``/``23`` -> ``X``, ``chrY``/``24`` -> ``Y``,
    ``25`` -> ``XY``, ``chrM``/``M``/``26`` -> ``MT``. Other names (``chrUn_gl000220``, the simulated
    world's ``chrA``...) lose only the ``chr`` prefix.

    Parameters
    ----------
    chrom : str, int, or array-like / pandas Series of them

    Returns
    -------
    str for a scalar; ndarray of str (object) for an array; Series (same index) for a Series.

    Raises
    ------
    ValueError
        For a missing or empty name.
    """
    if isinstance(chrom, pd.Series):
        uniq = pd.unique(chrom)
        table = {u: _normalize_one(u) for u in uniq}
        return chrom.map(table).astype("str")
    if np.ndim(chrom) == 0:
        return _normalize_one(chrom.item() if isinstance(chrom, np.generic) else chrom)
    arr = np.asarray(chrom, dtype=object)
    if pd.isna(arr).any():
        raise ValueError("missing chromosome name")
    # normalize each distinct name once (hashed, not sorted): a panel has millions of SNPs on a few dozen
    # chromosomes
    codes, uniq = pd.factorize(arr.ravel())
    norm = np.array([_normalize_one(u) for u in uniq], dtype=object)
    return norm[codes.reshape(arr.shape)]


def chrom_sort_key(chrom) -> tuple:
    """Sort key putting numbered chromosomes first in numeric order, then X, Y, XY, MT, then others.

    Parameters
    ----------
    chrom : str or int
        Any spelling :func:`normalize_chrom` accepts.

    Returns
    -------
    tuple
        ``(0, number, "")`` for numbered chromosomes, ``(1, rank, name)`` for the others.
    """
    c = normalize_chrom(chrom)
    if c.isdigit():
        return (0, int(c), "")
    order = {"X": 1, "Y": 2, "XY": 3, "MT": 4}
    return (1, order.get(c, 5), c)


def sorted_chroms(chroms) -> list[str]:
    """Unique normalized chromosome names in :func:`chrom_sort_key` order.

    Parameters
    ----------
    chroms : iterable of str or int

    Returns
    -------
    list of str
    """
    return sorted({normalize_chrom(c) for c in chroms}, key=chrom_sort_key)


def chrom_labels(chrom) -> list[str]:
    """Spellings of a chromosome that file names use: as given, normalized (``1``), ``chr1``.

    Parameters
    ----------
    chrom : str or int

    Returns
    -------
    list of str
        Distinct spellings in the order to try them (``chrM`` last for the mitochondrion).
    """
    norm = normalize_chrom(chrom)
    out = []
    for c in (str(chrom), norm, "chr" + norm, "chrM" if norm == "MT" else None):
        if c is not None and c not in out:
            out.append(c)
    return out


# -- genome builds ---------------------------------------------------------------------------------

_BUILD_ALIASES = {"hg19": "hg19", "grch37": "hg19", "b37": "hg19", "hs37d5": "hg19",
                  "hg38": "hg38", "grch38": "hg38", "b38": "hg38"}

#: MHC per build as (chromosome, first bp, last bp), 1-based inclusive. hg19 as in the SLDP paper
#: (chr6:25,684,587-35,455,756); hg38 is the GRC's GRCh38 MHC region. Simulated worlds have none.
MHC = {"hg19": ("6", 25_684_587, 35_455_756), "hg38": ("6", 28_510_120, 33_480_577)}

#: Chromosome lengths in bp (GRCh37 / GRCh38 primary assembly; hg19's chrM is 16,571 bp).
CHROM_LENGTHS = {
    "hg19": {"1": 249_250_621, "2": 243_199_373, "3": 198_022_430, "4": 191_154_276, "5": 180_915_260,
             "6": 171_115_067, "7": 159_138_663, "8": 146_364_022, "9": 141_213_431, "10": 135_534_747,
             "11": 135_006_516, "12": 133_851_895, "13": 115_169_878, "14": 107_349_540,
             "15": 102_531_392, "16": 90_354_753, "17": 81_195_210, "18": 78_077_248, "19": 59_128_983,
             "20": 63_025_520, "21": 48_129_895, "22": 51_304_566, "X": 155_270_560, "Y": 59_373_566,
             "MT": 16_571},
    "hg38": {"1": 248_956_422, "2": 242_193_529, "3": 198_295_559, "4": 190_214_555, "5": 181_538_259,
             "6": 170_805_979, "7": 159_345_973, "8": 145_138_636, "9": 138_394_717, "10": 133_797_422,
             "11": 135_086_622, "12": 133_275_309, "13": 114_364_328, "14": 107_043_718,
             "15": 101_991_189, "16": 90_338_345, "17": 83_257_441, "18": 80_373_285, "19": 58_617_616,
             "20": 64_444_167, "21": 46_709_983, "22": 50_818_468, "X": 156_040_895, "Y": 57_227_415,
             "MT": 16_569},
}


def canonical_build(build: str) -> str:
    """``hg19``, ``hg38`` or ``simworld*`` for a build name or alias (case-insensitive).

    Parameters
    ----------
    build : str
        E.g. ``"GRCh38"``, ``"b37"``, ``"simworld1"``.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        For an unknown build, listing the known names.
    """
    b = str(build).strip()
    if b.lower() in _BUILD_ALIASES:
        return _BUILD_ALIASES[b.lower()]
    if b.lower().startswith("simworld"):
        return b.lower()
    raise ValueError(f"unknown genome build {build!r}; known: hg19 (GRCh37, b37, hs37d5), "
                     "hg38 (GRCh38, b38), simworld1")


def mhc_region(build: str) -> tuple[str, int, int] | None:
    """The MHC of a genome build as (chromosome, first bp, last bp), 1-based inclusive, or None for
    a simulated world (``simworld*``), which has no MHC.

    Parameters
    ----------
    build : str
        Any name :func:`canonical_build` accepts.

    Returns
    -------
    tuple (str, int, int) or None

    Raises
    ------
    ValueError
        For an unknown build (there is no silent default build).
    """
    b = canonical_build(build)
    return MHC.get(b)


def chrom_lengths(build: str) -> dict[str, int] | None:
    """Chromosome lengths of ``hg19`` / ``hg38`` by normalized name; None for ``simworld*``.

    Parameters
    ----------
    build : str
        Any name :func:`canonical_build` accepts.

    Returns
    -------
    dict of str -> int (bp), or None

    Raises
    ------
    ValueError
        For an unknown build.
    """
    return CHROM_LENGTHS.get(canonical_build(build))


def in_region(chrom, pos, region: tuple[str, int, int] | None) -> np.ndarray:
    """Which SNPs lie in a region.

    Parameters
    ----------
    chrom : array-like of str, shape (n,)
        Normalized chromosome names.
    pos : array-like of int, shape (n,)
        1-based positions (bp).
    region : (chrom, first, last), 1-based inclusive, or None (nothing is inside)

    Returns
    -------
    ndarray, bool, shape (n,)
    """
    pos = np.asarray(pos)
    if region is None:
        return np.zeros(pos.shape, bool)
    c, lo, hi = region
    return (np.asarray(chrom, dtype=object) == normalize_chrom(c)) & (pos >= lo) & (pos <= hi)

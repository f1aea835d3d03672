"""LD blocks (BED), chromosome names, per-chromosome file names and genome-build facts.

The block files of the field (Berisa & Pickrell 2016 ``fourier_ls-all.bed`` and its GRCh38 reruns) are
BED-like: ``chr start stop`` with 0-based, half-open intervals, whitespace-separated with padded fields,
and a header that may or may not start with ``#``. A SNP at 1-based position ``pos`` lies in block
``[start, end)`` when ``start <= pos - 1 < end``; adjacent blocks share their boundary, so every
position belongs to at most one block.

Chromosome names are compared in one normalized form everywhere in the suite
(:func:`normalize_chrom`): no ``chr`` prefix, PLINK's numeric codes for the sex chromosomes and the
mitochondrion turned into ``X``, ``Y``, ``XY`` and ``MT``.

Genome builds are named ``hg19`` (aliases ``GRCh37``, ``b37``, ``hs37d5``), ``hg38`` (``GRCh38``,
``b38``) or ``simworld*`` (the suite's simulated worlds, which have no MHC and no fixed chromosome
lengths).
"""
from __future__ import annotations

import glob
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

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
    uniq, inv = np.unique(arr.astype(str), return_inverse=True)
    norm = np.array([_normalize_one(u) for u in uniq], dtype=object)
    return norm[inv.reshape(arr.shape)]


def chrom_sort_key(chrom) -> tuple:
    """Sort key putting numbered chromosomes first in numeric order, then X, Y, XY, MT, then others."""
    c = normalize_chrom(chrom)
    if c.isdigit():
        return (0, int(c), "")
    order = {"X": 1, "Y": 2, "XY": 3, "MT": 4}
    return (1, order.get(c, 5), c)


def sorted_chroms(chroms) -> list[str]:
    """Unique normalized chromosome names in :func:`chrom_sort_key` order."""
    return sorted({normalize_chrom(c) for c in chroms}, key=chrom_sort_key)


# -- per-chromosome file names ---------------------------------------------------------------------

def _split_template(template) -> tuple[str, str]:
    t = str(template)
    for mark in ("{chrom}", "@"):
        if mark in t:
            pre, post = t.split(mark, 1)
            return pre, post
    if t and not t.endswith((".", "/", "_", "-")):
        t += "."
    return t, ""


def chrom_path(template, chrom, suffix: str = "") -> Path:
    """The file of one chromosome in a per-chromosome set.

    Parameters
    ----------
    template : str or Path
        Either a template holding ``{chrom}`` (or ldsc's ``@``), e.g. ``"panel/1000G.EUR.QC.{chrom}"``,
        or an ldsc-style prefix, to which ``chrom`` is appended after a ``.`` (unless the prefix already
        ends with ``.``, ``/``, ``_`` or ``-``): ``"baseline"`` and ``"baseline."`` both give
        ``baseline.22``. For names like ``chr22.annot.gz`` use the template ``"chr{chrom}"``.
    chrom : str
        Used as given (``"chr1"`` stays ``"chr1"``).
    suffix : str
        Appended unless the path already ends with it (e.g. ``".sannot.gz"``, ``".bed"``).

    Returns
    -------
    Path
    """
    pre, post = _split_template(template)
    p = f"{pre}{chrom}{post}"
    if suffix and not p.endswith(suffix):
        p += suffix
    return Path(p)


def chrom_labels(chrom) -> list[str]:
    """Spellings of a chromosome that file names use: as given, normalized (``1``), ``chr1``."""
    norm = normalize_chrom(chrom)
    out = []
    for c in (str(chrom), norm, "chr" + norm, "chrM" if norm == "MT" else None):
        if c is not None and c not in out:
            out.append(c)
    return out


def find_chrom_file(template, chrom, suffix: str = "") -> Path:
    """The existing file of one chromosome, trying the spellings of :func:`chrom_labels`.

    Returns
    -------
    Path
        The first of ``chrom_path(template, label, suffix)`` that exists.

    Raises
    ------
    FileNotFoundError
        Naming every path tried.
    """
    tried = [chrom_path(template, c, suffix) for c in chrom_labels(chrom)]
    for p in tried:
        if p.exists():
            return p
    raise FileNotFoundError(f"no file for chromosome {chrom} of {template}: tried " + ", ".join(map(str, tried)))


def glob_chrom_files(template, suffix: str = "") -> dict[str, Path]:
    """All files of a per-chromosome set that exist, by normalized chromosome.

    The chromosome label is the part of the file name that ``{chrom}`` stands for; labels containing
    ``.`` or ``/`` are not chromosomes and are skipped.

    Returns
    -------
    dict
        Normalized chromosome -> Path, in chromosome order.

    Raises
    ------
    ValueError
        When two files name the same chromosome (``x.1.bed`` and ``x.chr1.bed``).
    """
    pre, post = _split_template(template)
    if suffix and not post.endswith(suffix):
        post += suffix
    found: dict[str, Path] = {}
    for name in glob.glob(glob.escape(pre) + "*" + glob.escape(post)):
        label = name[len(pre):len(name) - len(post)]
        if not label or "." in label or "/" in label:
            continue
        c = normalize_chrom(label)
        if c in found:
            raise ValueError(f"two files for chromosome {c}: {found[c]} and {name}")
        found[c] = Path(name)
    return {c: found[c] for c in sorted(found, key=chrom_sort_key)}


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

    Raises
    ------
    ValueError
        For an unknown build (there is no silent default build).
    """
    b = canonical_build(build)
    return MHC.get(b)


def chrom_lengths(build: str) -> dict[str, int] | None:
    """Chromosome lengths (bp) of ``hg19`` / ``hg38`` by normalized name; None for ``simworld*``."""
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


# -- reading blocks --------------------------------------------------------------------------------

_HEADER_WORDS = {"chr", "chrom", "chromosome", "#chr", "#chrom", "seqname"}


def read_ldblocks(path) -> pd.DataFrame:
    """Read an LD block BED file (Berisa-Pickrell style or a GRCh38 rerun).

    Lines are whitespace-separated (tabs and padding spaces alike); the first three fields are
    chromosome, start, end (0-based, half-open); further fields are ignored. Blank lines and lines
    starting with ``#`` are skipped, as is a header line (``chr start stop``) before the first block.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    DataFrame
        ``chrom`` (str, normalized), ``start``, ``end`` (int64, bp), sorted by chromosome
        (:func:`chrom_sort_key`) and start, index 0..n_blocks-1.

    Raises
    ------
    ValueError
        Naming the file and line for: fewer than three fields, non-integer coordinates, start < 0,
        end <= start, a block that starts before the previous block of its chromosome (unsorted), or a
        block that overlaps the previous one. Also when the file holds no block.
    """
    path = Path(path)
    rows, lines = [], []
    seen_block = False
    with open(path, encoding="utf-8", errors="replace") as fh:
        for ln, raw in enumerate(fh, start=1):
            s = raw.strip()
            if not s or s.startswith("#"):
                continue
            f = s.split()
            if len(f) < 3:
                raise ValueError(f"{path}, line {ln}: expected at least 3 fields (chrom start end), got {s!r}")
            try:
                start, end = int(f[1]), int(f[2])
            except ValueError:
                if not seen_block and f[0].lower() in _HEADER_WORDS:
                    continue  # header
                raise ValueError(f"{path}, line {ln}: start and end must be integers, got {f[1]!r} {f[2]!r}") from None
            if start < 0 or end <= start:
                raise ValueError(f"{path}, line {ln}: need 0 <= start < end, got {start} {end}")
            try:
                chrom = normalize_chrom(f[0])
            except ValueError as e:
                raise ValueError(f"{path}, line {ln}: {e}") from None
            seen_block = True
            rows.append((chrom, start, end))
            lines.append(ln)
    if not rows:
        raise ValueError(f"{path}: no LD blocks")
    last: dict[str, tuple[int, int, int]] = {}
    for (chrom, start, end), ln in zip(rows, lines):
        if chrom in last:
            p_start, p_end, p_ln = last[chrom]
            if start < p_start:
                raise ValueError(f"{path}, line {ln}: block chr{chrom}:{start}-{end} starts before the block on "
                                 f"line {p_ln} ({p_start}-{p_end}); blocks must be sorted by start per chromosome")
            if start < p_end:
                raise ValueError(f"{path}, line {ln}: block chr{chrom}:{start}-{end} overlaps the block on line "
                                 f"{p_ln} ({p_start}-{p_end})")
        last[chrom] = (start, end, ln)
    df = pd.DataFrame(rows, columns=["chrom", "start", "end"])
    df["chrom"] = df["chrom"].astype("str")
    df["start"] = df["start"].astype(np.int64)
    df["end"] = df["end"].astype(np.int64)
    order = sorted(range(len(df)), key=lambda i: (chrom_sort_key(rows[i][0]), rows[i][1]))
    df = df.iloc[order].reset_index(drop=True)
    logger.info("read %d LD blocks on %d chromosomes from %s", len(df), df.chrom.nunique(), path)
    return df


def _check_blocks_frame(blocks: pd.DataFrame) -> None:
    missing = [c for c in ("chrom", "start", "end") if c not in blocks.columns]
    if missing:
        raise ValueError(f"LD block table lacks columns {missing} (need chrom, start, end)")


# -- SNPs and blocks -------------------------------------------------------------------------------

def assign_blocks(blocks: pd.DataFrame, chrom, pos) -> np.ndarray:
    """The LD block of every SNP.

    Parameters
    ----------
    blocks : DataFrame
        From :func:`read_ldblocks` (chrom, start, end; sorted, non-overlapping).
    chrom : array-like of str, shape (n_snps,)
        Chromosome names (normalized here).
    pos : array-like of int, shape (n_snps,)
        1-based positions (bp).

    Returns
    -------
    ndarray, int64, shape (n_snps,)
        Row of ``blocks`` holding each SNP (``start <= pos - 1 < end``), -1 for SNPs in no block.
    """
    _check_blocks_frame(blocks)
    pos0 = np.asarray(pos, dtype=np.int64) - 1
    chrom = normalize_chrom(np.asarray(chrom, dtype=object)) if len(pos0) else np.zeros(0, object)
    out = np.full(len(pos0), -1, dtype=np.int64)
    bchrom = blocks["chrom"].to_numpy(dtype=object)
    for c in pd.unique(chrom):
        snp_idx = np.flatnonzero(chrom == c)
        rows = np.flatnonzero(bchrom == c)
        if len(rows) == 0:
            continue
        starts = blocks["start"].to_numpy()[rows]
        ends = blocks["end"].to_numpy()[rows]
        k = np.searchsorted(starts, pos0[snp_idx], side="right") - 1
        ok = (k >= 0) & (pos0[snp_idx] < ends[np.maximum(k, 0)])
        out[snp_idx[ok]] = rows[k[ok]]
    return out


def block_snp_counts(blocks: pd.DataFrame, chrom, pos, *, what: str = "SNPs") -> np.ndarray:
    """SNPs per LD block; logs the blocks without SNPs and the SNPs outside every block.

    Parameters
    ----------
    blocks : DataFrame from :func:`read_ldblocks`
    chrom, pos : array-like, shape (n_snps,)
        Chromosome names and 1-based positions.
    what : str
        What the SNPs are, for the log (e.g. ``"panel SNPs"``).

    Returns
    -------
    ndarray, int64, shape (n_blocks,)
    """
    which = assign_blocks(blocks, chrom, pos)
    counts = np.bincount(which[which >= 0], minlength=len(blocks)).astype(np.int64)
    n_out = int(np.sum(which < 0))
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        ex = ", ".join(f"chr{blocks.chrom.iat[i]}:{blocks.start.iat[i]}-{blocks.end.iat[i]}" for i in empty[:3])
        logger.info("%d of %d LD blocks hold no %s (e.g. %s)", len(empty), len(blocks), what, ex)
    if n_out:
        logger.info("%d of %d %s lie in no LD block", n_out, len(which), what)
    return counts


def check_blocks_build(blocks: pd.DataFrame, *, build: str | None = None, lengths: dict | None = None,
                       chrom=None, pos=None, min_fraction: float = 0.5, what: str = "panel") -> dict:
    """Check that an LD block file is in the same genome build as a panel.

    Two checks, each an error when it fails:

    1. lengths: no block may end past the length of its chromosome, and no panel SNP may lie past it,
       in the panel's build (``lengths``, or the table of ``build``; skipped for simulated builds
       without ``lengths``). hg19 blocks (Berisa-Pickrell) run past several hg38 chromosome ends and
       hg38 blocks past several hg19 ones (chr3, 5, 7, 11, 17, 18, 20), so a genome-wide block file in
       the other build is caught even when the panel has one chromosome.
    2. coverage (needs ``chrom`` and ``pos``): on every panel chromosome the block file covers, at
       least ``min_fraction`` of the panel's SNPs fall in a block; and at least one panel chromosome
       is covered. Panel chromosomes the blocks do not cover are logged.

    Parameters
    ----------
    blocks : DataFrame from :func:`read_ldblocks`
    build : str, optional
        The panel's genome build.
    lengths : dict, optional
        Chromosome -> length (bp); overrides the build's table (e.g. a simulated world's lengths).
    chrom, pos : array-like, shape (n_snps,), optional
        The panel's SNPs (chromosome names, 1-based positions).
    min_fraction : float
        Smallest share of a covered chromosome's panel SNPs that must fall into blocks.
    what : str
        Name of the SNP set, for messages.

    Returns
    -------
    dict
        ``fraction_in_blocks`` (chromosome -> share), ``n_outside`` (SNPs in no block),
        ``uncovered_chroms`` (panel chromosomes without blocks).

    Raises
    ------
    ValueError
        Saying which check failed, with the first offending block or SNP.
    """
    _check_blocks_frame(blocks)
    if lengths is None and build is not None:
        lengths = chrom_lengths(build)
    build_txt = f"build {build}" if build is not None else "the given chromosome lengths"
    if lengths:
        lengths = {normalize_chrom(k): int(v) for k, v in lengths.items()}
        L = blocks.chrom.map(lengths).to_numpy(dtype=float)
        over = np.flatnonzero(np.isfinite(L) & (blocks.end.to_numpy() > L))
        if len(over):
            i = over[0]
            raise ValueError(
                f"{len(over)} LD blocks extend past the chromosome ends of {build_txt} (first: "
                f"chr{blocks.chrom.iat[i]}:{blocks.start.iat[i]}-{blocks.end.iat[i]}, chromosome length "
                f"{int(L[i]):,}); the block file is in another genome build than the {what}")
    summary = {"fraction_in_blocks": {}, "n_outside": 0, "uncovered_chroms": []}
    if chrom is None or pos is None:
        return summary
    chrom = normalize_chrom(np.asarray(chrom, dtype=object))
    pos = np.asarray(pos, dtype=np.int64)
    if lengths:
        L = pd.Series(chrom).map(lengths).to_numpy(dtype=float)
        over = np.flatnonzero(np.isfinite(L) & (pos > L))
        if len(over):
            i = over[0]
            raise ValueError(f"{len(over)} {what} SNPs lie past the chromosome ends of {build_txt} (first: "
                             f"chr{chrom[i]}:{pos[i]}, chromosome length {int(L[i]):,}); the {what} is not in "
                             f"{build_txt}")
    which = assign_blocks(blocks, chrom, pos)
    covered = set(blocks.chrom)
    summary["n_outside"] = int(np.sum(which < 0))
    for c in sorted_chroms(pd.unique(chrom)):
        sel = chrom == c
        if c not in covered:
            summary["uncovered_chroms"].append(c)
            continue
        frac = float(np.mean(which[sel] >= 0))
        summary["fraction_in_blocks"][c] = frac
        if frac < min_fraction:
            raise ValueError(f"only {frac:.1%} of the {int(sel.sum())} {what} SNPs on chr{c} fall into LD blocks "
                             f"(need {min_fraction:.0%}); the block file is probably in another genome build "
                             f"or coordinate system than the {what}")
    if summary["uncovered_chroms"]:
        if not summary["fraction_in_blocks"]:
            raise ValueError(f"the LD blocks cover none of the {what}'s chromosomes ({what}: "
                             f"{', '.join(summary['uncovered_chroms'])}; blocks: "
                             f"{', '.join(sorted_chroms(covered))})")
        logger.warning("the LD blocks cover no part of %s chromosome(s) %s; their SNPs are left out",
                       what, ", ".join(summary["uncovered_chroms"]))
    return summary

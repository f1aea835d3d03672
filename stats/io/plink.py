"""PLINK 1 binary filesets (.bed/.bim/.fam): written with bed-reader, read with pysnptools (whole filesets)
or bed-reader (chosen SNP columns, :func:`open_bed`).

These readers parse the files on every call. A reference panel read by several stages is opened once
as a :class:`stats.io.panel.ReferencePanel`, which calls them at most once per file and keeps the result.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np


def write_bfile(prefix, dosage: np.ndarray, *, iid, chrom, sid, cm, bp, allele_1, allele_2) -> Path:
    """Write a PLINK fileset; the .bed counts ``allele_1`` (the bim's A1, as PLINK does).

    Parameters
    ----------
    prefix : str or Path
        Path without extension.
    dosage : ndarray, int8, shape (n_individuals, n_snps)
        Count of ``allele_1`` per individual.
    iid : sequence of str, length n_individuals (used as FID and IID)
    chrom, sid, allele_1, allele_2 : sequences of str, length n_snps
    cm : ndarray, float, centimorgans; bp : ndarray, int, 1-based positions

    Returns
    -------
    Path of the .bed file. The three files appear together only when all are complete.
    """
    prefix = Path(prefix)
    bed = prefix.with_name(prefix.name + ".bed")
    n = len(iid)
    props = {"fid": list(iid), "iid": list(iid), "father": ["0"] * n, "mother": ["0"] * n,
             "sex": [0] * n, "pheno": ["-9"] * n, "chromosome": list(chrom), "sid": list(sid),
             "cm_position": np.asarray(cm, float), "bp_position": np.asarray(bp, np.int64),
             "allele_1": list(allele_1), "allele_2": list(allele_2)}
    prefix.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{prefix.name}.", dir=prefix.parent))
    try:
        tmp_bed = tmpdir / "x.bed"
        from bed_reader import to_bed  # imported here: bed_reader pulls in pooch (0.2 s at start-up)

        to_bed(tmp_bed, np.asarray(dosage, dtype=np.int8), properties=props, count_A1=True)
        # .bed last: a reader that finds the .bed finds a complete fileset
        for ext in (".bim", ".fam", ".bed"):
            os.replace(tmpdir / f"x{ext}", prefix.with_name(prefix.name + ext))
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return bed


def bfile_prefix(prefix) -> Path:
    """The fileset prefix of ``prefix``, which may also be given as its .bed, .bim or .fam file."""
    prefix = Path(prefix)
    if prefix.suffix in (".bed", ".bim", ".fam"):
        prefix = prefix.with_suffix("")
    return prefix


def bfile_paths(prefix) -> tuple[Path, Path, Path]:
    """The .bed, .bim and .fam paths of a fileset.

    Raises
    ------
    FileNotFoundError
        Naming the missing file of the fileset.
    """
    prefix = bfile_prefix(prefix)
    paths = tuple(prefix.with_name(prefix.name + ext) for ext in (".bed", ".bim", ".fam"))
    for f in paths:
        if not f.exists():
            raise FileNotFoundError(f"PLINK fileset {prefix}: {f} is missing (need .bed, .bim and .fam)")
    return paths


def read_bim(prefix):
    """Read a fileset's .bim.

    Returns
    -------
    DataFrame
        chrom (str, as written), snp (str), cm (float64, centimorgans), pos (int64, 1-based bp),
        a1, a2 (str; a1 is the allele the .bed counts, as PLINK does); index 0..n_snps-1.

    Raises
    ------
    FileNotFoundError
        As :func:`bfile_paths`.
    ValueError
        Naming the .bim for a line without 6 fields or a non-numeric position.
    """
    import pandas as pd

    _, bim_path, _ = bfile_paths(prefix)
    try:
        bim = pd.read_csv(bim_path, sep=r"\s+", header=None, names=["chrom", "snp", "cm", "pos", "a1", "a2"],
                          dtype={"chrom": str, "snp": str, "cm": float, "pos": np.int64, "a1": str, "a2": str},
                          keep_default_na=False, na_filter=False)
    except (ValueError, pd.errors.ParserError) as e:
        raise ValueError(f"{bim_path}: not a valid .bim (6 whitespace-separated fields per line: chrom, SNP, cM, "
                         f"bp, A1, A2): {e}") from None
    if bim[["a2"]].eq("").any().any():
        raise ValueError(f"{bim_path}: a line has fewer than 6 fields")
    return bim


def read_fam(prefix):
    """Read a fileset's .fam: DataFrame of str with fid, iid, father, mother, sex, pheno."""
    import pandas as pd

    _, _, fam_path = bfile_paths(prefix)
    return pd.read_csv(fam_path, sep=r"\s+", header=None, names=["fid", "iid", "father", "mother", "sex", "pheno"],
                       dtype=str, keep_default_na=False, na_filter=False)


def _check_padding(bed_path, n: int, m: int, *, max_snps: int = 4096) -> None:
    """The unused 2-bit slots after the last individual of each SNP must be 0 (PLINK writes them so).

    When the .fam is short of the .bed by fewer individuals than fill a byte, the size still fits
    and those slots carry the missing individuals' genotypes; any non-zero padding in the first
    ``max_snps`` SNPs exposes it.
    """
    if n % 4 == 0 or m == 0:
        return
    per = (n + 3) // 4
    k = min(m, max_snps)
    data = np.fromfile(bed_path, dtype=np.uint8, count=3 + k * per)[3:].reshape(k, per)
    mask = np.uint8((0xFF << (2 * (n % 4))) & 0xFF)
    bad = np.flatnonzero(data[:, -1] & mask)
    if len(bad):
        raise ValueError(f"{bed_path}: the padding after individual {n} holds genotypes in {len(bad)} of the first "
                         f"{k} SNPs (first: SNP {int(bad[0]) + 1}): the .bed has more individuals than the .fam's "
                         f"{n} lines; fix the .fam (a line missing?)")


def open_bed(prefix, *, n_individuals: int, n_snps: int):
    """Open a .bed for reading chosen SNP columns only (bed-reader; counts the bim's A1).

    Use as a context manager; ``bed.read(index=np.s_[:, cols], dtype="float64")`` reads the columns
    ``cols`` (ndarray of int) from disk and nothing else, with NaN for missing genotypes.

    Parameters
    ----------
    prefix : str or Path
    n_individuals, n_snps : int
        Rows of the .fam and .bim (from :func:`read_fam` / :func:`read_bim`), so that bed-reader does
        not parse them again.

    Returns
    -------
    bed_reader.open_bed
    """
    from bed_reader import open_bed as _open_bed

    bed_path = check_bed(prefix, n_individuals=n_individuals, n_snps=n_snps)
    return _open_bed(bed_path, iid_count=int(n_individuals), sid_count=int(n_snps), count_A1=True)


def check_bed(prefix, *, n_individuals: int, n_snps: int) -> Path:
    """The fileset's .bed path, after checking its size and padding against the .fam and .bim counts.

    Raises
    ------
    ValueError
        The .bed's size or padding does not fit ``n_snps`` x ``n_individuals`` in SNP-major mode.
    """
    bed_path, _, _ = bfile_paths(prefix)
    expected = 3 + int(n_snps) * ((int(n_individuals) + 3) // 4)
    size = bed_path.stat().st_size
    if size != expected:
        raise ValueError(f"{bed_path} has {size} bytes but {n_snps} SNPs x {n_individuals} individuals (the .bim "
                         f"and .fam) need {expected} in SNP-major mode; the fileset is inconsistent or truncated")
    _check_padding(bed_path, int(n_individuals), int(n_snps))
    return bed_path


def read_bfile(prefix, *, dtype=np.float32):
    """Read a PLINK fileset through pysnptools.

    Parameters
    ----------
    prefix : str or Path
        Path without extension.

    Returns
    -------
    dosage : ndarray, shape (n_individuals, n_snps)
        Count of the bim's A1 allele (NaN where missing).
    bim : DataFrame
        chrom, snp, cm, pos, a1, a2.
    iid : ndarray of str, shape (n_individuals,)

    Raises
    ------
    FileNotFoundError
        Naming the missing file of the fileset.
    """
    from pysnptools.snpreader import Bed

    prefix = bfile_prefix(prefix)
    bim = read_bim(prefix)
    bed = Bed(str(prefix), count_A1=True)
    if bed.sid_count != len(bim):
        raise ValueError(f"{prefix}.bim has {len(bim)} rows but the .bed holds {bed.sid_count} SNPs")
    data = bed.read(dtype=dtype)
    return data.val, bim, data.iid[:, 1]


# -- the .bed bytes themselves (no bed-reader) --------------------------------------------------------

def bed_rows(bed_path, n: int, m_total: int):
    """The .bed's SNP rows as a read-only memmap, shape (m_total, ceil(n / 4)) uint8 (check the sizes
    first with :func:`check_bed`)."""
    with open(bed_path, "rb") as fh:
        magic = fh.read(3)
    if magic != b"\x6c\x1b\x01":
        raise ValueError(f"{bed_path}: not a SNP-major PLINK .bed (magic bytes {magic.hex()}, expected 6c1b01)")
    nbytes = (n + 3) // 4
    mm = np.memmap(bed_path, dtype=np.uint8, mode="r", offset=3, shape=(m_total, nbytes))
    return mm.view(np.ndarray)  # a plain array over the mapping


def _row_block(rows, cols: np.ndarray, n: int, *, width: int) -> np.ndarray:
    """The .bed bytes of SNP rows ``cols``, shape (len(cols), width) uint8, ``width >= ceil(n / 4)``.

    The padding genotypes of the last byte and the bytes beyond it read as code 3 (homozygous A2,
    dosage 0), which no count of :func:`bed_counts` includes, whatever the file holds there.
    """
    nbytes = rows.shape[1]
    out = np.full((len(cols), width), 0xFF, dtype=np.uint8)
    out[:, :nbytes] = rows[cols]
    tail = n - 4 * (nbytes - 1)  # genotypes in the last byte (1..4)
    if tail < 4:
        out[:, nbytes - 1] |= np.uint8((0xFF << (2 * tail)) & 0xFF)
    return out


def bed_counts(rows, n: int, cols: np.ndarray, *, read_block: int = 16384, kernel: str = "auto") -> np.ndarray:
    """Per SNP of ``cols``: (#x>=1, #x==2, #missing), int64 shape (len(cols), 3), from the .bed bytes.

    Two bits per genotype (code 0 = homozygous A1, x = 2; 1 = missing; 2 = heterozygous; 3 = x = 0),
    counted eight bytes at a time: x >= 1 where the low bit is 0, x == 2 where both are, missing where
    only the low bit is set. With the compiled kernel built (``kernel="auto"``), the same counts by a
    byte table, about ten times faster (:func:`stats.ld.bitplanes.bed_counts`).
    """
    from stats.ld import bitplanes

    if kernel not in ("auto", "numpy"):
        raise ValueError(f"kernel must be 'auto' or 'numpy', got {kernel!r}")
    if kernel == "auto" and bitplanes.available():
        return bitplanes.bed_counts(rows, cols, n)
    width = -(-rows.shape[1] // 8) * 8
    counts = np.zeros((len(cols), 3), dtype=np.int64)
    lo_bits = np.uint64(0x5555555555555555)
    cols = np.asarray(cols, dtype=np.int64)
    for a in range(0, len(cols), read_block):
        c = cols[a:a + read_block]
        w = _row_block(rows, c, n, width=width).view(np.uint64)
        lo, hi = w & lo_bits, (w >> np.uint64(1)) & lo_bits
        counts[a:a + len(c), 0] = (4 * width - np.bitwise_count(lo).sum(axis=1, dtype=np.int64))
        counts[a:a + len(c), 1] = np.bitwise_count(~(lo | hi) & lo_bits).sum(axis=1, dtype=np.int64)
        counts[a:a + len(c), 2] = np.bitwise_count(lo & ~hi).sum(axis=1, dtype=np.int64)
    return counts

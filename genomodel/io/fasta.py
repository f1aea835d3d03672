"""FASTA files: reading any FASTA the field uses (plain or bgzipped) without writing beside it, and
writing FASTA with its samtools-style .fai index.

Reading goes through pyfaidx. An index the user already has beside the FASTA (``.fai``, and ``.gzi``
for bgzip) is used as it is; a missing one is built in the suite's cache folder
(``$GENOSUITE_CACHE``, default ``~/.cache/genosuite``), keyed by the FASTA's absolute path, size and
modification time, so the user's folder is never written to (it may be read-only or shared).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from genocore.files import atomic_path, cache_dir
from genomodel import dna


def _compression(path: Path) -> str | None:
    """'bgzip', 'gzip' or None, from the first bytes (BGZF blocks carry a 'BC' extra field)."""
    with open(path, "rb") as fh:
        head = fh.read(18)
    if head[:2] != b"\x1f\x8b":
        return None
    return "bgzip" if len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC" else "gzip"


def open_fasta(path, *, upper: bool = True):
    """A ``pyfaidx.Fasta`` of a plain, bgzipped or gzipped FASTA (raw strings), writing nothing beside it.

    A gzip (not bgzip) FASTA, such as UCSC's ``hg38.fa.gz``, cannot be read at random positions: it is
    decompressed once into the cache and read from there.

    Parameters
    ----------
    path : path-like
    upper : bool
        Upper-case every sequence (soft-masking dropped).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        A FASTA that cannot be indexed.
    """
    import pyfaidx

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"FASTA {path} does not exist")
    kind = _compression(path)
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    if kind == "gzip":  # no random access: read a decompressed copy in the cache (made once)
        return open_fasta(_decompressed(path, key), upper=upper)
    if kind == "bgzip":
        try:
            import Bio.bgzf  # noqa: F401  (pyfaidx reads bgzip through BioPython)
        except ImportError as e:  # pragma: no cover - a declared dependency
            raise ImportError(f"reading the bgzipped FASTA {path} needs biopython (pip install biopython)") from e
    cached = cache_dir() / "fasta_index"
    names = {}
    for suffix in (".fai",) + ((".gzi",) if kind == "bgzip" else ()):
        beside = path.with_name(path.name + suffix)
        if beside.is_file() and beside.stat().st_mtime_ns >= stat.st_mtime_ns:
            names[suffix] = beside
        else:
            cached.mkdir(parents=True, exist_ok=True)
            names[suffix] = cached / f"{path.name}.{key}{suffix}"
    try:
        return pyfaidx.Fasta(str(path), indexname=str(names[".fai"]), as_raw=True, sequence_always_upper=upper,
                             **({"gzi_indexname": str(names[".gzi"])} if ".gzi" in names else {}))
    except pyfaidx.FastaIndexingError as e:
        raise ValueError(f"FASTA {path} could not be indexed: {e}") from e


def _decompressed(path: Path, key: str) -> Path:
    """A plain copy of a gzip (not bgzip) FASTA in the cache, written atomically once and reused."""
    import gzip
    import logging
    import shutil

    target = cache_dir() / "fasta_plain" / f"{path.name.removesuffix('.gz')}.{key}"
    if not target.exists():
        logging.getLogger(__name__).warning(
            "FASTA %s is gzip-compressed without bgzip, so it cannot be read at random positions: decompressing "
            "it once into %s (recompress it with bgzip to skip this and the disk space)", path, target)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp, gzip.open(path, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 22)
    return target


def write_fasta(path, sequences: dict, *, line_width: int = 60) -> Path:
    """Write sequences (name -> uint8 base codes) as FASTA plus ``path.fai``, both atomically.

    Parameters
    ----------
    path : str or Path
    sequences : dict of str -> ndarray, uint8, shape (length,)
    line_width : int
        Bases per line.
    """
    path = Path(path)
    fai = []
    offset = 0
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        for name, codes in sequences.items():
            header = f">{name}\n".encode("ascii")
            fh.write(header)
            offset += len(header)
            text = dna.decode(codes).encode("ascii")
            lines = [text[i:i + line_width] for i in range(0, len(text), line_width)]
            body = b"\n".join(lines) + b"\n"
            fh.write(body)
            fai.append(f"{name}\t{len(text)}\t{offset}\t{line_width}\t{line_width + 1}\n")
            offset += len(body)
    with atomic_path(path.with_name(path.name + ".fai")) as tmp:
        tmp.write_text("".join(fai))
    return path

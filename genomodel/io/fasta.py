"""FASTA output with its samtools-style .fai index (reading goes through pyfaidx)."""
from __future__ import annotations

from pathlib import Path

from genocore.files import atomic_path
from genomodel import dna


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

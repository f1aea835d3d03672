"""Motif files: MEME minimal format (what JASPAR and MEME suite tools exchange)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def read_meme(path) -> dict:
    """Read letter-probability matrices from a MEME minimal-format file.

    Returns
    -------
    dict of motif name -> ndarray, float64, shape (width, 4)
        Probabilities of A, C, G, T per position.

    Raises
    ------
    ValueError
        Naming the file and line of a matrix row that does not hold 4 probabilities.
    """
    path = Path(path)
    motifs, name, rows, width = {}, None, [], 0
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "MOTIF":
            name = parts[1]
        elif parts[0] == "letter-probability":
            width = int(parts[parts.index("w=") + 1])
            rows = []
        elif name is not None and width and len(rows) < width:
            try:
                vals = [float(x) for x in parts]
            except ValueError:
                continue
            if len(vals) != 4:
                raise ValueError(f"{path}:{lineno}: matrix row of motif {name} has {len(vals)} values, not 4")
            rows.append(vals)
            if len(rows) == width:
                motifs[name] = np.array(rows)
    return motifs

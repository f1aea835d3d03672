"""A tiny random genome with known per-base coverage, written as FASTA + BigWig + targets.txt + BEDs."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genocore.files import write_table
from genomodel.io.bigwig import write_bigwig
from genomodel.io.fasta import write_fasta

SIZES = {"chr1": 30_000, "chr2": 24_000, "chr3": 3_000}
# (identifier, clip, clip_soft, scale, sum_stat): chosen so that every transform step changes values
TRACKS = (
    ("dense", 400.0, 150.0, 1.0, "sum"),
    ("mean", 5.0, None, 2.0, "mean"),
    ("sparse", 60.0, 20.0, 0.5, "sum_sqrt"),
)
GAPS = [("chr1", 5_000, 7_500)]
BLACKLIST = [("chr2", 10_000, 10_500), ("chr1", 20_100, 20_180)]


@dataclass
class TinyGenome:
    root: Path
    fasta: Path
    targets: Path
    gaps: Path
    blacklist: Path
    codes: dict
    coverage: dict = field(default_factory=dict)  # track identifier -> chrom -> float64 per-base


def write_targets(path, rows) -> Path:
    """rows: (identifier, file, clip, clip_soft, scale, sum_stat); basenji layout with an unnamed index."""
    df = pd.DataFrame([(i, r[0], r[1], "" if r[2] is None else r[2], "" if r[3] is None else r[3], r[4], r[5], r[0])
                       for i, r in enumerate(rows)],
                      columns=["", "identifier", "file", "clip", "clip_soft", "scale", "sum_stat", "description"])
    return write_table(path, df)


def make_tiny_genome(root, *, seed: int = 0, sizes: dict | None = None) -> TinyGenome:
    root = Path(root)
    sizes = dict(SIZES if sizes is None else sizes)
    rng = np.random.default_rng(seed)
    codes = {c: rng.integers(0, 4, n).astype(np.uint8) for c, n in sizes.items()}
    for c, a, b in GAPS:
        if c in codes:
            codes[c][a:b] = 4
    fasta = write_fasta(root / "genome.fa", codes)
    cov = {}
    for ident, *_ in TRACKS:
        cov[ident] = {}
        for c, n in sizes.items():
            if ident == "dense":
                v = rng.gamma(2.0, 3.0, n).round(2)
                v[rng.random(n) < 0.3] = 0
            elif ident == "mean":
                v = rng.poisson(4.0, n).astype(np.float64)
            else:
                v = np.zeros(n)
                hits = rng.choice(n, size=max(1, n // 200), replace=False)
                v[hits] = rng.integers(1, 400, len(hits))
            v[codes[c] == 4] = 0
            # BigWig stores float32: keep the known arrays exactly representable
            cov[ident][c] = v.astype(np.float32).astype(np.float64)
        write_bigwig(root / f"{ident}.bw", sizes, cov[ident])
    targets = write_targets(root / "targets.txt",
                            [(ident, f"{ident}.bw", clip, soft, scale, stat) for ident, clip, soft, scale, stat in TRACKS])
    gaps = write_table(root / "gaps.bed", pd.DataFrame([g for g in GAPS if g[0] in sizes]), header=False)
    blacklist = write_table(root / "blacklist.bed", pd.DataFrame([b for b in BLACKLIST if b[0] in sizes]), header=False)
    return TinyGenome(root, fasta, targets, gaps, blacklist, codes, cov)

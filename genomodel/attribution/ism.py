"""In-silico saturation mutagenesis: one forward pass per mutation, or the incremental path.

For every position of a window and each of the 3 other bases, the change of the prediction (summed
over chosen output bins) relative to the reference sequence, per chosen target. Reference bases
score 0. :func:`site_ism` mutates the stretch around a genomic site and its result writes itself.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from genomodel.predict import predict

logger = logging.getLogger(__name__)


def ism(model, x: np.ndarray, *, start: int, end: int, targets=None, bins=None, batch_size: int = 16,
        rc: bool = False, strand_pair=None, fast: bool = False) -> np.ndarray:
    """Saturation mutagenesis of positions ``start..end-1`` of one sequence.

    Parameters
    ----------
    model : keras.Model
    x : ndarray, shape (seq_length, 4)
        One-hot reference sequence.
    targets, bins : sequence of int, optional
        Targets kept and output bins summed (all by default).
    fast : bool
        Recompute only what each mutation can change (:class:`genomodel.model.incremental.Incremental`);
        the same numbers to floating-point tolerance. Not combined with ``rc``.

    Returns
    -------
    ndarray, float32, shape (end - start, 4, n_targets)
        ``alt - ref`` of the summed prediction for each position and base (0 at the reference base).
    """
    x = np.asarray(x, np.float32)
    n_t, n_b = int(model.output.shape[-1]), int(model.output.shape[1])
    t_idx = np.arange(n_t) if targets is None else np.asarray(targets)
    b_idx = np.arange(n_b) if bins is None else np.asarray(bins)

    def summed(seqs):
        p = predict(model, seqs, rc=rc, strand_pair=strand_pair, batch_size=batch_size)
        return p[:, b_idx][:, :, t_idx].astype(np.float64).sum(axis=1)

    if fast:
        if rc:
            raise ValueError("fast mutagenesis does not average reverse complements; use fast=False")
        return _ism_fast(model, x, start, end, t_idx, b_idx, batch_size)
    ref = summed(x[None])[0]
    muts, where = [], []
    for pos in range(start, end):
        for base in range(4):
            if x[pos, base] == 1:
                continue
            m = x.copy()
            m[pos] = 0
            m[pos, base] = 1
            muts.append(m)
            where.append((pos - start, base))
    out = np.zeros((end - start, 4, len(t_idx)), np.float32)
    if muts:
        vals = summed(np.stack(muts)) - ref
        for (i, b), v in zip(where, vals):
            out[i, b] = v
    return out


def _ism_fast(model, x, start, end, t_idx, b_idx, batch_size):
    from genomodel.model.incremental import Incremental

    inc = Incremental(model, x)
    ref = inc.reference_output.astype(np.float64)
    where = [(pos, base) for pos in range(start, end) for base in range(4) if x[pos, base] != 1]
    out = np.zeros((end - start, 4, len(t_idx)), np.float32)
    # mutants of nearby positions share one recomputed interval: batch them in position order
    for i in range(0, len(where), max(batch_size, 3)):
        chunk = where[i:i + max(batch_size, 3)]
        patch, lo, hi = inc.mutants([p for p, _ in chunk], [b for _, b in chunk],
                                    out_bins=(int(b_idx.min()), int(b_idx.max()) + 1))
        keep = b_idx[(b_idx >= lo) & (b_idx < hi)]
        if len(keep) == 0:
            continue
        delta = patch[:, keep - lo][:, :, t_idx].astype(np.float64) - ref[keep][:, t_idx]
        for (p, b), v in zip(chunk, delta.sum(axis=1)):
            out[p - start, b] = v
    return out


def check_indices(indices, n: int, what: str) -> None:
    """Raise a ValueError naming the ``indices`` (of targets or bins) outside ``[0, n)``; None passes."""
    bad = [i for i in indices or () if not 0 <= i < n]
    if bad:
        raise ValueError(f"--{what} {bad} out of range: the model has {n} {what}")


@dataclass(frozen=True)
class SiteMutagenesis:
    """Saturation mutagenesis around one genomic site (:func:`site_ism`).

    Attributes
    ----------
    values : ndarray, float32, shape (width, 4, n_targets)
        ``alt - ref`` per position and base (0 at the reference base).
    ref_codes : ndarray, uint8, shape (width,)
        Reference bases of the mutated stretch (:mod:`genomodel.dna` codes).
    chrom : str
    start_1based : int
        1-based position of the first mutated base.
    bins : list of int
        Output bins summed.
    """

    values: np.ndarray
    ref_codes: np.ndarray
    chrom: str
    start_1based: int
    bins: list

    def write(self, out_dir, *, title: str, provenance: dict | None = None) -> Path:
        """``ism.h5`` (:func:`genomodel.io.attribution_h5.write_ism_h5`) and ``ism.png`` (the first target)."""
        from genocore.figures import save_png
        from genomodel.attribution.plots import ism_figure
        from genomodel.io.attribution_h5 import write_ism_h5

        out = Path(out_dir)
        write_ism_h5(out / "ism.h5", self.values, self.ref_codes, chrom=self.chrom, start_1based=self.start_1based,
                     bins=self.bins, provenance=provenance)
        save_png(ism_figure(self.values[:, :, 0], self.ref_codes, start=self.start_1based, title=title),
                 out / "ism.png")
        logger.info("mutagenesis of %d bp x 3 bases -> %s", len(self.ref_codes), out)
        return out


def parse_site(text: str) -> tuple:
    """``CHROM:POS`` (1-based, thousands separators allowed, e.g. ``chr1:1,234,567``) -> (chrom, pos)."""
    chrom, _, pos = str(text).rpartition(":")
    if not chrom or not pos.replace(",", "").isdigit():
        raise ValueError(f"--site {text!r}: write it as CHROM:POS (1-based), e.g. chr1:1,234,567")
    return chrom, int(pos.replace(",", ""))


def site_ism(model, fasta, site: str, *, width: int = 200, targets=None, bins=None,
             fast: bool = True) -> SiteMutagenesis:
    """Mutate every base of a ``width``-bp stretch centred on a site, in a window centred on it.

    Parameters
    ----------
    model : keras.Model
    fasta : path-like
    site : str
        ``CHROM:POS`` (:func:`parse_site`), 1-based; the site sits at offset ``width // 2`` of the stretch.
    targets : sequence of int, optional
    bins : sequence of int, optional
        Output bins summed; by default the bin holding the site.
    fast : bool
        The incremental path (see :func:`ism`).
    """
    from genomodel import dna
    from genomodel.predict import geometry, region_sequences

    chrom, pos = parse_site(site)
    check_indices(bins, int(model.output.shape[1]), "bins")
    check_indices(targets, int(model.output.shape[-1]), "targets")
    seq_length = int(model.input.shape[1])
    codes, windows = region_sequences(fasta, pd.DataFrame({"chrom": [chrom], "start": [pos - 1], "end": [pos]}),
                                      seq_length)
    centre = seq_length // 2
    a, b = centre - width // 2, centre - width // 2 + width
    pool, crop = geometry(model)
    bins = list(bins) if bins else [(centre - crop) // pool]
    values = ism(model, dna.one_hot(codes[0], dtype=np.float32), start=a, end=b, targets=targets, bins=bins,
                 fast=fast)
    return SiteMutagenesis(values=values, ref_codes=codes[0, a:b], chrom=chrom,
                           start_1based=int(windows.start[0]) + a + 1, bins=bins)

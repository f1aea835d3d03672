"""Motifs that an attribution map reveals, matched against a motif database.

An in-silico mutagenesis (ISM) map ``v`` (positions x 4 bases, ``alt - ref`` of the prediction, 0 at
the reference base; :func:`genomodel.attribution.ism.ism`) becomes a *contribution map* by centring
each position on its mean over the four bases, ``c[i, b] = v[i, b] - mean_b' v[i, b']``: the
reference base scores ``-(sum of the three mutation effects) / 4`` (positive where mutating it away
lowers the prediction) and each other base how much better or worse than average it would do. Where
the model reads a binding site, the columns of ``c`` look like the columns of the site's position
weight matrix (PWM).

The *strength* of a position is the standard deviation of its column of ``c`` over the four bases
(how much the prediction cares which base is there, whatever the sign). :func:`top_windows` picks the
``width``-bp windows of largest summed strength (the first one, optionally, among those that contain a
given position, such as a variant's).

Each window is compared with each motif as TOMTOM compares two motifs with its Pearson correlation
column score (Gupta et al. 2007, Genome Biol 8:R24), without TOMTOM's p-values: for every offset of the
motif against the window (any overlap of at least ``min_overlap`` columns) and for both strands (the
reverse complement of a PWM reverses its rows and its A/C/G/T columns), the Pearson correlation over
the 4 bases of each aligned pair of columns. Instead of p-values, which correct TOMTOM's summed
correlations for the length of the overlap, the score weights each aligned column's correlation by
the window position's strength and divides by the window's total strength::

    score = sum over aligned (i, j) of strength_i * r(c_i, pwm_j) / sum over window positions i of strength_i

so a motif scores 1 when it is aligned over every informative position of the window with perfectly
correlated columns, a short motif that covers part of the window earns only that part's share, and
columns over uninformative positions cost nothing. A motif is reported at its best offset and strand.

Motif files: MEME minimal format (:func:`genomodel.io.motifs.read_meme`) or JASPAR's matrix format
(``>ID name`` followed by four rows ``A [ counts ]`` .. ``T [ counts ]``; :func:`read_jaspar`).
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

MATCH_COLUMNS = ["window", "window_start", "window_end", "rank", "motif", "score", "strand", "offset",
                 "overlap", "pcc_mean"]


def read_jaspar(path, *, pseudocount: float = 1.0) -> dict:
    """Read count matrices in JASPAR format as probabilities.

    Parameters
    ----------
    path : path-like
        ``>MA0002.3 Runx1`` header lines, each followed by four rows of counts, A, C, G, T, written
        ``A [ 123 57 ... ]`` (the letter and brackets may be left out; rows are then taken in A, C, G, T
        order).
    pseudocount : float
        Added to each position's total, shared equally among the four bases:
        ``p = (n_b + pseudocount / 4) / (N + pseudocount)``.

    Returns
    -------
    dict of str -> ndarray, float64, shape (width, 4)
        Motif ``"ID name"`` -> probabilities of A, C, G, T per position.

    Raises
    ------
    ValueError
        Naming the file and line of a matrix that does not have four rows of equal length.
    """
    path = Path(path)
    motifs, name, rows, start = {}, None, {}, 0

    def finish():
        if name is None:
            return
        order = [rows.get(b) for b in "ACGT"]
        if any(r is None for r in order) or len({len(r) for r in order}) != 1 or not order[0]:
            raise ValueError(f"{path}:{start}: motif {name!r} needs four rows of counts (A, C, G, T) of one length")
        counts = np.array(order, dtype=np.float64).T
        motifs[name] = (counts + pseudocount / 4) / (counts.sum(axis=1, keepdims=True) + pseudocount)

    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        text = line.strip()
        if not text:
            continue
        if text.startswith(">"):
            finish()
            name, rows, start = " ".join(text[1:].split()), {}, lineno
            continue
        m = re.match(r"^([ACGT])?\s*\[?([^\]]*)\]?$", text)
        if name is None or m is None:
            raise ValueError(f"{path}:{lineno}: not a JASPAR matrix line: {text[:60]!r}")
        if len(rows) == 4:
            raise ValueError(f"{path}:{lineno}: motif {name!r} has more than four rows of counts")
        letter = m.group(1) or "ACGT"[len(rows)]
        try:
            rows[letter] = [float(x) for x in m.group(2).split()]
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}:{lineno}: motif {name!r}: counts are not numbers ({err})") from err
    finish()
    return motifs


def read_motif_database(path) -> dict:
    """Motifs of a MEME minimal-format or JASPAR file (told apart by the first non-blank character).

    Returns
    -------
    dict of str -> ndarray, float64, shape (width, 4)

    Raises
    ------
    ValueError
        A file that holds no motif.
    """
    from genomodel.io.motifs import read_meme

    path = Path(path)
    text = path.read_text().lstrip()
    motifs = read_jaspar(path) if text.startswith(">") else read_meme(path)
    if not motifs:
        raise ValueError(f"{path}: no motifs (expected MEME minimal format or JASPAR matrices)")
    logger.info("read %d motifs from %s", len(motifs), path)
    return motifs


def ism_contributions(values: np.ndarray) -> np.ndarray:
    """Contribution map of an ISM map: each position centred on its mean over the four bases.

    Parameters
    ----------
    values : ndarray, shape (n_positions, 4)
        ``alt - ref`` per position and base, 0 at the reference base (one target, bins summed).

    Returns
    -------
    ndarray, float64, shape (n_positions, 4)
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 4:
        raise ValueError(f"an ISM map has shape (positions, 4); got {v.shape}")
    return v - v.mean(axis=1, keepdims=True)


def column_strength(contrib: np.ndarray) -> np.ndarray:
    """ndarray, float64, shape (n_positions,): standard deviation of each column over the 4 bases."""
    return np.asarray(contrib, dtype=np.float64).std(axis=1)


def top_windows(strength: np.ndarray, *, width: int, n: int = 1, contains: int | None = None) -> list:
    """The ``n`` non-overlapping ``width``-bp windows of largest summed strength, best first.

    Parameters
    ----------
    strength : ndarray, shape (n_positions,)
    width : int
        Window width in positions (the whole map when it is shorter).
    n : int
        Windows wanted (fewer when the map has no room for more).
    contains : int, optional
        A position the first window must contain (e.g. the variant's); the others may lie anywhere.

    Returns
    -------
    list of (start, end)
        0-based, half-open positions in the map.
    """
    s = np.asarray(strength, dtype=np.float64)
    width = min(int(width), len(s))
    if width < 1:
        raise ValueError("windows need a width of at least 1 and a non-empty map")
    sums = np.convolve(s, np.ones(width), mode="valid")  # sums[a] = s[a:a + width].sum()
    free = np.ones(len(sums), bool)
    out = []
    for k in range(int(n)):
        ok = free.copy()
        if k == 0 and contains is not None:
            a = np.arange(len(sums))
            ok &= (a <= contains) & (contains < a + width)
        if not ok.any():
            break
        a = int(np.flatnonzero(ok)[np.argmax(sums[ok])])
        out.append((a, a + width))
        free[max(a - width + 1, 0):a + width] = False
    return out


def _zscored(x: np.ndarray) -> np.ndarray:
    """Rows centred and scaled to unit norm (rows without variance become 0)."""
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    norm = np.sqrt((x * x).sum(axis=1, keepdims=True))
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 1e-12)


def reverse_complement_pwm(pwm: np.ndarray) -> np.ndarray:
    """The PWM of the other strand: rows reversed, A<->T and C<->G swapped."""
    return np.asarray(pwm)[::-1, ::-1]


def align_motif(query: np.ndarray, weights: np.ndarray, pwm: np.ndarray, *, min_overlap: int = 5) -> dict:
    """Best offset of one PWM (one strand) against a query window.

    Parameters
    ----------
    query : ndarray, shape (w, 4)
        Contribution map of the window.
    weights : ndarray, shape (w,)
        Strength of each window position (non-negative).
    pwm : ndarray, shape (m, 4)
    min_overlap : int
        Fewest aligned columns (lowered to the shorter of ``w`` and ``m``).

    Returns
    -------
    dict
        ``score`` (see the module docstring), ``offset`` (window position of the motif's first
        column; negative when it starts before the window), ``overlap`` and ``pcc_mean`` (the plain
        mean of the aligned columns' correlations).
    """
    w, m = len(query), len(pwm)
    r = _zscored(query) @ _zscored(pwm).T  # r[i, j]: Pearson correlation of query column i and motif column j
    wr = np.asarray(weights, dtype=np.float64)[:, None] * r
    total = float(np.sum(weights))
    k = max(1, min(int(min_overlap), w, m))
    best = {"score": -np.inf, "offset": 0, "overlap": 0, "pcc_mean": np.nan}
    for off in range(k - m, w - k + 1):  # motif column j sits at window position off + j
        score = float(np.trace(wr, offset=-off)) / total if total > 0 else 0.0
        if score > best["score"]:
            diag = np.diagonal(r, offset=-off)
            best = {"score": score, "offset": off, "overlap": len(diag), "pcc_mean": float(diag.mean())}
    return best


def match_motifs(contrib: np.ndarray, motifs: dict, *, width: int = 20, n_windows: int = 1,
                 contains: int | None = None, min_overlap: int = 5) -> pd.DataFrame:
    """Rank a motif database against the top window(s) of a contribution map.

    Parameters
    ----------
    contrib : ndarray, shape (n_positions, 4)
        Contribution map (:func:`ism_contributions`).
    motifs : dict of str -> ndarray, shape (m, 4)
        PWMs (probabilities of A, C, G, T), e.g. :func:`read_motif_database`.
    width, n_windows, contains
        The windows compared (:func:`top_windows`).
    min_overlap : int
        Fewest aligned columns of an alignment (:func:`align_motif`).

    Returns
    -------
    DataFrame
        One row per window and motif, best first within each window: ``window`` (1 = strongest),
        ``window_start``, ``window_end`` (0-based positions in the map), ``rank``, ``motif``, ``score``,
        ``strand`` (``+``: the PWM as given, ``-``: its reverse complement), ``offset`` (map position of
        the aligned motif's first column), ``overlap``, ``pcc_mean``.
    """
    contrib = np.asarray(contrib, dtype=np.float64)
    if not motifs:
        raise ValueError("no motifs to match")
    strength = column_strength(contrib)
    rows = []
    for k, (a, b) in enumerate(top_windows(strength, width=width, n=n_windows, contains=contains), 1):
        for name, pwm in motifs.items():
            pwm = np.asarray(pwm, dtype=np.float64)
            hits = [(strand, align_motif(contrib[a:b], strength[a:b], p, min_overlap=min_overlap))
                    for strand, p in (("+", pwm), ("-", reverse_complement_pwm(pwm)))]
            strand, hit = max(hits, key=lambda h: h[1]["score"])
            rows.append({"window": k, "window_start": a, "window_end": b, "motif": name, "score": hit["score"],
                         "strand": strand, "offset": a + hit["offset"], "overlap": hit["overlap"],
                         "pcc_mean": hit["pcc_mean"]})
    out = pd.DataFrame(rows, columns=[c for c in MATCH_COLUMNS if c != "rank"])
    out = out.sort_values(["window", "score"], ascending=[True, False], kind="stable").reset_index(drop=True)
    out.insert(3, "rank", out.groupby("window").cumcount() + 1)
    return out

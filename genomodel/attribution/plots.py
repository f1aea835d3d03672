"""Figures of saliency and mutagenesis (matplotlib Figures; saved with genocore.figures.save_png)."""
from __future__ import annotations

import numpy as np


def saliency_figure(values: np.ndarray, *, names, bin_width: int, title: str = "saliency"):
    """One bar track of signed saliency per sequence. ``values``: (n_sequences, bins)."""
    from matplotlib.figure import Figure

    n = len(values)
    fig = Figure(figsize=(10, 1.4 * n + 0.6))
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for ax, v, name in zip(axes, values, names):
        x = np.arange(len(v)) * bin_width / 1000
        ax.bar(x, v, width=bin_width / 1000, color=np.where(v >= 0, "tab:red", "tab:blue"), linewidth=0)
        ax.axhline(0, color="0.5", lw=0.5)
        ax.set_title(f"{title}: {name}", fontsize=8, loc="left")
        ax.tick_params(labelsize=6)
    axes[-1].set_xlabel("position in the input (kb)")
    fig.tight_layout()
    return fig


def ism_figure(values: np.ndarray, ref_codes: np.ndarray, *, start: int, title: str):
    """Heatmap of alt - ref per position and base, with the reference bases' importance (minus the mean
    effect of mutating them) drawn as letters above it. ``values``: (positions, 4)."""
    from matplotlib.figure import Figure

    width = len(values)
    fig = Figure(figsize=(max(6, width / 12), 3.2))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1.4]})
    importance = -values.sum(axis=1) / 3
    colors = np.array(["tab:green", "tab:blue", "orange", "tab:red"])
    top.bar(np.arange(width), importance, color=colors[np.minimum(ref_codes, 3)], width=0.9)
    for i, (h, c) in enumerate(zip(importance, ref_codes)):
        if c < 4 and width <= 300:
            top.text(i, h, "ACGT"[c], ha="center", va="bottom" if h >= 0 else "top", fontsize=5)
    top.axhline(0, color="0.5", lw=0.5)
    top.set_ylabel("importance", fontsize=7)
    top.set_title(title, fontsize=8, loc="left")
    lim = float(np.abs(values).max()) or 1.0
    im = bottom.imshow(values.T, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    bottom.set_yticks(range(4), list("ACGT"))
    bottom.set_xlabel(f"position (from {start:,})", fontsize=7)
    fig.colorbar(im, ax=bottom, fraction=0.02, pad=0.01, label="alt - ref")
    for ax in (top, bottom):
        ax.tick_params(labelsize=6)
    return fig

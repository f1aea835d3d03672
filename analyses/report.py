"""Figures and the markdown report of the demo (matplotlib, PNG)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyBigWig  # noqa: E402

from genocore.files import atomic_path  # noqa: E402


def save(fig, path: Path) -> Path:
    """Save a figure as PNG atomically and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def coverage_figure(world: Path, chrom: str, start: int, end: int, gene: dict, elements: pd.DataFrame,
                    *, bin_size: int = 128):
    """Binned DNase and CAGE coverage of every cell type over a locus, with genes and elements."""
    targets = pd.read_csv(world / "tracks" / "targets.txt", sep="\t")
    n = len(targets)
    fig, axes = plt.subplots(n + 1, 1, figsize=(10, 0.8 * n + 1.5), sharex=True)
    n_bins = (end - start) // bin_size
    x = start + bin_size * (np.arange(n_bins) + 0.5)
    for ax, row in zip(axes, targets.itertuples()):
        with pyBigWig.open(str(world / "tracks" / row.file)) as bw:
            per_base = np.nan_to_num(bw.values(chrom, start, start + n_bins * bin_size, numpy=True))
        v = per_base.reshape(n_bins, bin_size).sum(axis=1)
        color = "tab:blue" if row.description.startswith("DNASE") else "tab:red"
        ax.fill_between(x, v, step="mid", color=color, lw=0)
        ax.set_ylabel(row.description.replace(":", "\n"), rotation=0, ha="right", va="center", fontsize=7)
        ax.tick_params(labelsize=6)
    ax = axes[-1]
    colors = {"promoter": "tab:green", "enhancer": "tab:orange"}
    for e in elements.itertuples():
        ax.axvspan(e.start, e.end, ymin=0.55, ymax=0.95, color=colors.get(e.kind, "grey"))
    ax.plot([gene["start"], gene["end"]], [0.25, 0.25], color="black", lw=3)
    for t in gene["tss"]:
        ax.annotate("", xy=(t + (1500 if gene["strand"] == "+" else -1500), 0.25), xytext=(t, 0.25),
                    arrowprops={"arrowstyle": "->"})
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_ylabel(f"{gene['gene_id']}\nelements", rotation=0, ha="right", va="center", fontsize=7)
    ax.set_xlim(start, end)
    ax.set_xlabel(f"{chrom} position (bp); 128-bp bins; green promoter, orange enhancer")
    fig.suptitle(f"Simulated coverage around {gene['gene_id']}", fontsize=10)
    return fig


def ld_decay_figure(decay: pd.DataFrame):
    """Mean r^2 against distance, one line per chromosome."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for chrom, t in decay.groupby("chrom"):
        ax.plot(t["mid"] / 1e3, t["mean_r2"], marker="o", label=f"chr{chrom}".replace("chrchr", "chr"))
    ax.set_xscale("log")
    ax.set_xlabel("distance between SNPs (kb)")
    ax.set_ylabel("mean r$^2$")
    ax.set_title("LD decay in the reference panel")
    ax.legend(fontsize=8)
    return fig


def ld_heatmap_figure(r: np.ndarray, positions: np.ndarray, block_bounds: np.ndarray, title: str):
    """r^2 heatmap of consecutive SNPs, LD-block boundaries marked."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    im = ax.imshow(r**2, cmap="Reds", vmin=0, vmax=1, interpolation="nearest")
    for b in block_bounds:
        k = np.searchsorted(positions, b)
        if 0 < k < len(positions):
            ax.axhline(k - 0.5, color="black", lw=0.8)
            ax.axvline(k - 0.5, color="black", lw=0.8)
    ticks = np.linspace(0, len(positions) - 1, 5).astype(int)
    ax.set_xticks(ticks, [f"{positions[t] / 1e6:.3f}" for t in ticks], fontsize=7)
    ax.set_yticks(ticks, [f"{positions[t] / 1e6:.3f}" for t in ticks], fontsize=7)
    ax.set_xlabel("position (Mb); lines: LD-block boundaries")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, label="r$^2$", shrink=0.8)
    return fig


def manhattan_figure(table: pd.DataFrame, tissue: str):
    """-log10 p of each variant's best gene against position, chromosomes side by side."""
    best = table.groupby("variant_id", sort=False).pval_nominal.min().reset_index()
    parts = best.variant_id.str.split("_", expand=True)
    best["chrom"], best["pos"] = parts[0], parts[1].astype(int)
    sig = table.loc[table.significant, "variant_id"].unique()
    fig, ax = plt.subplots(figsize=(10, 3.5))
    offset, ticks = 0, []
    for k, (chrom, t) in enumerate(best.groupby("chrom", sort=True)):
        x = t.pos.to_numpy() + offset
        y = -np.log10(np.maximum(t.pval_nominal.to_numpy(), 1e-300))
        s = t.variant_id.isin(sig).to_numpy()
        ax.scatter(x[~s], y[~s], s=3, color=["#555555", "#999999"][k % 2], rasterized=True)
        ax.scatter(x[s], y[s], s=4, color="tab:red", rasterized=True)
        ticks.append((offset + t.pos.max() / 2, chrom))
        offset += t.pos.max()
    ax.set_xticks([t for t, _ in ticks], [c for _, c in ticks])
    ax.set_ylabel("-log10 p (best gene)")
    ax.set_title(f"cis-eQTL scan, {tissue} (red: significant at FDR 5%)")
    return fig


def markdown_table(df: pd.DataFrame) -> str:
    """A DataFrame as a GitHub markdown table."""
    cols = list(df.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    return "\n".join(lines)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v).replace("|", "\\|")  # a pipe inside a cell (|SED-LD|) would end the cell


def model_tracks_figure(arrays: dict, table: pd.DataFrame, *, windows: list, tracks: list, pool_width: int):
    """Truth, observed and predicted coverage of a few tracks over held-out windows, placed end to end."""
    fig, axes = plt.subplots(len(tracks), 1, figsize=(10, 1.6 * len(tracks) + 0.5), sharex=True, squeeze=False)
    for ax, j in zip(axes[:, 0], tracks):
        for key, color, lw in (("observed", "0.6", 0.8), ("truth", "black", 1.2), ("pred", "tab:orange", 1.2)):
            v = np.concatenate([arrays[key][w, :, j] for w in windows])
            ax.plot(np.arange(len(v)) * pool_width / 1000, v, color=color, lw=lw, label=key)
        row = table.iloc[j]
        ax.set_title(f"{row.track}: R(model, truth) = {row.r_model_truth:.2f}, "
                     f"R(model, observed) = {row.r_model_observed:.2f}", fontsize=8, loc="left")
        ax.tick_params(labelsize=6)
    axes[0, 0].legend(fontsize=7, ncol=3, loc="upper right")
    axes[-1, 0].set_xlabel("held-out sequence (kb; test windows placed end to end)")
    return fig

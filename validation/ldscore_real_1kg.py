"""LD scores of the 1000 Genomes chr1 EUR panel against the published ``eur_w_ld_chr`` chr1 scores.

Usage::

    python validation/ldscore_real_1kg.py --panel DATA/ld_panel_1kg_chr1/1000genomes.chr1.HumanHap550.EUR \\
        --published DATA/ldsc_eur_w_ld_chr/1.l2.ldscore.gz --workdir DIR [--png scatter.png]

The panel's .bim has no genetic map (cM all 0), so the published file's ``CM`` column (HapMap map, by
bp) is interpolated onto the panel's positions and written to a copy of the .bim in ``DIR`` (the .bed
and .fam are linked); LD scores are then computed with a 1 cM window, as ``eur_w_ld_chr`` was, and
also with a 1000 kb window on the original .bim. The panel is opened once
(:class:`stats.io.panel.ReferencePanel`): its .bim and .fam are parsed once for the SNP filter, the cM
copy and the 1000 kb scores. Variants sharing a position are dropped (first kept). The panel is a SNP
array subset (HumanHap550 sites, 169 EUR individuals) while the published scores come from the full
1000 Genomes phase 1 EUR panel, so expect correlation, not equality.
Prints the shared SNP count, Pearson and Spearman correlations and the slope; writes a scatter PNG.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stats.io.panel import ReferencePanel  # noqa: E402
from stats.ld.scores import ld_scores  # noqa: E402


def _with_cm(panel: ReferencePanel, published: pd.DataFrame, workdir: Path) -> Path:
    fileset = Path(panel.source)  # a single fileset (checked by main)
    bim = panel.fileset_bim(fileset)
    pub = published.sort_values("BP")
    bim["cm"] = np.interp(bim["pos"].to_numpy(), pub["BP"].to_numpy(), pub["CM"].to_numpy())
    workdir.mkdir(parents=True, exist_ok=True)
    prefix = workdir / "panel_cm"
    for ext in (".bed", ".fam"):
        link = Path(f"{prefix}{ext}")
        if link.exists() or link.is_symlink():
            link.unlink()
        os.symlink(Path(f"{fileset}{ext}").resolve(), link)
    bim.to_csv(f"{prefix}.bim", sep="\t", header=False, index=False)
    return prefix


def _compare(ours: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    ours = ours.assign(rsid=ours["SNP"].str.split(":").str[0])
    return ours.merge(published, left_on="rsid", right_on="SNP", suffixes=("", "_pub"))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--panel", required=True, type=Path, help="PLINK prefix of the chr1 panel")
    p.add_argument("--published", required=True, type=Path, help="eur_w_ld_chr 1.l2.ldscore.gz")
    p.add_argument("--workdir", required=True, type=Path)
    p.add_argument("--png", type=Path, default=None, help="scatter plot (default WORKDIR/ldscore_1kg_chr1.png)")
    args = p.parse_args(argv)
    published = pd.read_csv(args.published, sep="\t", dtype={"CHR": str})
    panel = ReferencePanel(args.panel)
    if panel.kind != "single":
        p.error(f"--panel {args.panel}: no PLINK fileset {args.panel}.bed")
    bim = panel.fileset_bim(panel.source)
    keep = ~bim.duplicated(["chrom", "pos"], keep="first").to_numpy()
    print(f"panel: {len(bim)} SNPs ({int((~keep).sum())} sharing a position dropped); published: {len(published)} SNPs")
    results = {}
    for label, prefix, kw in (("1 cM (interpolated map)", _with_cm(panel, published, args.workdir),
                               {"wind_cm": 1.0}),
                              ("1000 kb", panel, {"wind_kb": 1000.0})):
        t = time.perf_counter()
        scores = ld_scores(prefix, snps=keep, **kw)
        dt = time.perf_counter() - t
        both = _compare(scores.table, published)
        r = np.corrcoef(both["L2"], both["L2_pub"])[0, 1]
        rho = both["L2"].rank().corr(both["L2_pub"].rank())
        slope = np.polyfit(both["L2_pub"], both["L2"], 1)[0]
        print(f"{label}: {len(scores.table)} SNPs scored in {dt:.1f} s; {len(both)} shared with eur_w_ld_chr; "
              f"Pearson r = {r:.3f}, Spearman rho = {rho:.3f}, slope ours~published = {slope:.3f}, "
              f"mean L2 ours {both['L2'].mean():.2f} vs published {both['L2_pub'].mean():.2f}")
        results[label] = (both, r)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, (label, (both, r)) in zip(axes, results.items()):
        ax.scatter(both["L2_pub"], both["L2"], s=2, alpha=0.3)
        lim = max(both["L2_pub"].max(), both["L2"].max())
        ax.plot([0, lim], [0, lim], "k--", lw=0.8)
        ax.set_xlabel("published eur_w_ld_chr L2 (chr1)")
        ax.set_ylabel(f"stats.ld.scores L2, {label}")
        ax.set_title(f"{len(both)} SNPs, r = {r:.3f}")
    fig.tight_layout()
    png = args.png or args.workdir / "ldscore_1kg_chr1.png"
    fig.savefig(png, dpi=120)
    print(f"scatter: {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

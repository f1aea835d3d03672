"""Signed LD profile regression of GWAS traits on a sequence model's variant effects (Basenji2, Fig. 4).

``python -m analyses.gtex_sldp --config FILE --out DIR`` (or ``--demo``)

The SAD of every prediction dataset (target) of a ``sad.h5`` becomes a signed annotation of the
reference panel's SNPs (alt-minus-ref, oriented to the panel's A1;
:func:`stats.io.annot.signed_annotation_from_scores`), and :func:`stats.sldp.run` regresses every
GWAS trait (LDSC ``.sumstats.gz``) on each of them, with background annotations built by
:mod:`stats.sldp.background`: minor-allele indicators in ``maf_bins`` MAF bins, in gene regions of a
GTF (coding, UTR, other exonic, intronic; ``gtf``), and optionally the leading ``n_pcs`` principal
components of another score matrix (``condition_on``: e.g. the mouse model's SAD, for the
human-given-mouse analysis). LD scores are read (``ldscores_chr``) or computed from the panel
(:func:`stats.ld.scores.ld_scores`, ``ld_wind_cm``). The sign-flip p of each annotation gets a
Benjamini-Hochberg q within its trait (and source and split).

Scores come from the model (``scores``, or ``model`` scored on a simulated ``world``); the planted truth
(``truth_scores``) runs through the same analysis as the ceiling. With the model's record folder
(``data``) the regression is also run on the regression SNPs in the model's training windows
(``split = train``) and on the held-out ones (``heldout``). Writes ``results.tsv`` (trait x annotation x
source x split: ``z, p, q, mu, se`` ...), ``background.tsv`` (the background annotations used),
``heatmap.png`` (z of annotations x traits, both clustered, one panel per source), ``report.md`` and
``model_scores_provenance.json`` (when the ``sad.h5`` records it). ``analyses/configs/gtex_sldp.json`` is a
real-data example (1000 Genomes EUR panel, hg19; the mouse model's SAD given the human model's) whose
paths are to be edited.
"""
from __future__ import annotations

import dataclasses
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from analyses.eqtl_enrichment import check_inputs
from analyses.scoring import demo_scores, model_scores, training_mask
from analyses.framework import Analysis, field, main
from genocore.outputs import OutputFolder

logger = logging.getLogger(__name__)

#: Columns of ``results.tsv``.
RESULT_COLUMNS = ("trait", "annotation", "label", "source", "split", "z", "p", "q", "mu", "se", "z_fast", "p_fast",
                  "h2g", "rf", "h2v/h2g")
#: Regression SNPs of sldp without a list: panel SNPs with at least this MAF.
PRINT_MAF = 0.05


@dataclasses.dataclass(frozen=True)
class Config:
    """Options of the SLDP analysis (a JSON object of these keys)."""

    sumstats: tuple = field(help="GWAS summary statistics, LDSC .sumstats.gz (SNP A1 A2 N Z), one per trait "
                            "(the trait is the file name without .sumstats.gz)", path=True)
    bfile_chr: str = field(help="reference panel: PLINK per-chromosome template ('panel/ref.{chrom}') or "
                           "ldsc-style prefix ('1000G.EUR.QC.')", path=True)
    ld_blocks: str = field(help="LD blocks (BED, the panel's build)", path=True)
    build: str = field(help="genome build of panel and blocks (hg19, hg38, simworld1)")
    scores: str | None = field(None, help="the model's sad.h5 (genomodel sad)", path=True)
    model: str | None = field(None, help="a saved model folder: the SNPs of `world` are scored with it here")
    world: str | None = field(None, help="with model: the simulated world whose SNPs and genome it scores",
                              path=True)
    scores_out: str | None = field(None, help="with model: keep the sad.h5 here (resumes from "
                                   "<scores_out>.parts); a temporary file by default")
    data: str | None = field(None, help="the model's record folder (sequences.bed): regression SNPs in training "
                             "windows and held-out ones are also reported apart", path=True)
    truth_scores: str | None = field(None, help="sad.h5 of the planted truth, run the same way as the ceiling",
                                     path=True)
    targets: tuple | None = field(None, help="targets (ids or labels) to test; default every target")
    stat: str = field("SAD", help="the sad.h5 statistic made into annotations")
    ldscores_chr: str | None = field(None, help="LD scores: template of '{chrom}.l2.ldscore.gz' and "
                                     "'{chrom}.l2.M_5_50' ('ld/{chrom}'); default computed from the panel",
                                     path=True)
    ld_wind_cm: float = field(1.0, help="LD score window (cM) when computed from the panel")
    gtf: str | None = field(None, help="genes (GTF): coding / UTR / exonic / intronic background annotations",
                            path=True)
    maf_bins: int = field(5, help="minor-allele background annotations in this many MAF bins (0: none)")
    condition_on: str | None = field(None, help="sad.h5 whose leading principal components enter the "
                                     "background (e.g. the other species' model)", path=True)
    n_pcs: int = field(10, help="principal components of `condition_on` in the background")
    alpha: float = field(-1.0, help="MAF scaling exponent of the tested annotations (-1: none)")
    jk_blocks: int = field(300, help="chunks of LD blocks for the sign flips and the jackknife")
    n_draws: int = field(1_000_000, help="most sign flips per test (stops early once p >= 0.01)")
    seed: int = field(0, help="seed of the sign flips")
    workers: int | None = field(None, help="run on a local Dask cluster of this many worker processes")

    def __post_init__(self):
        for key in ("sumstats", "targets"):
            if isinstance(getattr(self, key), str):
                object.__setattr__(self, key, (getattr(self, key),))
        if (self.scores is None) == (self.model is None):
            raise ValueError("give exactly one of `scores` (a sad.h5) and `model` (with `world`)")
        if self.model is not None and self.world is None:
            raise ValueError("`model` scores the SNPs of a simulated `world`: set `world`, or score real data "
                             "with genomodel sad and pass `scores`")
        if self.maf_bins < 0 or self.n_pcs < 1 or self.jk_blocks < 2 or self.n_draws < 1:
            raise ValueError(f"maf_bins >= 0, n_pcs >= 1, jk_blocks >= 2 and n_draws >= 1 are needed (got "
                             f"{self.maf_bins}, {self.n_pcs}, {self.jk_blocks}, {self.n_draws})")


def tested_annotation(path, panel, *, stat: str, targets=None) -> tuple[pd.DataFrame, dict]:
    """The signed annotation of each target's score on the panel's SNPs.

    Parameters
    ----------
    path : path-like
        A ``sad.h5``.
    panel : ReferencePanel
    stat : str
    targets : sequence of str, optional
        Target ids or labels (default all).

    Returns
    -------
    annotation : DataFrame
        ``CHR SNP A1 A2`` and one column per target id.
    labels : dict of target id -> label
    """
    from genocore.scores import read_sad_h5
    from stats.io.annot import signed_annotation_from_scores

    s = read_sad_h5(path, stats=[stat], dtype=np.float64)
    ids = list(s.target_ids or [f"t{j}" for j in range(s.stats[stat].shape[1])])
    labels = list(s.target_labels or ids)
    cols = list(range(len(ids)))
    if targets is not None:
        unknown = [t for t in targets if t not in ids and t not in labels]
        if unknown:
            raise ValueError(f"{path}: no target(s) {unknown[:5]}; its targets are {ids[:10]}")
        cols = [ids.index(t) if t in ids else labels.index(t) for t in targets]
    ann = signed_annotation_from_scores(s.variants, s.stats[stat][:, cols], names=[ids[j] for j in cols],
                                        panel=panel.allele_table(), what=str(path))
    return ann, {ids[j]: labels[j] for j in cols}


def background_annotation(cfg, panel) -> pd.DataFrame:
    """The background: MAF bins, gene regions and principal components of ``condition_on`` (those
    asked), one signed table on the panel's SNPs (``CHR SNP A1 A2`` + columns; none: no column)."""
    from genocore.scores import read_sad_h5
    from stats.sldp.background import allele_frequencies, maf_bin_annotation, pc_annotation, region_annotation

    keys = ["CHR", "SNP", "A1", "A2"]
    bim = panel.allele_table()
    out = pd.DataFrame({"CHR": bim["chrom"].astype(str).to_numpy(), "SNP": bim["snp"].to_numpy(),
                        "A1": bim["a1"].to_numpy(), "A2": bim["a2"].to_numpy()})
    parts = []
    freq = allele_frequencies(panel) if cfg.maf_bins or cfg.gtf is not None else None  # one pass over the genotypes
    if cfg.maf_bins:
        parts.append(maf_bin_annotation(panel, n_bins=cfg.maf_bins, freq=freq))
    if cfg.gtf is not None:
        parts.append(region_annotation(panel, cfg.gtf, freq=freq))
    if cfg.condition_on is not None:
        s = read_sad_h5(cfg.condition_on, stats=[cfg.stat], dtype=np.float64)
        parts.append(pc_annotation(s.variants, s.stats[cfg.stat], n_pcs=cfg.n_pcs, panel=panel,
                                   what=str(cfg.condition_on)))
    for part in parts:
        cols = [c for c in part.columns if c not in keys]
        values = part.set_index("SNP")[cols].reindex(out["SNP"]).fillna(0.0)
        out[cols] = values.to_numpy(np.float64)
    return out


def print_snps(cfg, panel) -> dict:
    """Regression SNPs per split: ``{"all": None}`` (sldp's default, MAF >= 5%), plus ``train`` and
    ``heldout`` (those in / out of the model's training windows) when the config names ``data``."""
    if cfg.data is None:
        return {"all": None}
    bim = panel.allele_table()
    maf = np.concatenate([panel.maf(c) for c in panel.filesets()])
    common = maf >= PRINT_MAF
    inside = training_mask(cfg.data, bim)
    snps = bim["snp"].to_numpy()
    return {"all": None, "train": set(snps[common & inside]), "heldout": set(snps[common & ~inside])}


def prepare(cfg, panel, sources: dict, workdir: Path, progress) -> dict:
    """Annotation files of every source, the background file and LD scores under ``workdir``.

    Returns
    -------
    dict
        ``annot`` (source -> ``.sannot.gz`` template), ``labels`` (target id -> label), ``background``
        (template or None), ``background_columns``, ``ldscores_chr``.
    """
    from stats.io.annot import write_annot_chroms
    from stats.ld.scores import ld_scores, write_ld_scores

    annot, labels = {}, {}
    for source, path in sources.items():
        progress(f"{source} annotations")
        table, lab = tested_annotation(path, panel, stat=cfg.stat, targets=cfg.targets)
        labels.update(lab)
        annot[source] = str(workdir / f"{source}.{{chrom}}")
        write_annot_chroms(annot[source], table, signed=True, float_format="%.6g")
    progress("background annotations")
    bg = background_annotation(cfg, panel)
    columns = [c for c in bg.columns if c not in ("CHR", "SNP", "A1", "A2")]
    background = str(workdir / "background.{chrom}") if columns else None
    if background:
        write_annot_chroms(background, bg, signed=True, float_format="%.6g")
    ldscores = cfg.ldscores_chr
    if ldscores is None:
        progress("LD scores")
        ldscores = str(workdir / "ld.{chrom}")
        write_ld_scores(ldscores, ld_scores(panel, wind_cm=cfg.ld_wind_cm))
    return {"annot": annot, "labels": labels, "background": background, "background_columns": columns,
            "ldscores_chr": ldscores}


def sldp_runs(cfg, panel, inputs: dict, splits: dict, progress, *, client=None, parts=None) -> pd.DataFrame:
    """:func:`stats.sldp.run` per source x split; the ``.gwresults`` rows with ``source`` and ``split``. A
    ``train`` or ``heldout`` part that cannot be analysed (too few SNPs) is left out with a warning."""
    from stats import sldp

    tables, bg = [], inputs["background"]
    for source, annot in inputs["annot"].items():
        for split, snps in splits.items():
            progress(f"SLDP, {source} annotations, {split} SNPs")
            try:
                res = sldp.run(bfile_chr=panel, ld_blocks=cfg.ld_blocks, sumstats=list(cfg.sumstats),
                               sannot_chr=[annot], background_sannot_chr=[bg] if bg else (),
                               ldscores_chr=inputs["ldscores_chr"], print_snps=snps, build=cfg.build, alpha=cfg.alpha,
                               jk_blocks=cfg.jk_blocks, n_draws=cfg.n_draws, seed=cfg.seed, client=client,
                               blas_threads=1, resume=True,
                               parts_dir=parts.folder / f"{source}-{split}" if parts is not None else None)
            except ValueError as err:  # a training / held-out part too small to regress is left out
                if split == "all":
                    raise
                logger.warning("SLDP, %s annotations, %s SNPs: not analysed (%s)", source, split, err)
                continue
            tables.append(res.table.assign(source=source, split=split))
    return pd.concat(tables, ignore_index=True)


def result_table(gw: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """``results.tsv``: sldp's rows renamed, with the Benjamini-Hochberg q of ``p`` within each trait x
    source x split."""
    from stats.casecontrol import benjamini_hochberg

    out = gw.rename(columns={"pheno": "trait", "se(mu)": "se"})
    out["annotation"] = out["annot"].str.replace(r"\.R$", "", regex=True)
    out["label"] = out["annotation"].map(labels).fillna(out["annotation"])
    out["q"] = np.nan
    for _, idx in out.groupby(["trait", "source", "split"], sort=False).groups.items():
        p = out.loc[idx, "p"].to_numpy(np.float64)
        ok = np.isfinite(p)
        q = np.full(len(p), np.nan)
        q[ok] = benjamini_hochberg(p[ok])
        out.loc[idx, "q"] = q
    return out[list(RESULT_COLUMNS)]


def _order(z: np.ndarray, axis: int) -> np.ndarray:
    """Leaf order of an average-linkage clustering of the rows (axis 0) or columns (axis 1) of z."""
    from scipy.cluster.hierarchy import leaves_list, linkage

    x = np.nan_to_num(z if axis == 0 else z.T)
    return leaves_list(linkage(x, method="average")) if len(x) > 2 else np.arange(len(x))


def heatmap(results: pd.DataFrame, path, *, split: str = "all") -> Path:
    """z of every annotation x trait, one panel per source; rows and columns clustered (average
    linkage) on the z of all sources together; ``*`` marks q < 0.05."""
    from matplotlib.figure import Figure

    from genocore.figures import save_png

    res = results[results["split"] == split]
    sources = list(dict.fromkeys(res["source"]))
    grids = {s: res[res.source == s].pivot_table(index="annotation", columns="trait", values="z", sort=False)
             for s in sources}
    first = grids[sources[0]]
    z_all = [grids[s].reindex(index=first.index, columns=first.columns).to_numpy() for s in sources]
    rows, cols = first.index[_order(np.hstack(z_all), 0)], first.columns[_order(np.vstack(z_all), 1)]
    labels = res.drop_duplicates("annotation").set_index("annotation")["label"].reindex(rows).tolist()
    width = 1.8 + 0.06 * max(len(str(r)) for r in labels) + 0.9 * len(cols) * len(sources)
    fig = Figure(figsize=(width, 1.6 + 0.28 * len(rows)), layout="constrained")
    lim = max(2.0, float(np.nanmax(np.abs(res["z"].to_numpy(np.float64)))) if len(res) else 2.0)
    for k, s in enumerate(sources):
        ax = fig.add_subplot(1, len(sources), k + 1)
        z = grids[s].reindex(index=rows, columns=cols)
        q = res[res.source == s].pivot_table(index="annotation", columns="trait", values="q", sort=False).reindex(
            index=rows, columns=cols)
        im = ax.imshow(z.to_numpy(np.float64), cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        for i, j in zip(*np.nonzero(q.to_numpy(np.float64) < 0.05)):
            ax.text(j, i, "*", ha="center", va="center", fontsize=11, color="white")
        ax.set_xticks(range(len(cols)), list(cols), rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(len(rows)), labels if k == 0 else [""] * len(rows), fontsize=7)
        ax.set_title(f"{s} ({split} SNPs)", fontsize=9)
    fig.colorbar(im, ax=fig.axes, label="SLDP z (sign-flip)", shrink=0.8)
    return save_png(fig, path)


def report(results: pd.DataFrame, cfg, background: list) -> str:
    """``report.md``: what was run, the strongest annotation of each trait and source, the figure."""
    from analyses.report import markdown_table

    top = (results[results.split == "all"].assign(absz=lambda d: d["z"].abs())
           .sort_values("absz", ascending=False, kind="stable").groupby(["trait", "source"], sort=False).head(1))
    top = top.sort_values(["trait", "source"])[["trait", "source", "label", "z", "p", "q", "mu", "se"]]
    ceiling = ("The planted truth (`source = truth`) is the same analysis on the true effects: the ceiling. "
               if cfg.truth_scores else "")
    split = ("The regression is also run on the regression SNPs inside the model's training windows (`train`) "
             "and on the held-out ones (`heldout`). " if cfg.data else "")
    return (f"# SLDP of GWAS traits on model {cfg.stat} (Basenji2, Fig. 4)\n\n"
            f"Every target's {cfg.stat} is a signed annotation; `z`, `p` are sldp's sign-flip statistics, `q` "
            "their Benjamini-Hochberg q within each trait. Background annotations: "
            f"{', '.join(background) if background else 'none'}. {ceiling}{split}All rows: `results.tsv`.\n\n"
            f"Strongest annotation per trait (all SNPs):\n\n{markdown_table(top)}\n\n"
            "![SLDP z, annotations x traits](heatmap.png)\n")


def run(cfg: Config, progress, *, parts=None) -> OutputFolder:
    """The analysis: annotations, background and LD scores, SLDP per source x split, table, heatmap,
    report (``parts``: where each SLDP run's finished grid cells are kept)."""
    from analyses.scoring import h5_provenance
    from genocore.dask_client import dask_client
    from stats.io.panel import ReferencePanel

    check_inputs(cfg)
    panel = ReferencePanel(cfg.bfile_chr)
    client = dask_client(workers=cfg.workers)
    try:
        with tempfile.TemporaryDirectory(prefix="gtex_sldp.") as tmp:
            sources = {"model": model_scores(cfg, tmp, progress=progress)}
            if cfg.truth_scores is not None:
                sources["truth"] = Path(cfg.truth_scores)
            prov = h5_provenance(sources["model"])
            inputs = prepare(cfg, panel, sources, Path(tmp), progress)
            gw = sldp_runs(cfg, panel, inputs, print_snps(cfg, panel), progress, client=client, parts=parts)
    finally:
        if client is not None:
            client.close()
    results = result_table(gw, inputs["labels"])
    bg = pd.DataFrame({"background_annotation": inputs["background_columns"]})
    out = OutputFolder(tables={"results.tsv": results, "background.tsv": bg},
                       texts={"report.md": report(results, cfg, inputs["background_columns"])},
                       figures={"heatmap.png": lambda path: heatmap(results, path)})
    if prov is not None:
        out.add_json("model_scores_provenance.json", prov)
    return out


def demo(world, out) -> Config:
    """The simulated world: the demo's model scores its SNPs; the traits ``directional`` (a planted
    directional effect through the immune tracks, ``truth.json``) and ``null``; the planted truth as the ceiling."""
    import json

    world = Path(world)
    build = json.loads((world / "truth.json").read_text()).get("genome_build", "simworld1")
    return Config(sumstats=tuple(str(world / "gwas" / f"{t}.sumstats.gz") for t in ("directional", "null")),
                  bfile_chr=str(world / "genotypes" / "ref_panel.chr{chrom}"),
                  ld_blocks=str(world / "genotypes" / "ldblocks.bed"), build=build,
                  gtf=str(world / "genome" / "genes.gtf"), **demo_scores(world, out))


#: The paper's headline, reported beside this suite's numbers.
PAPER = ("tissue-matched prediction datasets significant for GTEx tissues' multi-gene eQTL signal (e.g. liver "
         "CAGE for liver); mouse informative given human (Basenji2, Fig. 4)")

ANALYSIS = Analysis(name="gtex_sldp", description="SLDP of GWAS traits on model variant effects, annotations x "
                    "traits (Basenji2, Fig. 4)", config=Config, run=run, demo=demo,
                    paper=PAPER, resumable=True)

if __name__ == "__main__":
    sys.exit(main(ANALYSIS))

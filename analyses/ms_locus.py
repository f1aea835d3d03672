"""A fine-mapped GWAS locus through a sequence model (Basenji 2018 Fig. 6, the multiple-sclerosis GPR65 locus).

``python -m analyses.ms_locus --config FILE --out DIR`` (or ``--demo``; keys: ``--help``)

1. PICS (:func:`stats.finemap.pics.pics`) of the locus summary statistics with a reference panel gives
   the credible set (SNPs by decreasing probability up to ``coverage``).
2. Each credible-set SNP, with its alleles from the panel's .bim (REF/ALT set by the genome:
   ``ref_policy="flip"``), is scored with the model (:func:`genomodel.variants.score_vcf` on a VCF of
   :func:`stats.io.sites.write_sites_vcf`): SED, the change of the predicted signal at the TSS bins of every
   gene with a TSS in the predicted window, per dataset (targets whose label starts with
   ``sed_targets``; CAGE by default).
3. A gene x dataset change is flagged when ``|SED| / REF > flag_threshold`` (10%), with REF the
   predicted reference signal at the same TSS bins, as the paper flags predicted changes of more than
   10%. Variants are ranked by their largest |SED|.
4. In-silico saturation mutagenesis (:func:`genomodel.attribution.ism.ism`, incremental path) of
   ``ism_width`` bp around the top variant, on the REF and on the ALT sequence, for one dataset and the
   output bin holding the variant (``ism_focus="site"``) or the TSS bins of its top gene (``"tss"``).
5. The contribution maps of the ALT, the REF and their difference (ALT minus REF) are matched against a
   motif database (MEME or JASPAR) by :func:`genomodel.attribution.motifs.match_motifs`.

When given, planted or otherwise known effects (``truth_scores``: a ``sad.h5`` with a SED group;
``truth_reference``: the reference TSS signal per gene and dataset) go through the same SED, flag and
rank steps and are reported beside the model as the ceiling. Outputs: ``credible_set.tsv`` (one row per
credible-set SNP), ``sed_pairs.tsv`` (variant x gene x dataset), ``motif_matches.tsv``, ``pics.png``,
``sed.png``, ``ism_ref.png``, ``ism_alt.png`` and ``report.md``.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from analyses.framework import Analysis, field, main
from genomodel.variants import tss_bins
from genocore.outputs import OutputFolder

logger = logging.getLogger(__name__)

MAPS = ("alt", "ref", "alt_minus_ref")


@dataclasses.dataclass(frozen=True)
class Config:
    """Options of the locus analysis (the ``help`` of each field says what it is)."""

    sumstats: str = field(help="locus summary statistics: TSV with SNP and P (CHR helps find the panel file)",
                          path=True)
    panel: str = field(help="reference panel of the locus: a PLINK .bed (its .bim and .fam beside it)", path=True)
    model: str = field(help="saved model folder (genomodel train's run/model; its weights' SHA-256 go in "
                       "details.json)")
    fasta: str = field(help="genome FASTA the model reads (its REF alleles orient the SNPs)", path=True)
    gtf: str = field(help="gene annotation (GTF); genes with a TSS in a variant's predicted window get SED",
                     path=True)
    motifs: str = field(help="motif database, MEME minimal format or JASPAR matrices", path=True)
    lead_snp: str | None = field(None, help="lead SNP of the locus (default: smallest P)")
    coverage: float = field(0.95, help="credible-set coverage")
    r2_min: float = field(0.5, help="PICS considers SNPs with r^2 >= r2_min to the lead")
    window_bp: int = field(1_000_000, help="panel SNPs read within this distance of the lead (bp)")
    sed_targets: str = field("CAGE", help="datasets scored: targets whose label starts with this (\"\": all)")
    flag_threshold: float = field(0.1, help="flag a gene x dataset when |SED| / predicted reference > this")
    rc: bool = field(False, help="average SED over the reverse complement too (ISM is forward only)")
    batch_size: int = field(4, help="sequences per model call")
    ism_width: int = field(50, help="bp mutated around the top variant (ISM)")
    ism_focus: str = field("site", help="ISM sums the output bin holding the variant (site) or the TSS bins "
                           "of the top variant's top gene (tss)")
    ism_target: str | None = field(None, help="dataset of the ISM (label or id); default: the top variant's "
                                   "largest |SAD| target (site) or largest |SED| target (tss)")
    motif_width: int = field(20, help="width (bp) of the contribution-map windows matched to motifs")
    motif_windows: int = field(2, help="windows matched per map (the first one holds the variant)")
    motif_top: int = field(10, help="motif matches kept per map and window")
    truth_scores: str | None = field(None, help="known SED: sad.h5 with a sed group (the ceiling)", path=True)
    truth_reference: str | None = field(None, help="known reference TSS signal: TSV gene_id + one column per "
                                        "target id (for the truth's flags)", path=True)
    ism_snp: str | None = field(None, help="credible-set SNP mutated (default: the top one by predicted max |SED|)")
    causal_snp: str | None = field(None, help="a SNP known to be causal, marked in tables and figures")
    causal_motif: str | None = field(None, help="the motif its ALT allele is known to create or break")

    def __post_init__(self):
        if not (Path(self.model) / "params.json").is_file():
            raise FileNotFoundError(f"config: model = {str(self.model)!r} is not a saved model folder (no params.json)")
        if self.ism_focus not in ("site", "tss"):
            raise ValueError(f"config: ism_focus must be 'site' or 'tss', not {self.ism_focus!r}")
        if not 0 < self.coverage <= 1:
            raise ValueError(f"config: coverage must lie in (0, 1], not {self.coverage!r}")
        for key in ("ism_width", "motif_width", "motif_windows", "motif_top", "batch_size"):
            if int(getattr(self, key)) < 1:
                raise ValueError(f"config: {key} must be at least 1, not {getattr(self, key)!r}")


# -- 1. the credible set ----------------------------------------------------------------------------------

def credible_snps(cfg: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """PICS of the locus; its credible-set SNPs with the panel's positions and alleles.

    Returns
    -------
    pics : DataFrame
        Every SNP with r^2 >= r2_min (:func:`stats.finemap.pics.pics`), with chrom, pos, a1, a2 of the panel.
    credible : DataFrame
        Its credible-set rows, sorted by position: SNP, chrom, pos, a1, a2, r, r2, P, prob, cum_prob.
    """
    from stats.finemap.pics import pics, read_pics_sumstats
    from stats.io.panel import ReferencePanel

    ss = read_pics_sumstats(cfg.sumstats)
    panel = ReferencePanel(cfg.panel)
    res = pics(ss, [cfg.lead_snp] if cfg.lead_snp else None, panel=panel, coverage=cfg.coverage,
               r2_min=cfg.r2_min, window_bp=cfg.window_bp)
    lead = res.lead_snp.iloc[0]
    chroms = [str(ss.drop_duplicates("SNP").set_index("SNP").loc[lead, "CHR"])] if "CHR" in ss.columns else None
    bim = panel.allele_table(chroms=chroms).drop_duplicates("snp").set_index("snp")
    res = res.join(bim[["chrom", "pos", "a1", "a2"]], on="SNP")
    cs = res[res.in_credible_set].sort_values("pos").reset_index(drop=True)
    cs = cs[["SNP", "chrom", "pos", "a1", "a2", "r", "r2", "P", "prob", "cum_prob"]]
    logger.info("locus of %s: %d SNPs with r2 >= %g, %d in the %g credible set", lead, len(res), cfg.r2_min,
                len(cs), cfg.coverage)
    return res, cs


# -- 2-3. SED, reference signal, flags, ranks ---------------------------------------------------------------

def score_snps(head, cfg: Config, cs: pd.DataFrame, work: Path):
    """SAD and SED of the credible set (:func:`genomodel.variants.score_vcf`, REF/ALT by the genome)."""
    from stats.io.sites import write_sites_vcf
    from genomodel.variants import score_vcf

    rows = cs.rename(columns={"SNP": "snp", "a2": "ref", "a1": "alt"})
    vcf = write_sites_vcf(rows, work / "credible_set.vcf")
    return score_vcf(head, vcf, cfg.fasta, parts_dir=work / "parts", gtf=cfg.gtf, ref_policy="flip", rc=cfg.rc,
                     batch_size=cfg.batch_size, command=["analyses.ms_locus", str(cfg.model)])


def reference_tss_signal(head, fasta, variants: pd.DataFrame, tss: pd.DataFrame, *, rc: bool = False,
                         batch_size: int = 4) -> pd.DataFrame:
    """Predicted reference signal at each gene's TSS bins in each variant's window (what SED changes).

    Parameters
    ----------
    head : genomodel.model.seqnn.Head
    fasta : path-like
    variants : DataFrame
        ``snp, chrom, pos`` (1-based); the window is centred on ``pos`` as in scoring.
    tss : DataFrame
        ``gene_id, chrom, tss`` (0-based, :func:`genomodel.io.gtf.model_tss`).

    Returns
    -------
    DataFrame
        ``variant`` (row of ``variants``), ``gene_id`` and one column per target id (sum over the gene's
        distinct TSS bins of the reference prediction).
    """
    from genomodel import dna
    from genomodel.predict import geometry, predict, region_sequences

    model = head.model
    pool, crop = geometry(model)
    n_bins = int(model.output.shape[1])
    regions = pd.DataFrame({"chrom": variants.chrom.to_numpy(), "start": variants.pos.to_numpy() - 1,
                            "end": variants.pos.to_numpy()})
    codes, windows = region_sequences(fasta, regions, int(model.input.shape[1]))
    pred = predict(model, dna.one_hot(codes, dtype=np.float32), rc=rc, strand_pair=head.strand_pair,
                   batch_size=batch_size).astype(np.float64)
    rows = []
    for i, (chrom, start) in enumerate(zip(windows.chrom, windows.start)):
        for gid, bins in tss_bins(tss, chrom, int(start), pool=pool, crop=crop, n_bins=n_bins).items():
            rows.append((i, gid, *pred[i, bins].sum(axis=0)))
    return pd.DataFrame(rows, columns=["variant", "gene_id", *head.target_ids])


def sed_pairs(variants: pd.DataFrame, sed: pd.DataFrame, ref: pd.DataFrame | None, targets: dict, *,
              threshold: float) -> pd.DataFrame:
    """Long table of SED per variant, gene and dataset, with the reference signal and the > threshold flag.

    Parameters
    ----------
    variants : DataFrame
        ``snp, chrom, pos, ref, alt``; rows indexed by ``sed.variant``.
    sed, ref : DataFrame
        ``variant, gene_id`` + one column per target id: SED (alt - ref) and the reference signal (None:
        no flags).
    targets : dict of str -> str
        Target id -> label of the datasets kept.

    Returns
    -------
    DataFrame
        ``snp, chrom, pos, ref, alt, gene_id, target, sed, ref_signal, rel_change, flag`` (rel_change =
        |sed| / ref_signal where ref_signal > 0, else NaN; flag = rel_change > threshold).
    """
    ids = [t for t in targets if t in sed.columns]
    long = sed.melt(id_vars=["variant", "gene_id"], value_vars=ids, var_name="target_id", value_name="sed")
    if ref is not None:
        r = ref.melt(id_vars=["variant", "gene_id"], value_vars=[t for t in ids if t in ref.columns],
                     var_name="target_id", value_name="ref_signal")
        long = long.merge(r, on=["variant", "gene_id", "target_id"], how="left")
    else:
        long["ref_signal"] = np.nan
    pos_ref = long.ref_signal.where(long.ref_signal > 0)
    long["rel_change"] = long.sed.abs() / pos_ref
    long["flag"] = long.rel_change > threshold
    v = variants.reset_index(drop=True)[["snp", "chrom", "pos", "ref", "alt"]]
    out = v.iloc[long.variant.to_numpy()].reset_index(drop=True)
    out["gene_id"] = long.gene_id.to_numpy()
    out["target"] = long.target_id.map(targets).to_numpy()
    for c in ("sed", "ref_signal", "rel_change", "flag"):
        out[c] = long[c].to_numpy()
    return out.sort_values(["pos", "snp", "gene_id", "target"], kind="stable").reset_index(drop=True)


def truth_sed(cfg: Config, variants: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Known SED (and reference signal) of the scored variants, oriented to their REF/ALT.

    Rows of ``truth_scores`` meet the variants by chromosome, position and alleles (a swapped pair
    negates SED). Returns ``(sed, ref)`` as :func:`sed_pairs` takes them (pairs absent: none).
    """
    from genocore.genome import normalize_chrom
    from genocore.scores import read_sed

    t = read_sed(cfg.truth_scores)
    t["_chrom"] = np.asarray(normalize_chrom(t.chrom.astype(str).to_numpy()), str)
    v = variants.reset_index(drop=True).assign(variant=np.arange(len(variants)))
    v["_chrom"] = np.asarray(normalize_chrom(v.chrom.astype(str).to_numpy()), str)
    cols = [c for c in t.columns if c.startswith("SED_")]
    parts = []
    for sign, (a, b) in ((1.0, ("ref", "alt")), (-1.0, ("alt", "ref"))):
        m = v[["variant", "_chrom", "pos", "ref", "alt"]].merge(
            t.rename(columns={"ref": a + "_t", "alt": b + "_t"}), on=["_chrom", "pos"])
        m = m[(m.ref == m.ref_t) & (m.alt == m.alt_t)]
        parts.append(m[["variant", "gene_id"]].assign(**{c[4:]: sign * m[c].to_numpy() for c in cols}))
    sed = pd.concat(parts, ignore_index=True).drop_duplicates(["variant", "gene_id"])
    ref = None
    if cfg.truth_reference:
        expr = pd.read_csv(cfg.truth_reference, sep="\t", dtype={"gene_id": str})
        ref = sed[["variant", "gene_id"]].merge(expr, on="gene_id", how="left")
    return sed, ref


def variant_summary(variants: pd.DataFrame, pairs: pd.DataFrame, *, prefix: str = "") -> pd.DataFrame:
    """Per scored variant: largest |SED| (gene, dataset, signed value), its rank, and the flags."""
    p = pairs.assign(abs_sed=pairs.sed.abs())
    top = p.sort_values("abs_sed", ascending=False, kind="stable").drop_duplicates("snp").set_index("snp")
    flags = p[p.flag].groupby("snp")
    out = pd.DataFrame({"snp": variants.snp.to_numpy()})
    out["max_abs_sed"] = top.abs_sed.reindex(out.snp).to_numpy()
    out["sed_gene"] = top.gene_id.reindex(out.snp).to_numpy()
    out["sed_target"] = top.target.reindex(out.snp).to_numpy()
    out["sed"] = top.sed.reindex(out.snp).to_numpy()
    out["rank"] = out.max_abs_sed.rank(ascending=False, method="min", na_option="keep")
    out["max_rel_change"] = p.groupby("snp").rel_change.max().reindex(out.snp).to_numpy()
    out["n_flags"] = flags.size().reindex(out.snp).fillna(0).astype(int).to_numpy()
    out["flagged_genes"] = flags.gene_id.agg(lambda g: ",".join(sorted(set(g)))).reindex(out.snp).fillna("").to_numpy()
    return out.rename(columns={c: prefix + c for c in out.columns if c != "snp"})


# -- 4-5. mutagenesis and motifs ------------------------------------------------------------------------------

def _pick_target(head, name: str | None, fallback: int) -> int:
    """Index of a target named by id or label (``fallback`` when None)."""
    if name is None:
        return int(fallback)
    labels = list(head.target_labels or head.target_ids)
    for names in (list(head.target_ids), labels):
        if name in names:
            return names.index(name)
    raise ValueError(f"ism_target {name!r} is not a target of the model (ids {head.target_ids[:4]}...)")


def allele_ism(head, fasta, variant, *, width: int, target: int, bins=None) -> dict:
    """Saturation mutagenesis around a SNP on its REF and on its ALT sequence.

    Parameters
    ----------
    head : genomodel.model.seqnn.Head
    fasta : path-like
    variant : row with ``chrom, pos, ref, alt``
    width : int
        Positions mutated, centred on the SNP (which sits at offset ``width // 2``).
    target : int
        Target index.
    bins : sequence of int, optional
        Output bins summed; default the bin holding the SNP.

    Returns
    -------
    dict
        ``ref`` and ``alt``: ``(values (width, 4) float32, codes (width,) uint8)``; ``start_1based`` of the
        first mutated base; ``bins``.
    """
    from genomodel import dna
    from genomodel.attribution.ism import ism
    from genomodel.predict import geometry, region_sequences

    model = head.model
    seq_length = int(model.input.shape[1])
    regions = pd.DataFrame({"chrom": [variant.chrom], "start": [int(variant.pos) - 1], "end": [int(variant.pos)]})
    codes, windows = region_sequences(fasta, regions, seq_length)
    centre = seq_length // 2
    if dna.decode(codes[0, centre:centre + 1]) != variant.ref:
        raise ValueError(f"{variant.chrom}:{variant.pos}: the genome has {dna.decode(codes[0, centre:centre + 1])}, "
                         f"not REF {variant.ref}")
    pool, crop = geometry(model)
    bins = list(bins) if bins else [(centre - crop) // pool]
    a = centre - width // 2
    out = {"start_1based": int(windows.start[0]) + a + 1, "bins": bins, "window_start": int(windows.start[0])}
    alt = codes[0].copy()
    alt[centre] = dna.encode(variant.alt)[0]
    for allele, c in (("ref", codes[0]), ("alt", alt)):
        v = ism(model, dna.one_hot(c, dtype=np.float32), start=a, end=a + width, targets=[target], bins=bins,
                fast=True)
        out[allele] = (v[:, :, 0], c[a:a + width])
    return out


def motif_matches(res: dict, motifs: dict, cfg: Config) -> pd.DataFrame:
    """Motif matches of the ALT, REF and ALT-minus-REF contribution maps (top ``motif_top`` per window)."""
    from genomodel.attribution.motifs import ism_contributions, match_motifs

    maps = {"alt": res["alt"][0], "ref": res["ref"][0], "alt_minus_ref": res["alt"][0] - res["ref"][0]}
    parts = []
    for name in MAPS:
        m = match_motifs(ism_contributions(maps[name]), motifs, width=cfg.motif_width, n_windows=cfg.motif_windows,
                         contains=cfg.ism_width // 2, min_overlap=5)
        m = m[m["rank"] <= cfg.motif_top].copy()
        for c in ("window_start", "offset"):
            m[c] = m[c] + res["start_1based"]
        m["window_end"] = m["window_end"] + res["start_1based"] - 1
        parts.append(m.rename(columns={"window_start": "window_start_1based", "window_end": "window_end_1based",
                                       "offset": "motif_start_1based"}).assign(map=name))
    out = pd.concat(parts, ignore_index=True)
    return out[["map", *[c for c in out.columns if c != "map"]]]


def ranked(table: pd.DataFrame, *, prefix: str = "") -> pd.DataFrame:
    """Rows by ``<prefix>rank`` (largest max |SED| first; unscored last), ties by decreasing PICS probability."""
    return table.sort_values([prefix + "rank", "pics_prob"], ascending=[True, False], na_position="last",
                             kind="stable")


def _ism_setup(head, cfg: Config, scores, summary: pd.DataFrame, tss: pd.DataFrame):
    """(variant row, target index, bins or None, gene or None) of the ISM: ``ism_snp`` or the top-ranked variant."""
    snp = cfg.ism_snp or ranked(summary).snp.iloc[0]
    hit = np.flatnonzero(scores.variants.snp.to_numpy() == snp)
    if not len(hit):
        raise ValueError(f"ism_snp {snp!r} is not a scored credible-set SNP ({', '.join(scores.variants.snp[:5])}...)")
    v = scores.variants.iloc[int(hit[0])]
    if cfg.ism_focus == "site":
        return v, _pick_target(head, cfg.ism_target, np.abs(scores.stats["SAD"][int(hit[0])]).argmax()), None, None
    from genomodel.predict import geometry

    top = summary.set_index("snp").loc[snp]
    if pd.isna(top.sed_gene):
        raise ValueError(f"ism_focus 'tss': {snp} has no gene with a TSS in its predicted window")
    labels = list(head.target_labels or head.target_ids)
    pool, crop = geometry(head.model)
    start = int(v.pos) - 1 - int(head.model.input.shape[1]) // 2
    bins = tss_bins(tss[tss.gene_id == top.sed_gene], v.chrom, start, pool=pool, crop=crop,
                     n_bins=int(head.model.output.shape[1]))[top.sed_gene]
    return v, _pick_target(head, cfg.ism_target, labels.index(top.sed_target)), bins, top.sed_gene


# -- figures and report ---------------------------------------------------------------------------------------

def _pics_figure(pics: pd.DataFrame, causal: str | None):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3))
    ax = fig.subplots()
    p = pics.sort_values("pos")
    colors = np.where(p.in_credible_set, "tab:blue", "0.7")
    ax.bar(p.pos / 1e3, p.prob, width=max(np.ptp(p.pos) / 1e3 / 150, 0.05), color=colors)
    if causal is not None and (p.SNP == causal).any():
        c = p[p.SNP == causal].iloc[0]
        ax.annotate(causal, (c.pos / 1e3, c.prob), color="tab:red", fontsize=7, ha="center", va="bottom")
    ax.set_xlabel(f"position on chromosome {p.chrom.iloc[0]} (kb)")
    ax.set_ylabel("PICS probability")
    ax.set_title(f"PICS, lead {p.lead_snp.iloc[0]}: blue = credible set", fontsize=9, loc="left")
    fig.tight_layout()
    return fig


def _sed_figure(table: pd.DataFrame, causal: str | None):
    from matplotlib.figure import Figure

    cols = [c for c in ("max_abs_sed", "truth_max_abs_sed") if c in table.columns]
    fig = Figure(figsize=(max(6, 0.3 * len(table) + 2), 2.4 * len(cols) + 0.6))
    axes = fig.subplots(len(cols), 1, squeeze=False, sharex=True)[:, 0]
    x = np.arange(len(table))
    for ax, col in zip(axes, cols):
        color = np.where(table.snp == causal, "tab:red", "tab:blue")
        ax.bar(x, table[col].fillna(0), color=color)
        ax.set_ylabel("max |SED|\n" + ("truth" if col.startswith("truth") else "model"), fontsize=8)
        flagged = table[col.replace("max_abs_sed", "n_flags")] > 0
        ax.plot(x[flagged], table[col].fillna(0)[flagged], "k*", ms=6, label="> flag threshold")
        ax.legend(fontsize=6, loc="upper right")
    axes[-1].set_xticks(x, table.snp, rotation=90, fontsize=6)
    axes[0].set_title("largest |SED| over nearby genes and datasets (red: the known causal SNP)", fontsize=9,
                      loc="left")
    fig.tight_layout()
    return fig


def _figures(pics: pd.DataFrame, table: pd.DataFrame, res: dict, cfg: Config, title: str) -> dict:
    from genocore.figures import save_png
    from genomodel.attribution.plots import ism_figure

    figs = {"pics.png": lambda p: save_png(_pics_figure(pics, cfg.causal_snp), p),
            "sed.png": lambda p: save_png(_sed_figure(table, cfg.causal_snp), p)}
    for allele in ("ref", "alt"):
        values, codes = res[allele]
        figs[f"ism_{allele}.png"] = (lambda p, v=values, c=codes, a=allele: save_png(
            ism_figure(v, c, start=res["start_1based"], title=f"{title}, {a.upper()} sequence"), p))
    return figs


def _report(cfg: Config, pics: pd.DataFrame, table: pd.DataFrame, matches: pd.DataFrame, ism_info: dict) -> str:
    from analyses.report import markdown_table

    top = ranked(table).iloc[0]
    lines = ["# Fine-mapped locus through the sequence model", "",
             f"Lead SNP {pics.lead_snp.iloc[0]} (P = {pics.P[pics.SNP == pics.lead_snp.iloc[0]].iloc[0]:.3g}); "
             f"{len(pics)} SNPs with r^2 >= {cfg.r2_min}; {int(pics.in_credible_set.sum())} in the "
             f"{cfg.coverage:g} PICS credible set.",
             f"Top variant by predicted max |SED|: {top.snp} ({top.sed_gene}, {top.sed_target}, SED {top.sed:.3g}, "
             f"{int(top.n_flags)} gene x dataset changes > {cfg.flag_threshold:.0%}).", ""]
    if "truth_rank" in table.columns:
        t = ranked(table, prefix="truth_").iloc[0]
        both = table[["max_abs_sed", "truth_max_abs_sed"]].dropna()
        rho = (f"{both.max_abs_sed.corr(both.truth_max_abs_sed, method='spearman'):.3f}"
               if len(both) > 2 and (both.nunique() > 1).all() else "undefined (a constant or too few SNPs)")
        lines.append(f"Ceiling (known SED through the same steps): top variant {t.snp} ({t.truth_sed_gene}, "
                     f"{t.truth_sed_target}, SED {t.truth_sed:.3g}, {int(t.truth_n_flags)} changes > "
                     f"{cfg.flag_threshold:.0%}); Spearman rho of model vs known max |SED| over the SNPs both "
                     f"score: {rho}.")
    if cfg.causal_snp is not None and (table.snp == cfg.causal_snp).any():
        c = table[table.snp == cfg.causal_snp].iloc[0]
        rank = {k: "not scored (no TSS in its window)" if pd.isna(c.get(k)) else f"{c[k]:.0f} of {len(table)}"
                for k in ("rank", "truth_rank")}
        lines.append(f"Known causal SNP {cfg.causal_snp}: model rank {rank['rank']}"
                     + (f", known-SED rank {rank['truth_rank']}" if "truth_rank" in table.columns else "") + ".")
    lines += ["", f"ISM of {_ism_line(ism_info)}.", ""]
    firsts = matches[(matches["rank"] == 1)][["map", "window", "window_start_1based", "motif", "score", "strand",
                                             "motif_start_1based", "pcc_mean"]]
    lines += ["Best motif per contribution map and window:", "", markdown_table(firsts), ""]
    if cfg.causal_motif is not None:
        alt = matches[(matches["map"] == "alt") & (matches.window == 1)].reset_index(drop=True)
        hit = np.flatnonzero(alt.motif.str.split().str[-1] == cfg.causal_motif.split()[-1])
        lines.append(f"Known motif {cfg.causal_motif}: rank {hit[0] + 1 if len(hit) else '> ' + str(cfg.motif_top)} "
                     "in the ALT map's window around the variant.")
    cols = ["snp", "pos", "pics_prob", "max_abs_sed", "rank", "n_flags"]
    cols += [c for c in ("truth_max_abs_sed", "truth_rank") if c in table.columns]
    lines += ["", markdown_table(ranked(table)[cols].head(10)), "",
              "Tables: credible_set.tsv, sed_pairs.tsv, motif_matches.tsv. Figures: pics.png, sed.png, "
              "ism_ref.png, ism_alt.png.", ""]
    return "\n".join(lines)


def _ism_line(info: dict) -> str:
    """One line describing the mutagenesis."""
    where = f"the TSS bins of {info['gene']}" if info["gene"] else "the bin holding the variant"
    return (f"{info['width']} bp around {info['snp']} ({info['chrom']}:{info['pos']} {info['ref']}>{info['alt']}) "
            f"for {info['target']}, summed over {where} (bins {info['bins']})")


# -- the analysis --------------------------------------------------------------------------------------------

def run(cfg: Config, progress) -> OutputFolder:
    """Credible set, SED and flags (model and known), ISM of the top variant and its motifs."""
    from genocore.files import sha256
    from genomodel.attribution.motifs import read_motif_database
    from genomodel.io.gtf import model_tss
    from genomodel.model.seqnn import load_head

    motifs = read_motif_database(cfg.motifs)
    progress("PICS credible set")
    pics, cs = credible_snps(cfg)
    head = load_head(cfg.model)
    targets = {i: lab for i, lab in zip(head.target_ids, head.target_labels or head.target_ids)
               if str(lab).startswith(cfg.sed_targets)}
    if not targets:
        raise ValueError(f"sed_targets {cfg.sed_targets!r}: no target label starts with it")
    progress("scoring the credible set")
    with tempfile.TemporaryDirectory(prefix="ms_locus.") as tmp:
        scores = score_snps(head, cfg, cs, Path(tmp))
    tss = model_tss(cfg.gtf)
    v = scores.variants
    sed = scores.sed.rename(columns={f"t{j}": t for j, t in enumerate(scores.target_ids)})
    ref = reference_tss_signal(head, cfg.fasta, v, tss, rc=cfg.rc, batch_size=cfg.batch_size)
    pairs = sed_pairs(v, sed, ref, targets, threshold=cfg.flag_threshold)
    table = cs.rename(columns={"SNP": "snp", "prob": "pics_prob"}).drop(columns=["a1", "a2", "chrom", "pos"])
    table = v[["snp", "chrom", "pos", "ref", "alt"]].merge(table, on="snp", how="left")
    table = table.merge(variant_summary(v, pairs), on="snp")
    if cfg.truth_scores:
        t_sed, t_ref = truth_sed(cfg, v)
        t_pairs = sed_pairs(v, t_sed, t_ref, targets, threshold=cfg.flag_threshold)
        table = table.merge(variant_summary(v, t_pairs, prefix="truth_"), on="snp")
        pairs = pairs.merge(t_pairs, how="outer", on=["snp", "chrom", "pos", "ref", "alt", "gene_id", "target"],
                            suffixes=("", "_truth"))
    table["causal"] = table.snp == cfg.causal_snp
    progress("ISM of the top variant")
    var, target, bins, gene = _ism_setup(head, cfg, scores, table, tss)
    res = allele_ism(head, cfg.fasta, var, width=cfg.ism_width, target=target, bins=bins)
    labels = list(head.target_labels or head.target_ids)
    info = {"snp": var.snp, "chrom": var.chrom, "pos": int(var.pos), "ref": var.ref, "alt": var.alt,
            "target": labels[target], "gene": gene, "bins": res["bins"], "width": cfg.ism_width}
    progress("motif matching")
    matches = motif_matches(res, motifs, cfg)
    out = OutputFolder(tables={"credible_set.tsv": table, "sed_pairs.tsv": pairs, "motif_matches.tsv": matches},
                       texts={"report.md": _report(cfg, pics, table, matches, info)},
                       figures=_figures(pics, table, res, cfg, f"ISM {var.snp} {labels[target]}"))
    out.add_json("details.json", {"model": str(cfg.model), "model_weights_sha256": sha256(head.weights),
                                  "vcf_counts": scores.vcf_counts, "ism": {**info, "start_1based": res["start_1based"],
                                  "alt": res["alt"][0].round(6).tolist(), "ref": res["ref"][0].round(6).tolist()}})
    return out


def world_tss_reference(world, path) -> Path:
    """The simulated world's noiseless reference TSS signal per gene and CAGE target (``truth_reference``)."""
    from analyses.scoring import world_targets
    from genocore.files import write_table

    expr = pd.read_csv(Path(world) / "truth" / "gene_expression.tsv", sep="\t", dtype={"gene_id": str})
    out = expr[["gene_id"]].copy()
    for tid, desc in zip(world_targets(world).identifier, world_targets(world).description):
        assay, cell = desc.split(":", 1)
        if assay == "CAGE":
            out[tid] = expr[cell].to_numpy()
    return write_table(path, out, float_format="%.6g")


def demo(world, out) -> Config:
    """The world's fine-mapping locus, its truth beside the demo's trained model."""
    from analyses.scoring import truth_sad_h5

    world, out = Path(world), Path(out)
    model = world.parent / "model" / "run" / "model"
    if not (model / "params.json").exists():
        raise FileNotFoundError(f"no trained model at {model}: run `make demo` first (it trains one), or pass "
                                "--config with a model")
    fm = json.loads((world / "truth.json").read_text())["finemap"]
    truth = truth_sad_h5(world, out / f"truth_sad.{fm['chrom']}.h5", chroms=[fm["chrom"]])
    return Config(sumstats=str(world / "finemap" / "locus.sumstats.tsv"),
                  panel=str(world / "genotypes" / f"ref_panel.{fm['chrom']}.bed"), model=str(model),
                  fasta=str(world / "genome" / "genome.fa"), gtf=str(world / "genome" / "genes.gtf"),
                  motifs=str(world / "genome" / "motifs.meme"), truth_scores=str(truth),
                  truth_reference=str(world_tss_reference(world, out / "truth_tss_signal.tsv")),
                  causal_snp=fm["causal_snp"], causal_motif=fm["motif"])


#: The paper's headline, reported beside this suite's numbers.
PAPER = ("rs6574978 has the largest SED of the GPR65 credible set; ISM shows the motif its allele creates "
         "(Basenji 2018, Fig. 6)")

ANALYSIS = Analysis(name="ms_locus", description="Basenji 2018 Fig. 6: a PICS credible set scored by SED, its "
                    "top variant's ISM and the motifs it reveals", config=Config, run=run, demo=demo,
                    paper=PAPER)

if __name__ == "__main__":
    sys.exit(main(ANALYSIS))

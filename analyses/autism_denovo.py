"""De novo variants of autism cases and their unaffected siblings, scored by a sequence model
(Basenji2, Fig. 5).

``python -m analyses.autism_denovo --config FILE --out DIR`` or ``--demo``.

The de novo variants (one row per variant: family, case or control, the individual carrying it and
its site) are scored with the model: either the scores are given (a ``sad.h5`` written by
``genomodel sad``, matched to the table by chromosome, position and alleles), or the variants are
written as a VCF and scored here. :func:`stats.casecontrol.analyze` then runs the paper's tests on the
variant x dataset score matrix (DESIGN.md section 4, "De novo case-control"): per dataset the
Mann-Whitney U test of case against control scores with Benjamini-Hochberg FDR, the same test on the
first principal component, the comparison of a group of datasets (brain) against the others by the
Mann-Whitney U test of their p-values, and the per-family paired test of the individuals' risk scores
(sum of the negative scores of their variants in one dataset). Optional ``truth_scores`` (on the
simulated world, the planted effects) go through the same analysis and are reported beside as the
ceiling.

Writes ``datasets.tsv`` (one row per dataset x source), ``summary.tsv`` (one row per source),
``pca.tsv``, ``risk.tsv``, ``family_pairs.tsv``, ``volcano_<source>.png`` and ``report.md``.
"""
from __future__ import annotations

import dataclasses
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from analyses.framework import Analysis, field, main
from analyses.scoring import SITE, check_model, demo_model, h5_provenance, score_sites
from genocore.outputs import OutputFolder

logger = logging.getLogger(__name__)

REF_POLICIES = ("error", "skip")


@dataclasses.dataclass(frozen=True)
class Config:
    """Options of the de novo case-control analysis (one of ``scores`` and ``model``)."""

    variants: str = field(help="de novo variants (TSV): variant_id, family, role (case / control), individual "
                               "(optional), chrom, pos (1-based), ref, alt", path=True)
    scores: str | None = field(None, help="the model's scores of the variants: a sad.h5 of `genomodel sad` "
                                          "(matched by chrom, pos, ref, alt) or a TSV of variant_id + one "
                                          "column per dataset", path=True)
    model: str | None = field(None, help="a saved model folder: the variants are written as a VCF and scored "
                                         "with it (needs fasta)")
    fasta: str | None = field(None, help="genome FASTA the variants refer to (with model)", path=True)
    truth_scores: str | None = field(None, help="true scores (same formats as scores), analysed the same way "
                                                "and reported beside as the ceiling", path=True)
    stat: str = field("SAD", help="statistic of a sad.h5 to test (SAD: negative = loss of activity)")
    group: str | None = field("brain", help="datasets whose label contains this text are compared with the "
                                            "others (null: no group comparison)")
    risk_dataset: str | None = field(None, help="dataset of the per-individual risk score and family test; "
                                                "null: the smallest one-sided p, chosen post hoc")
    n_components: int = field(10, help="principal components tested")
    pca_transform: str | None = field(None, help="transform of the scores before the PCA: null or asinh")
    rc: bool = field(False, help="with model: average forward and reverse-complement predictions")
    batch_size: int = field(8, help="with model: sequences per prediction batch")
    ref_policy: str = field("error", help="with model: variants whose REF does not match the FASTA: error or "
                                          "skip (left out of the analysis)")
    scores_out: str | None = field(None, help="with model: keep the sad.h5 of the variants here (resumes "
                                              "from <scores_out>.parts); a temporary file by default")

    def __post_init__(self):
        if (self.scores is None) == (self.model is None):
            raise ValueError("give exactly one of scores (a sad.h5 or TSV of the variants) and model")
        if self.model is not None and self.fasta is None:
            raise ValueError("model needs fasta (the genome the variants refer to)")
        if self.pca_transform not in (None, "asinh"):
            raise ValueError(f"pca_transform must be null or 'asinh', got {self.pca_transform!r}")
        if self.ref_policy not in REF_POLICIES:
            raise ValueError(f"ref_policy must be one of {REF_POLICIES}, got {self.ref_policy!r}")


# -- scores ------------------------------------------------------------------------------------------


def site_keys(table: pd.DataFrame) -> pd.Index:
    """``chrom:pos:ref:alt`` of each row, chromosome names normalized (``chr1`` = ``1``)."""
    from genocore.genome import normalize_chrom

    missing = [c for c in SITE if c not in table.columns]
    if missing:
        raise ValueError(f"variant table lacks column(s) {missing}; matching scores needs chrom, pos, ref, alt")
    chrom = normalize_chrom(table["chrom"].astype(str).to_numpy())
    parts = [chrom, table["pos"].astype(np.int64).astype(str).to_numpy(),
             table["ref"].astype(str).str.upper().to_numpy(), table["alt"].astype(str).str.upper().to_numpy()]
    return pd.Index([":".join(p) for p in zip(*parts)])


def read_variant_scores(path, variants: pd.DataFrame, *, stat: str = "SAD") -> pd.DataFrame:
    """Scores of the de novo variants, indexed by ``variant_id``.

    Parameters
    ----------
    path : path-like
        A ``sad.h5`` (rows matched to ``variants`` by chromosome, position, REF and ALT, so variants at
        one site in several families share its scores; a row scored with the alleles swapped does not
        match) or a TSV of ``variant_id`` + one column per
        dataset (:func:`stats.casecontrol.read_scores`).
    variants : DataFrame
        The checked variant table (``variant_id`` and, for a ``sad.h5``, chrom, pos, ref, alt).
    stat : str
        Statistic of a ``sad.h5``.

    Returns
    -------
    DataFrame, float64, shape (n_matched, n_datasets)
        Variants without a score are left out (and logged).
    """
    from genocore.scores import read_sad_h5
    from stats import casecontrol as cc

    if Path(path).suffix.lower() not in (".h5", ".hdf5"):
        return cc.read_scores(path)
    s = read_sad_h5(path, stats=[stat], dtype=np.float64)
    names = s.target_labels or s.target_ids or [f"t{j}" for j in range(s.stats[stat].shape[1])]
    keys = site_keys(s.variants)
    first = ~keys.duplicated()
    row = pd.Series(np.flatnonzero(first), index=keys[first])
    want = site_keys(variants)
    hit = want.isin(row.index)
    logger.info("%s: %d of %d variants matched by chrom, pos, ref, alt", path, int(hit.sum()), len(variants))
    x = s.stats[stat][row.loc[want[hit]].to_numpy()]
    return pd.DataFrame(x, index=pd.Index(variants.variant_id.to_numpy()[hit], name="variant_id"),
                        columns=list(names))


def model_scores(cfg: Config, variants: pd.DataFrame, progress) -> tuple[pd.DataFrame, dict | None]:
    """The model's scores of the variants, read from ``cfg.scores`` or scored with ``cfg.model``, and the
    provenance of the ``sad.h5`` (model weights, VCF, options) when it has one."""
    if cfg.scores is not None:
        return read_variant_scores(cfg.scores, variants, stat=cfg.stat), h5_provenance(cfg.scores)
    progress("scoring the variants with the model")
    kw = dict(rc=cfg.rc, batch_size=cfg.batch_size, ref_policy=cfg.ref_policy, progress=progress)
    with tempfile.TemporaryDirectory() as tmp:
        path = score_sites(cfg.model, variants, cfg.fasta, cfg.scores_out or Path(tmp) / "denovo_sad.h5", **kw)
        return read_variant_scores(path, variants, stat=cfg.stat), h5_provenance(path)


# -- analysis ----------------------------------------------------------------------------------------

def summary_row(source: str, res: dict, *, group: str | None) -> dict:
    """One row of ``summary.tsv``: counts, the group comparison, PC1, the family test."""
    t, pc, fam = res["datasets"], res["pca"], res["family"]
    grp = res["group"] or {}
    return {"source": source, "n_variants": int(t.n_case.iat[0] + t.n_control.iat[0]), "n_case": int(t.n_case.iat[0]),
            "n_control": int(t.n_control.iat[0]), "n_datasets": len(t),
            "n_fdr_below_0.05": int((t.fdr < 0.05).sum()), "n_fdr_less_below_0.05": int((t.fdr_less < 0.05).sum()),
            "group": group, "group_median_p": grp.get("median_group", np.nan),
            "other_median_p": grp.get("median_other", np.nan), "group_p": grp.get("p", np.nan),
            "pc1_variance_explained": float(pc.variance_explained.iat[0]), "pc1_p": float(pc.p.iat[0]),
            "pc1_p_less": float(pc.p_less.iat[0]), "risk_dataset": res["risk_dataset"],
            "n_families": fam["n_families"], "n_ties": fam["n_ties"], "share_case_worse": fam["share_case_worse"],
            "family_p": fam["p"]}


def analyze_sources(cfg: Config, variants: pd.DataFrame, sources: dict) -> dict:
    """:func:`stats.casecontrol.analyze` on each source's score matrix (same options for all)."""
    from stats import casecontrol as cc

    return {name: cc.analyze(variants, s, group=cfg.group, risk_dataset=cfg.risk_dataset,
                             n_components=cfg.n_components, pca_transform=cfg.pca_transform, constant="drop")
            for name, s in sources.items()}


def outputs(cfg: Config, results: dict) -> OutputFolder:
    """Tables, volcano figures and report of the analysed sources."""
    from stats import casecontrol as cc

    def stacked(key):
        t = pd.concat([r[key].assign(source=s) for s, r in results.items()], ignore_index=True)
        return t[["source", *[c for c in t.columns if c != "source"]]]

    datasets = stacked("datasets")
    datasets.insert(2, "in_group", datasets.dataset.str.contains(cfg.group, case=False, regex=False)
                    if cfg.group else False)
    summary = pd.DataFrame([summary_row(s, r, group=cfg.group) for s, r in results.items()])
    out = OutputFolder(tables={"datasets.tsv": datasets,
                               "summary.tsv": summary, "pca.tsv": stacked("pca"), "risk.tsv": stacked("risk"),
                               "family_pairs.tsv": stacked("family_pairs")})
    for source, res in results.items():
        out.figures[f"volcano_{source}.png"] = (
            lambda path, t=res["datasets"], s=source: cc.volcano_plot(t, path, group=cfg.group,
                                                                      title=f"De novo case-control ({s} scores)"))
    out.texts["report.md"] = report(cfg, summary)
    return out


def report(cfg: Config, summary: pd.DataFrame) -> str:
    """The short markdown report."""
    src = "the model's scores" if cfg.scores is not None else "scores from the model, computed here"
    lines = ["# De novo case-control (Basenji2 Fig. 5)", "",
             f"Variants `{cfg.variants}`, {src} (`{cfg.scores or cfg.model}`, statistic {cfg.stat})"
             + (f"; the truth `{cfg.truth_scores}` as the ceiling." if cfg.truth_scores else "."), "",
             "| source | variants (case / control) | datasets FDR<0.05 | group p | PC1 p | risk dataset | "
             "case worse | family p |", "|---|---|---|---|---|---|---|---|"]
    for r in summary.to_dict("records"):
        lines.append(f"| {r['source']} | {r['n_variants']} ({r['n_case']} / {r['n_control']}) | "
                     f"{r['n_fdr_below_0.05']} of {r['n_datasets']} | {r['group_p']:.3g} | {r['pc1_p']:.3g} | "
                     f"{r['risk_dataset']} | {r['share_case_worse']:.2f} of {r['n_families'] - r['n_ties']} | "
                     f"{r['family_p']:.3g} |")
    lines += ["", f"Group: datasets whose label contains `{cfg.group}` against the others (Mann-Whitney U of "
              "the per-dataset two-sided p-values, one-sided: the group's are smaller).",
              "Risk dataset " + ("fixed in the config." if cfg.risk_dataset else
                                 "chosen post hoc (smallest one-sided p), so its family p is optimistic."),
              "", "Files: `datasets.tsv` (per dataset and source), `summary.tsv`, `pca.tsv`, `risk.tsv`, "
              "`family_pairs.tsv`, " + ", ".join(f"`volcano_{s}.png`" for s in summary.source) + "."]
    return "\n".join(lines) + "\n"


def run(cfg: Config, progress) -> OutputFolder:
    """The analysis of the model's scores (and the truth's, when given)."""
    from stats import casecontrol as cc

    check_model(cfg.model)
    progress("reading the variants")
    variants = cc.read_variants(cfg.variants)
    scores, prov = model_scores(cfg, variants, progress)
    sources = {"model": scores}
    if cfg.truth_scores is not None:
        sources["truth"] = read_variant_scores(cfg.truth_scores, variants, stat=cfg.stat)
    progress("case-control tests")
    out = outputs(cfg, analyze_sources(cfg, variants, sources))
    if prov is not None:
        out.add_json("model_scores_provenance.json", prov)
    return out


def demo(world, out) -> Config:
    """The world's de novo variants scored with the demo's model (into ``out``, a folder of scores other
    analyses share; reused when present), the planted effects as the ceiling, the risk score in a brain
    DNase track fixed in advance."""
    from stats import casecontrol as cc

    world, out = Path(world), Path(out)
    model = demo_model(world)
    variants = world / "denovo" / "denovo_variants.tsv"
    scores = out / "denovo_sad.h5"
    if not scores.exists():
        out.mkdir(parents=True, exist_ok=True)
        score_sites(model, cc.read_variants(variants), world / "genome" / "genome.fa", scores)
    return Config(variants=str(variants), scores=str(scores),
                  truth_scores=str(world / "truth" / "denovo_effects.tsv.gz"), risk_dataset="DNASE:brain_neuron")


#: The paper's headline, reported beside this suite's numbers.
PAPER = ("brain datasets' predicted effects lower in cases than siblings; family-paired risk score significant"
         " (Basenji2, Fig. 5)")

ANALYSIS = Analysis(name="autism_denovo", description="De novo variants of autism cases vs siblings scored by "
                    "a sequence model (Basenji2 Fig. 5)", config=Config, run=run, demo=demo,
                    paper=PAPER)

if __name__ == "__main__":
    sys.exit(main(ANALYSIS))

"""Variant scores of the simulated world, in the files ``genomodel`` writes: from a model, or from the
world's planted truth (the ceiling every analysis reports beside its from-predictions result).

Both go through :mod:`genocore.scores`, so an analysis reads the truth exactly as it reads a model's
predictions: ``sad.h5`` with one SAD column per target of ``tracks/targets.txt`` and the SED group
(variant x gene x target). In the truth file SAD is the exact alt-minus-ref change of the noiseless
track (summed over the variant's window, as the generative function defines it) and SED the change of
the gene's TSS signal in the CAGE target of each cell type (0 for DNase targets).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from genocore.scores import read_sad_h5, write_sad_h5
from stats.io.sites import write_sites_vcf

logger = logging.getLogger(__name__)

#: The columns that identify a variant across files: rows meet by these, never by an ID alone.
SITE = ["chrom", "pos", "ref", "alt"]


def world_targets(world) -> pd.DataFrame:
    """``tracks/targets.txt`` of the world (``identifier``, ``description`` = ``ASSAY:cell_type``)."""
    return pd.read_csv(Path(world) / "tracks" / "targets.txt", sep="\t")


def world_variants(world, *, chroms=None) -> pd.DataFrame:
    """The world's SNPs: ``snp, chrom, pos (1-based), ref, alt`` (ALT is the panel's A1)."""
    v = pd.read_csv(Path(world) / "truth" / "snp_track_effects.tsv.gz", sep="\t",
                    usecols=["snp", "chrom", "pos", "ref", "alt"], dtype={"chrom": str})
    if chroms is not None:
        v = v[v.chrom.isin(list(chroms))]
    return v.reset_index(drop=True)


def truth_sad_h5(world, path, *, chroms=None) -> Path:
    """Write the planted truth as a ``sad.h5`` (SAD per target, SED group per SNP-gene pair)."""
    world = Path(world)
    targets = world_targets(world)
    effects = pd.read_csv(world / "truth" / "snp_track_effects.tsv.gz", sep="\t", dtype={"chrom": str})
    if chroms is not None:
        effects = effects[effects.chrom.isin(list(chroms))].reset_index(drop=True)
    variants = effects[["snp", "chrom", "pos", "ref", "alt"]]
    sad = effects[list(targets.description)].to_numpy(np.float64)
    genes = pd.read_csv(world / "truth" / "snp_gene_effects.tsv.gz", sep="\t")
    genes = genes[genes.snp.isin(variants.snp)].reset_index(drop=True)
    sed = pd.DataFrame({"variant": pd.Index(variants.snp).get_indexer(genes.snp), "gene_id": genes.gene_id,
                        "n_tss_bins": 1})
    for j, d in enumerate(targets.description):
        assay, cell = d.split(":", 1)
        sed[f"t{j}"] = genes[cell].to_numpy(np.float64) if assay == "CAGE" else 0.0
    return write_sad_h5(path, variants, {"SAD": sad}, target_ids=list(targets.identifier),
                        target_labels=list(targets.description), sed=sed,
                        provenance={"source": "planted truth", "world": str(world)}, dtype=np.float32)


def model_sad_h5(model_dir, world, path, *, chroms=None, gtf: bool = True, rc: bool = False, shared: bool = True,
                 batch_size: int = 128, chunk_size: int = 2000, progress=None) -> Path:
    """Score the world's SNPs with a saved model into a ``sad.h5`` (SED too with ``gtf``).

    With ``shared`` neighbouring SNPs share their windows (one reference pass per window,
    :func:`genomodel.variants.score_variants`), which about halves the passes on the world's dense SNPs.
    Scoring resumes from finished chunks (``<path>.parts``) when interrupted.
    """
    from genomodel.model.seqnn import load_head
    from genomodel.variants import score_vcf

    world, path = Path(world), Path(path)
    vcf = write_sites_vcf(world_variants(world, chroms=chroms), path.with_suffix(".vcf"))
    head = load_head(model_dir)
    scores = score_vcf(head, vcf, world / "genome" / "genome.fa", parts_dir=Path(str(path) + ".parts"),
                       gtf=world / "genome" / "genes.gtf" if gtf else None, rc=rc, batch_size=batch_size,
                       chunk_size=chunk_size, resume=True, progress=progress, shared=shared,
                       command=["analyses.scoring.model_sad_h5", str(model_dir)])
    scores.write(path)
    return path


def sad_frame(path, *, stat: str = "SAD", labels: bool = True) -> pd.DataFrame:
    """One statistic of a ``sad.h5`` as a DataFrame: ``snp, chrom, pos, ref, alt`` + one column per
    target (named by its label when ``labels`` and the file has them, else by id)."""
    s = read_sad_h5(path, stats=[stat], dtype=np.float64)
    names = s.target_labels if labels and s.target_labels else s.target_ids
    return pd.concat([s.variants.reset_index(drop=True), pd.DataFrame(s.stats[stat], columns=list(names))], axis=1)


def training_mask(data, variants: pd.DataFrame) -> np.ndarray:
    """bool, shape (n_variants,): which variants lie in a training window of a record folder
    (``sequences.bed``, split ``train``); the rest are held out from the model's training. Chromosome
    names are compared normalized (``chr1`` = ``1``)."""
    from genocore.bed import read_bed
    from genocore.genome import normalize_chrom

    bed = read_bed(Path(data) / "sequences.bed")
    train = bed[bed["name"] == "train"] if "name" in bed.columns else bed
    inside = np.zeros(len(variants), dtype=bool)
    pos0 = variants.pos.to_numpy(np.int64) - 1
    chrom = np.asarray(normalize_chrom(variants.chrom.astype(str).to_numpy()), dtype=str)
    train_chrom = np.asarray(normalize_chrom(train.chrom.astype(str).to_numpy()), dtype=str)
    for c in np.unique(train_chrom):
        rows = np.flatnonzero(chrom == c)
        if not len(rows):
            continue
        w = train[train_chrom == c]
        starts, ends = w.start.to_numpy(np.int64), w.end.to_numpy(np.int64)
        order = np.argsort(starts)
        starts, ends = starts[order], np.maximum.accumulate(ends[order])
        k = np.searchsorted(starts, pos0[rows], side="right") - 1
        inside[rows] = (k >= 0) & (pos0[rows] < ends[np.maximum(k, 0)])
    return inside


def check_model(model) -> None:
    """FileNotFoundError naming the ``model`` key unless it is None or a saved model folder.

    A folder cannot be hashed into the provenance as input files are, so ``model`` is not a ``path``
    field; ``run`` calls this first, before any work (the scores' own provenance records the weights).
    """
    if model is not None and not (Path(model) / "params.json").is_file():
        raise FileNotFoundError(f"config: model = {str(model)!r} is not a saved model folder (no params.json)")


def score_sites(model, variants: pd.DataFrame, fasta, path, *, rc: bool = False, batch_size: int = 8,
                ref_policy: str = "error", progress=None) -> Path:
    """Score the distinct sites of a variant table with a saved model into a ``sad.h5``.

    Parameters
    ----------
    model : path-like
        A saved model folder.
    variants : DataFrame
        ``variant_id`` (or ``snp``), chrom, pos (1-based), ref, alt; a site listed twice is scored once.
    fasta : path-like
        The genome the sites refer to (REF checked under ``ref_policy``).
    path : path-like
        The ``sad.h5`` to write; the sites' VCF goes beside it and finished chunks to ``<path>.parts``
        (a rerun resumes from them).
    rc, batch_size, ref_policy, progress
        As :func:`genomodel.variants.score_vcf` (``progress(step: str)``).

    Returns
    -------
    Path of the ``sad.h5``.
    """
    from genomodel.model.seqnn import load_head
    from genomodel.variants import score_vcf

    path = Path(path)
    sites = variants.rename(columns={"variant_id": "snp"}).drop_duplicates(SITE)[["snp", *SITE]]
    vcf = write_sites_vcf(sites, path.with_suffix(".vcf"))
    head = load_head(model)
    report = None if progress is None else (lambda done, total: progress(f"scored chunk {done} of {total}"))
    scores = score_vcf(head, vcf, fasta, parts_dir=Path(str(path) + ".parts"), ref_policy=ref_policy, rc=rc,
                       batch_size=batch_size, resume=True, progress=report,
                       command=["analyses.scoring.score_sites", str(model)])
    return scores.write(path)


def h5_provenance(path) -> dict | None:
    """The provenance stored in a ``sad.h5`` (None for a TSV or a file without one)."""
    from genocore.scores import read_sad_h5

    if Path(path).suffix.lower() not in (".h5", ".hdf5"):
        return None
    return read_sad_h5(path, stats=[]).provenance


def demo_model(world) -> Path:
    """The model the demo trains beside the world; FileNotFoundError when it is absent."""
    model = Path(world).parent / "model" / "run" / "model"
    if not model.is_dir():
        raise FileNotFoundError(f"no trained model at {model}: run `make demo` first, or pass --config with a model")
    return model


def model_scores(cfg, workdir, *, progress) -> Path:
    """The model's ``sad.h5``: ``cfg.scores``, or the SNPs of ``cfg.world`` scored with ``cfg.model`` (SAD and
    SED; :func:`analyses.scoring.model_sad_h5`) into ``cfg.scores_out`` or ``workdir``."""
    if cfg.scores is not None:
        return Path(cfg.scores)
    progress("scoring the world's SNPs with the model")
    return Path(model_sad_h5(cfg.model, cfg.world, cfg.scores_out or Path(workdir) / "world_sad.h5", gtf=True))


def demo_scores(world, out) -> dict:
    """The demo's inputs: the world's SNPs scored (SAD and SED) by the model the demo trained, and the
    planted truth, in the folder of scores the analyses share (``world_sad.h5``, ``world_truth_sad.h5``;
    reused when present), and the model's record folder.

    Returns
    -------
    dict
        ``scores``, ``truth_scores`` and ``data`` (None when the record folder is absent).

    Raises
    ------
    FileNotFoundError
        Without a model where the demo trains it (:func:`analyses.scoring.demo_model`).
    """
    world, out = Path(world), Path(out)
    model = demo_model(world)
    out.mkdir(parents=True, exist_ok=True)
    scores, truth = out / "world_sad.h5", out / "world_truth_sad.h5"
    if not scores.exists():
        model_sad_h5(model, world, scores, gtf=True)
    if not truth.exists():
        truth_sad_h5(world, truth)
    data = model.parents[1] / "data"
    return {"scores": str(scores), "truth_scores": str(truth),
            "data": str(data) if (data / "sequences.bed").exists() else None}

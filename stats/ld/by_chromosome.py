"""LD scores one chromosome at a time, each chromosome's files written as soon as it is done: a run over
many chromosomes that is killed resumes where it stopped (``genostats ldscore --out 'ld/{chrom}' --resume``).

Windows never cross chromosomes, so the scores of a chromosome computed alone are those of a whole-panel
run (:func:`stats.ld.scores.ld_scores`); the files are the same bytes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["ld_scores_by_chromosome", "run_settings"]


def run_settings(panel, *, out: str, snps=None, annot=None, with_cm_maf: bool = False, options: dict) -> dict:
    """What the per-chromosome outputs depend on: every fileset's .bed/.bim/.fam by SHA-256, the annotation
    files, the SNP list and the options."""
    from genocore.resume import input_stamp
    from stats.io.plink import bfile_paths

    settings = {"out": str(out), "options": {k: (v.name if isinstance(v, np.dtype) else v) for k, v in options.items()},
                "with_cm_maf": bool(with_cm_maf)}
    for c, prefix in panel.filesets().items():
        for f in bfile_paths(prefix):
            settings.setdefault(f"panel {Path(f).name}", input_stamp(f))
        a = _annot_for(annot, c)
        if isinstance(a, (str, Path)):
            settings.setdefault(f"annot {Path(a).name}", input_stamp(a))
    settings["snps"] = None if snps is None else sorted(map(str, snps))
    return settings


def _annot_for(annot, chrom: str):
    """The annotation of one chromosome: a ``{chrom}`` template filled in, else as given."""
    if isinstance(annot, (str, Path)) and "{chrom}" in str(annot):
        return str(annot).replace("{chrom}", chrom)
    return annot


def ld_scores_by_chromosome(panel, out: str, *, parts_dir, resume: bool = False, snps=None, annot=None,
                            with_cm_maf: bool = False, progress=None, **options) -> list[Path]:
    """:func:`stats.ld.scores.ld_scores` per chromosome, written to ``out`` (which holds ``{chrom}``).

    Parameters
    ----------
    panel : ReferencePanel or what it opens
        A fileset with one or several chromosomes, or per-chromosome filesets (``panel.{chrom}``).
    out : str
        Output prefix with ``{chrom}`` (``ld/{chrom}`` -> ``ld/22.l2.ldscore.gz``).
    parts_dir : path-like
        Settings and finished-chromosome markers (:class:`genocore.resume.RunParts`); removed at the end.
    resume : bool
        Skip chromosomes a killed run with the same settings finished.
    snps : iterable of str, optional
        SNP IDs to keep (ldsc ``--extract``).
    annot : path, optional
        ``.annot[.gz]`` (one row per SNP of a single fileset), or a ``{chrom}`` template of one per chromosome.
    with_cm_maf : bool
        As :func:`stats.ld.scores.write_ld_scores`.
    progress : callable, optional
        ``progress(done, total, "chromosomes")`` after each chromosome.
    **options
        Of :func:`stats.ld.scores.ld_scores` (window, ``maf``, ``chunk_size``, ``drop_duplicate_positions``...).

    Returns
    -------
    list of Path
        Every chromosome's ``.l2.ldscore.gz``, ``.l2.M``, ``.l2.M_5_50``.
    """
    from genocore.resume import RunParts
    from stats.io.panel import as_panel
    from stats.ld.scores import ld_scores, write_ld_scores

    if "{chrom}" not in str(out):
        raise ValueError(f"out {out!r} must hold {{chrom}}: one set of files per chromosome")
    panel = as_panel(panel)
    parts = RunParts(parts_dir, run_settings(panel, out=out, snps=snps, annot=annot, with_cm_maf=with_cm_maf,
                                             options=options), resume=resume)
    chroms = panel.chroms
    keep = None if snps is None else set(map(str, snps))
    paths = []
    for i, c in enumerate(chroms):
        stem = str(out).replace("{chrom}", c)
        if not parts.done(c):
            prefix = panel.fileset(c)
            bim = panel.fileset_bim(prefix)
            mask = (bim["chrom"].astype(str) == c).to_numpy(copy=True)
            if keep is not None:
                mask = mask & bim["snp"].astype(str).isin(keep).to_numpy()
            if not mask.any():  # no SNP of --extract on this chromosome: no files for it, as ldsc
                parts.mark_done(c, {"snps": 0})
                continue
            scores = ld_scores(prefix, snps=mask, annot=_annot_for(annot, c), **options)
            write_ld_scores(stem, scores, with_cm_maf=with_cm_maf)
            parts.mark_done(c, {"snps": len(scores.table)})
        elif not Path(f"{stem}.l2.ldscore.gz").exists():
            continue
        paths += [Path(f"{stem}.l2{ext}") for ext in (".ldscore.gz", ".M", ".M_5_50")]
        if progress is not None:
            progress(i + 1, len(chroms), "chromosomes")
    parts.remove()
    if not paths:
        raise ValueError(f"none of the {len(keep or ())} SNPs to keep (--extract) is a SNP of panel {panel}")
    return paths

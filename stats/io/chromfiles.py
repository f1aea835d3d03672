"""Per-chromosome file sets: one file per chromosome named by a template or an ldsc-style prefix.

A template holds ``{chrom}`` (or ldsc's ``@``), e.g. ``"panel/1000G.EUR.QC.{chrom}"``; a plain prefix
gets the chromosome appended after a ``.`` (``"baseline"`` -> ``baseline.22``). Chromosome labels in
file names may be spelled ``1`` or ``chr1``; the set is keyed by the normalized name
(:func:`genocore.genome.normalize_chrom`).
"""
from __future__ import annotations

import glob
from pathlib import Path

from genocore.genome import chrom_labels, chrom_sort_key, normalize_chrom

__all__ = ["chrom_path", "find_chrom_file", "glob_chrom_files"]


def _split_template(template) -> tuple[str, str]:
    t = str(template)
    for mark in ("{chrom}", "@"):
        if mark in t:
            pre, post = t.split(mark, 1)
            return pre, post
    if t and not t.endswith((".", "/", "_", "-")):
        t += "."
    return t, ""


def chrom_path(template, chrom, suffix: str = "") -> Path:
    """The file of one chromosome in a per-chromosome set.

    Parameters
    ----------
    template : str or Path
        Either a template holding ``{chrom}`` (or ldsc's ``@``), e.g. ``"panel/1000G.EUR.QC.{chrom}"``,
        or an ldsc-style prefix, to which ``chrom`` is appended after a ``.`` (unless the prefix already
        ends with ``.``, ``/``, ``_`` or ``-``): ``"baseline"`` and ``"baseline."`` both give
        ``baseline.22``. For names like ``chr22.annot.gz`` use the template ``"chr{chrom}"``.
    chrom : str
        Used as given (``"chr1"`` stays ``"chr1"``).
    suffix : str
        Appended unless the path already ends with it (e.g. ``".sannot.gz"``, ``".bed"``).

    Returns
    -------
    Path
    """
    pre, post = _split_template(template)
    p = f"{pre}{chrom}{post}"
    if suffix and not p.endswith(suffix):
        p += suffix
    return Path(p)


def find_chrom_file(template, chrom, suffix: str = "") -> Path:
    """The existing file of one chromosome, trying the spellings of :func:`genocore.genome.chrom_labels`.

    Parameters
    ----------
    template : str or Path
        As in :func:`chrom_path`.
    chrom : str or int
    suffix : str
        As in :func:`chrom_path`.

    Returns
    -------
    Path
        The first of ``chrom_path(template, label, suffix)`` that exists.

    Raises
    ------
    FileNotFoundError
        Naming every path tried.
    """
    tried = [chrom_path(template, c, suffix) for c in chrom_labels(chrom)]
    for p in tried:
        if p.exists():
            return p
    raise FileNotFoundError(f"no file for chromosome {chrom} of {template}: tried " + ", ".join(map(str, tried)))


def glob_chrom_files(template, suffix: str = "") -> dict[str, Path]:
    """All files of a per-chromosome set that exist, by normalized chromosome.

    The chromosome label is the part of the file name that ``{chrom}`` stands for; labels containing
    ``.`` or ``/`` are not chromosomes and are skipped.

    Parameters
    ----------
    template : str or Path
        As in :func:`chrom_path`.
    suffix : str
        As in :func:`chrom_path`.

    Returns
    -------
    dict
        Normalized chromosome -> Path, in chromosome order.

    Raises
    ------
    ValueError
        When two files name the same chromosome (``x.1.bed`` and ``x.chr1.bed``).
    """
    pre, post = _split_template(template)
    if suffix and not post.endswith(suffix):
        post += suffix
    found: dict[str, Path] = {}
    for name in glob.glob(glob.escape(pre) + "*" + glob.escape(post)):
        label = name[len(pre):len(name) - len(post)]
        if not label or "." in label or "/" in label:
            continue
        c = normalize_chrom(label)
        if c in found:
            raise ValueError(f"two files for chromosome {c}: {found[c]} and {name}")
        found[c] = Path(name)
    return {c: found[c] for c in sorted(found, key=chrom_sort_key)}

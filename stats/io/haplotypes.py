"""Reference panels as a genotype matrix in memory: a VCF's genotypes, or a table of phased haplotypes.

For fine-mapping one locus, LD comes from a small panel that is often not a PLINK fileset:

- a VCF (plain or gzip) with a ``GT`` field: each sample's ALT dosage (0/1/2; phased ``0|1`` and
  unphased ``0/1`` alike; a missing call is NaN and mean-imputed later);
- a haplotype table, one variant per line ``CHROM POS ID REF ALT QUAL FILTER`` followed by one allele
  per haplotype (the layout of JLIM's 1000 Genomes reference files, ``locus.<chr>.<start>.<end>.txt.gz``):
  each haplotype's ALT count (0/1).

Variants with more than one ALT allele, and alleles that are neither REF nor ALT, are dropped and
counted, as is every copy of an ID that names two variants. A variant whose ID is ``.`` is named
``chrom:pos:ref:alt``.
"""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np

from genocore.files import open_text

logger = logging.getLogger(__name__)

__all__ = ["read_genotype_matrix"]


def _variant_id(fields) -> str:
    return fields[2] if fields[2] not in (".", "") else f"{fields[0]}:{fields[1]}:{fields[3]}:{fields[4]}"


def _vcf_dosages(lines, path: Path, first: str):
    header = first
    while header.startswith("##"):
        header = next(lines)
    if not header.startswith("#CHROM"):
        raise ValueError(f"{path}: a VCF needs a '#CHROM ...' header line before the records")
    n_samples = len(header.rstrip("\n").split("\t")) - 9
    if n_samples < 1:
        raise ValueError(f"{path}: the VCF has no sample columns, so no genotypes to take LD from")
    ids, rows, skipped = [], [], 0
    for k, line in enumerate(lines):
        f = line.rstrip("\n").split("\t")
        if len(f) != 9 + n_samples:
            raise ValueError(f"{path}: record {k + 1} ({':'.join(f[:2])}) has {len(f)} fields; the header has "
                             f"{9 + n_samples}")
        if "," in f[4] or f[8].split(":")[0] != "GT":
            skipped += 1
            continue
        gts = [g.split(":", 1)[0].replace("|", "/") for g in f[9:]]
        d = np.array([np.nan if "." in g else sum(a == "1" for a in g.split("/")) for g in gts], dtype=np.float64)
        ids.append(_variant_id(f))
        rows.append(d)
    return ids, rows, skipped


def _haplotype_alleles(lines, path: Path, first: str):
    ids, rows, skipped = [], [], 0
    width = None
    for k, line in enumerate(_chain(first, lines)):
        f = line.split()
        if not f:
            continue
        if width is None:
            width = len(f)
            if width < 8:
                raise ValueError(f"{path}: line 1 has {width} fields; a haplotype table has CHROM POS ID REF ALT "
                                 "QUAL FILTER and one allele per haplotype")
        if len(f) != width:
            raise ValueError(f"{path}: line {k + 1} has {len(f)} fields, line 1 has {width}")
        ref, alt = f[3].upper(), f[4].upper()
        alleles = np.array([a.upper() for a in f[7:]])
        if "," in alt or not np.isin(alleles, [ref, alt]).all():
            skipped += 1
            continue
        ids.append(_variant_id(f))
        rows.append((alleles == alt).astype(np.float64))
    return ids, rows, skipped


def _chain(first, lines):
    yield first
    yield from lines


def read_genotype_matrix(path) -> tuple[np.ndarray, list]:
    """A panel's genotypes (VCF) or haplotypes (haplotype table), told by the first line.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    matrix : ndarray, float64, shape (n_samples or n_haplotypes, n_variants)
        ALT dosages (NaN: missing) or ALT allele counts of haplotypes.
    ids : list of str, length n_variants

    Raises
    ------
    ValueError
        Naming the file and record: a malformed line, or no usable variant.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with open_text(path) as fh:
        lines = iter(fh)
        first = next(lines, "")
        if first.startswith("##fileformat=VCF") or first.startswith("#CHROM"):
            ids, rows, skipped = _vcf_dosages(lines, path, first)
            kind = "VCF genotypes"
        else:
            ids, rows, skipped = _haplotype_alleles(lines, path, first)
            kind = "haplotypes"
    if not rows:
        raise ValueError(f"{path}: no biallelic variant with {kind} ({skipped} skipped)")
    counts = Counter(ids)
    dups = [i for i, c in counts.items() if c > 1]
    if dups:  # LD with an ID that names two variants is ambiguous: every copy goes
        logger.warning("%s: %d variant IDs name more than one variant (e.g. %s); all their copies are dropped",
                       path, len(dups), dups[0])
        keep = [k for k, i in enumerate(ids) if counts[i] == 1]
        ids, rows = [ids[k] for k in keep], [rows[k] for k in keep]
    if not rows:
        raise ValueError(f"{path}: no variant left after dropping duplicated IDs")
    m = np.stack(rows, axis=1)
    logger.info("%s: %s of %d samples/haplotypes at %d variants (%d multi-allelic or odd variants skipped)",
                path, kind, m.shape[0], m.shape[1], skipped)
    return m, ids

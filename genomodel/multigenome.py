"""Training records of several genomes split jointly, so that aligned regions share a split (Basenji2).

Basenji2 trained human and mouse heads on one trunk; to keep the held-out sets honest, regions of the
two genomes that align to each other go to the same split: the genomes are cut into regions, regions
linked by enough aligned sequence form connected components, and whole components are assigned to
test, valid and train (:func:`genomodel.splits.split_by_homology`). This module tiles each genome, splits
the windows of all genomes together and writes one records folder per genome.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from genocore.files import atomic_dir
from genomodel.data import DataConfig, genome_windows, write_dataset
from genomodel.splits import assign_splits, homology_components, read_alignments

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenomeInputs:
    """One genome's inputs: its head name, FASTA, targets.txt and optional gaps / blacklist BEDs."""

    name: str
    fasta: Path
    targets: Path
    gaps: Path | None = None
    blacklist: Path | None = None


def joint_windows(genomes: list, *, alignment, config: DataConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every genome's windows (genome, chrom, start, end, split) split jointly, and the aligned blocks.

    ``alignment`` (a UCSC chain / net or a pairs table, or blocks from :func:`read_alignments`) links
    the first genome (its first columns) to the second.
    """
    names = [g.name for g in genomes]
    if len(genomes) < 2 or len(set(names)) != len(names):
        raise ValueError(f"joint splitting needs two or more genomes with distinct names, not {names}")
    if config.test_chroms or config.valid_chroms:
        raise ValueError("several genomes are split by homology components, not by chromosome: drop "
                         "test_chroms / valid_chroms and give valid_fraction / test_fraction")
    blocks = alignment if isinstance(alignment, pd.DataFrame) else read_alignments(
        alignment, genome1=names[0], genome2=names[1])
    windows = pd.concat([genome_windows(g.fasta, config=config, gaps=g.gaps, blacklist=g.blacklist)
                         .assign(genome=g.name) for g in genomes], ignore_index=True)
    cfg = replace(config, split_mode="homology")
    split = assign_splits(windows, config=cfg, alignment=blocks, source=" + ".join(str(g.fasta) for g in genomes))
    return windows.assign(split=split), blocks


def write_genome_datasets(out_dir, genomes: list, *, alignment, config: DataConfig, progress=None,
                          overwrite: bool = False) -> dict:
    """Write ``out_dir/<name>/`` records for each genome, with splits shared across aligned regions.

    Parameters
    ----------
    out_dir : path-like
        Created whole or not at all (one records folder per genome inside it).
    genomes : list of GenomeInputs
    alignment : path-like or DataFrame
        Links the first genome to the second (see :func:`joint_windows`).
    config : DataConfig
        Window, binning and split settings shared by all genomes (``genome`` is set per genome);
        ``homology_region`` and ``homology_min_aligned`` define the links.
    progress, overwrite
        As :func:`genomodel.data.write_dataset`.

    Returns
    -------
    dict
        Per genome, :func:`genomodel.data.write_dataset`'s summary, and ``components``: the number of
        homology components.
    """
    windows, blocks = joint_windows(genomes, alignment=alignment, config=config)
    out = {}
    with atomic_dir(Path(out_dir), overwrite=overwrite) as tmp:
        for g in genomes:
            w = windows[windows.genome == g.name][["chrom", "start", "end", "split"]]
            out[g.name] = write_dataset(tmp / g.name, fasta=g.fasta, targets=g.targets, gaps=g.gaps,
                                        blacklist=g.blacklist, config=replace(config, genome=g.name), windows=w,
                                        progress=progress)
            out[g.name]["out_dir"] = str(Path(out_dir) / g.name)
    comp = homology_components(windows, blocks, region_size=config.homology_region,
                               min_aligned_bp=config.homology_min_aligned)
    out["components"] = int(comp.max() + 1) if len(comp) else 0
    logger.info("%d genomes split jointly over %d homology components", len(genomes), out["components"])
    return out

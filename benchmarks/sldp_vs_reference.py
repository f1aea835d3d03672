"""End-to-end wall time of this suite's SLDP against sldp 1.1.5, side by side on one simulated world.

    python benchmarks/sldp_vs_reference.py --out DIR --sldp-venv VENV [--threads 1] [--world coalescent]
        [--n-ref 1000] [--n-blocks 100] [--snps-per-block 2000] [--n-annot 10] [--seed 5]
        [--signflip-annots 1000] [--signflip-phenos 48] [--signflip-chunks 300]

1. **World** (``--world gaussian``, fast, or ``coalescent``: msprime genotypes with a realistic
   allele-frequency spectrum, :func:`coalescent_blocks`; a finished world of the same options is reused):
   chromosomes 1 and 22 (sldp reads chromosome 22's annotation header
   and writes the phenotype ``info`` only when chromosome 1 is analysed), ``--n-blocks`` LD blocks of
   ``--snps-per-block`` SNPs each, ``--n-ref`` panel individuals. Haplotypes are block-correlated
   Gaussian AR(1) latent variables thresholded at the allele frequency (independent between blocks).
   Written in sldp's input layout under ``DIR/world``: PLINK bfiles per chromosome
   (:func:`stats.io.plink.write_bfile`) with full-precision ``.frq`` files, the regression-SNP
   ``.bim`` and ``print_snps.txt`` (MAF >= 5%), the blocks BED, ``--n-annot`` signed annotations
   (``A.C.sannot.gz``; dense and sparse, ANNOT1 correlated with the background) plus a background
   annotation (``BG.C.sannot.gz``), one trait's ``planted.sumstats.gz`` (an effect along ANNOT1, a
   background effect and polygenic effects; ``Z = sqrt(N) R beta + N(0, R)`` per block with the panel's
   own R) and LD scores (``r^2 - (1 - r^2)/(n - 2)`` summed within windows of 250 SNPs inside blocks;
   header-only files for the chromosomes without data). Annotations and sumstats present 20% of SNPs
   with swapped alleles (and flipped sign); 3% of SNPs are missing from the sumstats.
2. **This suite**: ``genostats sldp`` as a whole program (start-up, imports, output and provenance
   included), twice, before and after sldp, with ``--threads`` LD blocks decomposed at once (one BLAS
   thread each); this gives the headline ratio. Then :func:`stats.sldp.run` in a fresh Python process
   twice more, its public stages (:mod:`stats.sldp.pipeline`) are timed by wrapping them: panel + annotations
   (``preprocess_panel``: SVDs and signed LD profiles), phenotype (``prepare_phenotypes``: LD scores,
   sumstats, h2g, allele reconciliation), regression (``run_grid``: block products, chunks, jackknife,
   10^6-draw sign flips); "other" is start-up, imports, input checks and glue (labelled in-process).
3. **sldp 1.1.5** (``--sldp-venv``): ``preprocessrefpanel``, ``preprocessannot``, ``preprocesspheno``,
   ``sldp`` on a copy of the same files, through :func:`sldp_reference._run` (memory-patched modules,
   ``PATCHES``), with ``OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = MKL_NUM_THREADS = --threads``, ``-bothp``,
   seed 0, the default 300 jackknife blocks and 10^6 sign flips.
4. Prints each tool's time per stage and total, the speed ratios, and the agreement of mu, se(mu),
   z_fast (and the other ``.gwresults`` numbers) between the two (max relative difference over the
   annotations; the sign-flip p only within Monte Carlo error: different generators).
5. **Sign flips at GTEx scale** (array level): synthetic chunk statistics for
   ``--signflip-phenos`` phenotypes x ``--signflip-annots`` annotations over ``--signflip-chunks``
   chunks with one background annotation (2% of the tests carry a real effect, so they run the full
   10^6 draws; the rest stop after 10^5 as in sldp); times :func:`stats.sldp.regression.fit_sldp` (residualization,
   jackknife) and :func:`stats.sldp.signflip.signflip_test` under a BLAS limit of ``--threads``.

The reference is never imported: it runs in its own virtualenv through subprocesses.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for _p in (str(REPO), str(REPO / "validation")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from sldp_reference import (PATCHES, SLDP_VERSION, UNAMBIGUOUS, _gz_text,  # noqa: E402
                            _latent_haplotypes, _run)

CHROMS = (1, 22)
CHROM_START = {1: 1_000_000, 22: 17_000_000}
BLOCK_LEN = 600_000          # 50 blocks on chr22 end at 47 Mb < its hg19 length (51.3 Mb)
LD_WINDOW = 250              # SNPs per LD-score window (inside a block)
PLANTED = "ANNOT1"
TRAIT = dict(name="planted", n=50_000, h2_random=0.2, h2_annot=0.02, c_bg=0.0004)
GW_NUMBERS = ["mu", "se(mu)", "z_fast", "p_fast", "rf", "h2v/h2g", "h2v", "h2g", "supp(v)/M"]


# ------------------------------------------------------------------------------------------- world

def _write_ldscores(path_stem: Path, chrom_rows: dict, m_all: dict, m_5_50: dict):
    for c in range(1, 23):
        df = chrom_rows.get(c, pd.DataFrame(columns=["CHR", "SNP", "BP", "L2"]))
        _gz_text(path_stem.parent / f"{c}.l2.ldscore.gz", df.to_csv(sep="\t", index=False, float_format="%.4f"))
        (path_stem.parent / f"{c}.l2.M").write_text(f"{m_all.get(c, 0)}\n")
        (path_stem.parent / f"{c}.l2.M_5_50").write_text(f"{m_5_50.get(c, 0)}\n")


def make_world(wdir: Path, *, n_ref: int, n_blocks: int, snps_per_block: int, n_annot: int, seed: int,
               world: str = "gaussian") -> dict:
    """Simulate and write the world (see the module docstring); return its summary."""
    rng = np.random.default_rng(seed)
    for sub in ("refpanel", "refpanel_reg", "annot", "sumstats", "ldscores"):
        (wdir / sub).mkdir(parents=True, exist_ok=True)
    per_chrom = {c: n_blocks // len(CHROMS) + (i < n_blocks % len(CHROMS)) for i, c in enumerate(CHROMS)}
    names = [f"ANNOT{k + 1}" for k in range(n_annot)]
    acc = dict(c_annot=None, bed_rows=[], ld_rows={}, m_all={}, m_5_50={}, sumstats=[], annot_frames=[],
               bg_frames=[], truth=dict(h2_annot=0.0, h2_bg=0.0, h2_random=0.0))
    for i, c in enumerate(CHROMS):
        geno = (coalescent_blocks(per_chrom[c], n_ref=n_ref, snps_per_block=snps_per_block, seed=seed * 100 + i)
                if world == "coalescent" else [None] * per_chrom[c])
        m_total = n_blocks * snps_per_block
        blocks = [_simulate_block(rng, c, b, CHROM_START[c] + b * BLOCK_LEN, n_ref=n_ref, m=snps_per_block,
                                  names=names, m_total=m_total, acc=acc, genotypes=geno[b])
                  for b in range(per_chrom[c])]
        _write_chromosome(wdir, c, blocks, n_ref=n_ref, acc=acc)
    _write_ldscores(wdir / "ldscores" / "x", acc["ld_rows"], acc["m_all"], acc["m_5_50"])
    ss = pd.concat(acc["sumstats"], ignore_index=True)
    _gz_text(wdir / "sumstats" / f"{TRAIT['name']}.sumstats.gz",
             ss.to_csv(sep="\t", index=False, float_format="%.6f"))
    pd.DataFrame(acc["bed_rows"]).to_csv(wdir / "ldblocks.bed", sep="\t", header=False, index=False)
    summary = dict(world=world, seed=seed, n_ref=n_ref, n_snps=int(sum(acc["m_all"].values())),
                   n_print=int(sum(acc["m_5_50"].values())), n_blocks=len(acc["bed_rows"]), chroms=list(CHROMS),
                   annotations=names, background=["BG"], planted=PLANTED,
                   trait=dict(TRAIT, c_annot=float(acc["c_annot"]), **acc["truth"]), n_sumstats=len(ss))
    (wdir / "world.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def coalescent_blocks(n_blocks: int, *, n_ref: int, snps_per_block: int, seed: int) -> list:
    """``n_blocks`` LD blocks of msprime genotypes (:func:`stats.simulate.simulate_chromosome`: human-like Ne
    and mutation rate, recombination hotspots, SNPs with MAF >= 1%), as ``(offsets, g)`` per block: SNP
    offsets in ``[0, BLOCK_LEN)`` and A1 counts ``(n_ref, m)``.

    One chromosome long enough for about ``snps_per_block`` SNPs per block (2.3 SNPs per kb at MAF >= 1%)
    is cut into equal lengths; each piece's coordinates are scaled into ``BLOCK_LEN`` (labels only: the
    genotypes, hence the LD and the frequency spectrum, are the coalescent's)."""
    from stats.simulate import PanelConfig, simulate_chromosome

    piece = int(snps_per_block / 2.3e-3)
    cfg = PanelConfig(n_reference=n_ref, n_eqtl=10, n_gwas=10)
    p = simulate_chromosome("1", n_blocks * piece, cfg, seed=seed)
    dos, pos = p.dosage["ref_panel"], np.asarray(p.positions) - 1
    out = []
    for b in range(n_blocks):
        j = np.flatnonzero((pos >= b * piece) & (pos < (b + 1) * piece))
        off = ((pos[j] - b * piece) * (BLOCK_LEN / piece)).astype(np.int64)
        _, first = np.unique(off, return_index=True)        # scaled coordinates must stay distinct
        out.append((off[first], dos[:, j[first]]))
    return out


def _block_genotypes(rng, pos: np.ndarray, n_ref: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One block's A1 counts ``g`` (n_ref, m), standardized ``x`` and MAF, from thresholded latent haplotypes."""
    from scipy.special import ndtri

    m = len(pos)
    z = _latent_haplotypes(rng, pos, float(rng.uniform(10_000, 40_000)), 2 * n_ref)
    p = rng.uniform(0.02, 0.5, m)
    hap = (z < ndtri(p)).astype(np.int8)
    flip = rng.random(m) < 0.5
    hap[:, flip] = 1 - hap[:, flip]
    g = hap[0::2] + hap[1::2]                       # (n_ref, m) count of A1
    x = g - g.mean(axis=0)
    sd = np.sqrt((x ** 2).mean(axis=0))
    sd[sd == 0] = np.inf
    x = x / sd
    freq = g.mean(axis=0) / 2
    return g, x, np.minimum(freq, 1 - freq)


def _block_annotations(rng, m: int, n_annot: int) -> tuple[np.ndarray, np.ndarray]:
    """Background and annotations of one block, per normalized genotype, in the panel's A1 orientation
    (ANNOT1 correlated with the background; every other annotation sparse)."""
    bg = np.where(rng.random(m) < 0.5, 1.0, -1.0) * (0.5 + rng.random(m))
    ann = np.empty((m, n_annot))
    for k in range(n_annot):
        v = rng.standard_normal(m)
        if k == 0:
            v = 0.5 * bg + v
        if k % 2 == 1:          # sparse annotations: 20% non-zero
            v = np.where(rng.random(m) < 0.2, v, 0.0)
        ann[:, k] = v
    return bg, ann


def _simulate_block(rng, c: int, b: int, start: int, *, n_ref: int, m: int, names: list, m_total: int,
                    acc: dict, genotypes=None) -> dict:
    """One LD block: genotypes (latent Gaussian ones, or ``genotypes = (offsets, g)`` from
    :func:`coalescent_blocks`), annotations, the trait's Z (with the panel's own LD) and LD scores within
    windows; the block's sumstats and annotation rows (20% with swapped alleles, value and Z sign
    flipped) go to ``acc``. Returns the block's ``g``, ``bim`` and ``l2``."""
    from stats.ld.scores import l2_unbiased

    end = start + BLOCK_LEN
    acc["bed_rows"].append((f"chr{c}", start, end))
    if genotypes is None:
        pos = np.sort(rng.choice(np.arange(start, end), m, replace=False))
        g, x, maf = _block_genotypes(rng, pos, n_ref)
    else:
        pos, g = start + genotypes[0], genotypes[1]
        m = len(pos)
        x = g - g.mean(axis=0)
        x = x / np.sqrt((x ** 2).mean(axis=0))
        freq = g.mean(axis=0) / 2
        maf = np.minimum(freq, 1 - freq)
    pairs = rng.choice(UNAMBIGUOUS, m)
    snp = [f"rs{c}_{b:03d}_{j:05d}" for j in range(m)]
    bim = pd.DataFrame(dict(CHR=c, SNP=snp, CM=0.0, BP=pos, A1=[s[0] for s in pairs],
                            A2=[s[1] for s in pairs], MAF=maf))
    bg, ann = _block_annotations(rng, m, len(names))
    if acc["c_annot"] is None:         # per-SNP coefficient giving ~h2_annot to ANNOT1 genome-wide
        acc["c_annot"] = np.sqrt(TRAIT["h2_annot"] / (m_total * np.mean(ann[:, 0] ** 2)))
    c_annot = acc["c_annot"]
    beta = (c_annot * ann[:, 0] + TRAIT["c_bg"] * bg
            + rng.standard_normal(m) * np.sqrt(TRAIT["h2_random"] / m_total))
    acc["truth"]["h2_annot"] += float(np.sum((c_annot * ann[:, 0]) ** 2))
    n = TRAIT["n"] - rng.integers(0, 3000, m)
    r_beta = x.T @ (x @ beta) / n_ref
    noise = x.T @ rng.standard_normal(n_ref) / np.sqrt(n_ref)
    zs = np.sqrt(n) * r_beta + noise
    # LD scores within windows of the block
    l2 = np.empty(m)
    for w0 in range(0, m, LD_WINDOW):
        xw = x[:, w0:w0 + LD_WINDOW]
        l2[w0:w0 + LD_WINDOW] = l2_unbiased(xw.T @ xw / n_ref, n_ref).sum(axis=1)
    # presentation in the other files: 20% swapped (value and Z sign flipped)
    sw_ss = rng.random(m) < 0.2
    keep_ss = rng.random(m) >= 0.03
    acc["sumstats"].append(pd.DataFrame(dict(SNP=snp, A1=np.where(sw_ss, bim.A2, bim.A1),
                                             A2=np.where(sw_ss, bim.A1, bim.A2), N=n,
                                             Z=np.where(sw_ss, -zs, zs)))[keep_ss])
    sw_a = rng.random(m) < 0.2
    a = pd.DataFrame(dict(SNP=snp, A1=np.where(sw_a, bim.A2, bim.A1), A2=np.where(sw_a, bim.A1, bim.A2)))
    sgn = np.where(sw_a, -1.0, 1.0)
    for k, nm in enumerate(names):
        a[nm] = ann[:, k] * sgn
    a.insert(0, "CHR", c)
    acc["annot_frames"].append(a)
    sw_b = rng.random(m) < 0.2
    acc["bg_frames"].append(pd.DataFrame(dict(CHR=c, SNP=snp, A1=np.where(sw_b, bim.A2, bim.A1),
                                              A2=np.where(sw_b, bim.A1, bim.A2), BG=bg * np.where(sw_b, -1.0, 1.0))))
    return dict(g=g, bim=bim, l2=l2)


def _write_chromosome(wdir: Path, c: int, blocks: list, *, n_ref: int, acc: dict) -> None:
    """A chromosome's PLINK fileset (tab-separated .bim), .frq, regression-SNP .bim, print SNPs and
    annotation files; its LD scores and SNP counts go to ``acc``."""
    from stats.io.plink import write_bfile

    iid = [f"ind{i:05d}" for i in range(n_ref)]
    G = np.concatenate([blk["g"] for blk in blocks], axis=1)
    bim = pd.concat([blk["bim"] for blk in blocks], ignore_index=True)
    prefix = wdir / "refpanel" / f"panel.{c}"
    write_bfile(prefix, G, iid=iid, chrom=[str(c)] * len(bim), sid=bim.SNP.tolist(), cm=bim.CM.to_numpy(),
                bp=bim.BP.to_numpy(), allele_1=bim.A1.tolist(), allele_2=bim.A2.tolist())
    # sldp reads the .bim tab-separated only: rewrite it so whatever the writer's separator
    bim[["CHR", "SNP", "CM", "BP", "A1", "A2"]].to_csv(f"{prefix}.bim", sep="\t", header=False, index=False)
    frq = pd.DataFrame(dict(CHR=bim.CHR, SNP=bim.SNP, A1=bim.A1, A2=bim.A2,
                            MAF=bim.MAF.map(lambda v: repr(float(v))), NCHROBS=2 * n_ref))
    frq.to_csv(f"{prefix}.frq", sep=" ", index=False)
    printsnp = bim.MAF.to_numpy() >= 0.05
    bim.loc[printsnp, ["CHR", "SNP", "CM", "BP", "A1", "A2"]].to_csv(
        wdir / "refpanel_reg" / f"panel.{c}.bim", sep="\t", header=False, index=False)
    l2 = np.concatenate([blk["l2"] for blk in blocks])
    acc["ld_rows"][c] = pd.DataFrame(dict(CHR=c, SNP=bim.SNP, BP=bim.BP, L2=l2))
    acc["m_all"][c] = len(bim)
    acc["m_5_50"][c] = int(printsnp.sum())
    with open(wdir / "print_snps.txt", "a") as fh:
        fh.write("\n".join(bim.SNP[printsnp]) + "\n")
    for stem, frames in (("A", acc["annot_frames"]), ("BG", acc["bg_frames"])):
        df = pd.concat([f for f in frames if (f.CHR == c).all()], ignore_index=True).drop(columns="CHR")
        _gz_text(wdir / "annot" / f"{stem}.{c}.sannot.gz", df.to_csv(sep="\t", index=False, float_format="%.6g"))


# --------------------------------------------------------------------------------- this suite (worker)

def _worker(spec: dict) -> int:
    """Run the suite's pipeline once in this (fresh) process; write stage times and the table as JSON."""
    t_start = time.perf_counter()
    import stats.sldp.pipeline as sp

    t_import = time.perf_counter() - t_start
    stages = {"panel+annot": 0.0, "phenotype": 0.0, "regression": 0.0}
    # run looks its stages up in the module when called, so wrapping them there times them
    which = {"preprocess_panel": "panel+annot", "prepare_phenotypes": "phenotype", "run_grid": "regression"}

    def timed(fn, stage):
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                stages[stage] += time.perf_counter() - t0
        return wrapper

    for name, stage in which.items():
        setattr(sp, name, timed(getattr(sp, name), stage))
    w = Path(spec["world"])
    t0 = time.perf_counter()
    res = sp.run(bfile_chr=str(w / "refpanel" / "panel."), ld_blocks=w / "ldblocks.bed",
                 sumstats={TRAIT["name"]: w / "sumstats" / f"{TRAIT['name']}.sumstats.gz"},
                 sannot_chr=str(w / "annot" / "A."), background_sannot_chr=str(w / "annot" / "BG."),
                 ldscores_chr=str(w / "ldscores") + "/", print_snps=w / "print_snps.txt", build="hg19",
                 seed=0, blas_threads=1, block_threads=spec["threads"])
    t_run = time.perf_counter() - t0
    out = dict(stages=stages, import_s=t_import, run_s=t_run, table=res.table.to_dict(orient="list"),
               chunks={a: len(df) for (_, a), df in res.chunks.items()})
    Path(spec["result"]).write_text(json.dumps(out))
    return 0


def run_ours_cli(world: Path, work: Path, threads: int, tag: str) -> dict:
    """``genostats sldp`` as a user runs it, a whole program (start-up, imports, output and provenance
    included): ``--threads`` LD blocks at once with one BLAS thread each; its wall time and table."""
    w = world
    out = work / f"ours_cli_{tag}.gwresults"
    cmd = [str(Path(sys.executable).with_name("genostats")), "sldp", "--bfile-chr", str(w / "refpanel" / "panel."),
           "--ld-blocks", str(w / "ldblocks.bed"), "--sumstats", str(w / "sumstats" / f"{TRAIT['name']}.sumstats.gz"),
           "--sannot-chr", str(w / "annot" / "A."), "--background-sannot-chr", str(w / "annot" / "BG."),
           "--ldscores-chr", str(w / "ldscores") + "/", "--print-snps", str(w / "print_snps.txt"),
           "--build", "hg19", "--seed", "0", "--blas-threads", "1", "--threads", str(threads), "--out", str(out)]
    env = dict(os.environ, **{k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    (work / f"ours_cli_{tag}.log").write_text(res.stdout + "\n---- stderr ----\n" + res.stderr)
    if res.returncode != 0:
        print(res.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"genostats sldp failed (exit {res.returncode}); log: {work / f'ours_cli_{tag}.log'}")
    return dict(total_s=wall, table=pd.read_csv(out, sep="\t").to_dict(orient="list"),
                command="genostats " + " ".join(cmd[1:]))


def run_ours(world: Path, work: Path, threads: int, tag: str) -> dict:
    """:func:`stats.sldp.run` in a fresh process, its stages timed in-process (where the time goes)."""
    spec = dict(world=str(world), threads=threads, result=str(work / f"ours_{tag}.json"))
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--_worker", json.dumps(spec)],
                         cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    (work / f"ours_{tag}.log").write_text(res.stdout + "\n---- stderr ----\n" + res.stderr)
    if res.returncode != 0:
        print(res.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"our pipeline failed (exit {res.returncode}); log: {work / f'ours_{tag}.log'}")
    out = json.loads(Path(spec["result"]).read_text())
    out["total_s"] = wall
    out["stages"]["other (start-up, imports, checks)"] = wall - sum(out["stages"].values())
    return out


# ------------------------------------------------------------------------------------------ reference

def run_sldp_reference(venv: Path, world: Path, rdir: Path, threads: int) -> dict:
    """Run sldp 1.1.5's four commands on a copy of the world; return stage times, its table and commands."""
    py = venv / "bin" / "python"
    ver = subprocess.run([str(py), "-c", "import importlib.metadata as m, numpy; print(m.version('sldp'), "
                          "numpy.__version__)"], capture_output=True, text=True, check=True).stdout.split()
    if ver[0] != SLDP_VERSION:
        raise SystemExit(f"{venv} has sldp {ver[0]}, need {SLDP_VERSION}")
    if rdir.exists():
        shutil.rmtree(rdir)
    rdir.mkdir(parents=True)
    shutil.copytree(world, rdir / "world")          # sldp writes next to its inputs
    (rdir / "out").mkdir()
    logs = rdir / "logs"
    logs.mkdir()
    env = {k: str(threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    chroms = [str(c) for c in CHROMS]
    common = ["--ld-blocks", "world/ldblocks.bed", "--print-snps", "world/print_snps.txt"]
    bfile = ["--bfile-chr", "world/refpanel/panel."]
    t = trait = TRAIT["name"]
    steps = [
        ("preprocessrefpanel", "sldp.preprocessrefpanel", ["--svd-stem", "svd/"] + bfile + common
         + ["--spectrum-percent", "95", "--chroms"] + chroms, {}),
        ("preprocessannot", "sldp.preprocessannot", ["--sannot-chr", "world/annot/A.", "world/annot/BG."]
         + bfile + common + ["--alpha", "-1", "--chroms"] + chroms, {}),
        ("preprocesspheno", "sldp.preprocesspheno", ["--sumstats-stem", f"world/sumstats/{trait}",
                                                     "--refpanel-name", "KG3.95", "--svd-stem", "svd/",
                                                     "--ldscores-chr", "world/ldscores/"] + bfile + common
         + ["--chroms"] + chroms, {"sldp.preprocesspheno": PATCHES["sldp.preprocesspheno"]}),
        ("sldp", "sldp.sldp", ["--outfile-stem", f"out/{t}", "--pss-chr", f"world/sumstats/{trait}.KG3.95/",
                               "--sannot-chr", "world/annot/A.", "--background-sannot-chr", "world/annot/BG.",
                               "--svd-stem", "svd/", "--bfile-reg-chr", "world/refpanel_reg/panel.",
                               "--ld-blocks", "world/ldblocks.bed", "--chroms"] + chroms
         + ["-bothp", "--seed", "0"], {}),
    ]
    stages, commands = {}, []
    for label, module, args, patches in steps:
        t0 = time.perf_counter()
        commands.append(_run(py, module, args, patches=patches, cwd=rdir, env_extra=env, log=logs / f"{label}.log"))
        stages[label] = time.perf_counter() - t0
    table = pd.read_csv(rdir / "out" / f"{t}.gwresults", sep="\t")
    return dict(stages=stages, total_s=sum(stages.values()), table=table, commands=commands,
                versions=dict(sldp=ver[0], numpy=ver[1]))


# ------------------------------------------------------------------------------------- sign flips

def signflip_scale(*, n_annot: int, n_pheno: int, n_chunks: int, threads: int, seed: int) -> dict:
    """Time fit_sldp + signflip_test on synthetic chunk statistics (C chunks x P phenotypes x K annotations)."""
    from threadpoolctl import threadpool_limits

    from stats.sldp.signflip import signflip_test
    from stats.sldp.regression import ChunkStats, fit_sldp

    rng = np.random.default_rng(seed)
    C, P, K, nb = n_chunks, n_pheno, n_annot, 1
    # realistic magnitudes (sldp's 1e-6 units): den ~ ||W^-1/2 Rv||^2 per chunk, num = mu den + noise
    den = rng.uniform(0.5, 1.5, (C, P, K)) * 1e-3
    den_bg = rng.uniform(0.5, 1.5, (C, P, nb, nb)) * 1e-3
    den_cross = rng.uniform(-0.3, 0.3, (C, P, nb, K)) * np.sqrt(den_bg[..., 0, :, None] * den[:, :, None, :])
    mu = np.where(rng.random((P, K)) < 0.02, 0.5, 0.0)       # 2% of the tests carry a real effect
    num = mu[None] * den * 20.0 + rng.standard_normal((C, P, K)) * np.sqrt(den * 1e-3)
    num_bg = rng.standard_normal((C, P, nb)) * np.sqrt(den_bg[..., 0] * 1e-3)
    idx = np.broadcast_to(np.arange(C)[:, None], (C, P)).astype(np.int64)
    chunks = ChunkStats(num_bg=num_bg, num=num, den_bg=den_bg, den_cross=den_cross, den=den,
                        n_chunks=np.full(P, C, np.int64), first_block=idx.copy(), last_block=idx.copy(),
                        numsnps=np.full((C, P), 1500, np.int64))
    with threadpool_limits(limits=threads):
        t0 = time.perf_counter()
        fit = fit_sldp(chunks)
        t_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = signflip_test(fit.q, rng=seed)
        t_flip = time.perf_counter() - t0
    draws = res.n_draws.ravel()
    return dict(fit_s=t_fit, signflip_s=t_flip, n_tests=int(P * K), n_full=int((draws >= 1_000_000).sum()),
                total_draws=int(draws.sum()), planted=int((mu > 0).sum()),
                p_min=float(np.nanmin(res.p)), frac_p05=float(np.mean(res.p[mu == 0] < 0.05)))


# ------------------------------------------------------------------------------------------- report

def agreement(ours: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    o = ours.set_index("annot")
    r = ref.set_index("annot")
    if set(o.index) != set(r.index):
        raise SystemExit(f"annotations differ: ours {sorted(o.index)} vs sldp {sorted(r.index)}")
    rows = []
    for col in GW_NUMBERS:
        a, b = o.loc[r.index, col].to_numpy(float), r[col].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.abs(a - b) / np.abs(b)
        rows.append(dict(number=col, max_rel_diff=float(np.nanmax(rel)), max_abs_diff=float(np.nanmax(np.abs(a - b))),
                         worst_annot=str(r.index[int(np.nanargmax(rel))])))
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="work folder (world/, reference/, ours_*.json, logs)")
    parser.add_argument("--sldp-venv", type=Path, help="virtualenv with sldp==1.1.5 (see sldp_reference.py)")
    parser.add_argument("--threads", type=int, default=1,
                        help="cores for both tools: our --threads (LD blocks at once, one BLAS thread each); "
                             "sldp's OPENBLAS/OMP/MKL_NUM_THREADS")
    parser.add_argument("--world", choices=("gaussian", "coalescent"), default="gaussian",
                        help="genotypes: thresholded Gaussian haplotypes (fast), or msprime's coalescent "
                             "(a realistic allele-frequency spectrum; a few minutes to simulate)")
    parser.add_argument("--n-ref", type=int, default=1000)
    parser.add_argument("--n-blocks", type=int, default=100)
    parser.add_argument("--snps-per-block", type=int, default=2000)
    parser.add_argument("--n-annot", type=int, default=10)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--signflip-annots", type=int, default=1000)
    parser.add_argument("--signflip-phenos", type=int, default=48)
    parser.add_argument("--signflip-chunks", type=int, default=300)
    parser.add_argument("--skip-signflip", action="store_true")
    parser.add_argument("--_worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._worker:
        return _worker(json.loads(args._worker))
    if args.out is None or args.sldp_venv is None:
        parser.error("--out and --sldp-venv are required")
    pd.set_option("display.width", 200)

    args.out.mkdir(parents=True, exist_ok=True)
    wdir = args.out / "world"
    spec = dict(n_ref=args.n_ref, n_blocks=args.n_blocks, snps_per_block=args.snps_per_block,
                n_annot=args.n_annot, seed=args.seed, world=args.world)
    t0 = time.perf_counter()
    made = wdir / "made_with.json"      # a finished world of the same options is read back, not rebuilt
    if made.exists() and json.loads(made.read_text()) == spec:
        summary = json.loads((wdir / "world.json").read_text())
    else:
        if wdir.exists():
            shutil.rmtree(wdir)
        summary = make_world(wdir, **spec)
        made.write_text(json.dumps(spec))
    print(f"world ({time.perf_counter() - t0:.1f} s): {summary['n_snps']} SNPs ({summary['n_print']} regression "
          f"SNPs, MAF >= 5%), {args.n_ref} panel individuals, {summary['n_blocks']} LD blocks on chromosomes "
          f"{summary['chroms']}, {len(summary['annotations'])} signed annotations + background BG; trait "
          f"'{TRAIT['name']}' (N ~ {TRAIT['n']}) with an effect along {PLANTED} (h2 {summary['trait']['h2_annot']:.3g})",
          flush=True)
    print(f"threads: blas_threads={args.threads} (ours); OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=MKL_NUM_THREADS="
          f"{args.threads} (sldp); machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start",
          flush=True)

    print("\n== this suite, genostats sldp (run 1)", flush=True)
    cli1 = run_ours_cli(wdir, args.out, args.threads, "1")
    print(f"  {cli1['total_s']:.1f} s", flush=True)
    print("\n== sldp 1.1.5", flush=True)
    ref = run_sldp_reference(args.sldp_venv, wdir, args.out / "reference", args.threads)
    print("\n== this suite, genostats sldp (run 2)", flush=True)
    cli2 = run_ours_cli(wdir, args.out, args.threads, "2")
    print(f"  {cli2['total_s']:.1f} s", flush=True)
    print("\n== this suite in a fresh process, stages timed in-process (runs 3 and 4)", flush=True)
    ours1 = run_ours(wdir, args.out, args.threads, "3")
    ours2 = run_ours(wdir, args.out, args.threads, "4")
    print(f"  {ours1['total_s']:.1f} s / {ours2['total_s']:.1f} s; load average {os.getloadavg()[0]:.1f} at end",
          flush=True)

    ratio = ref["total_s"] / np.median([cli1["total_s"], cli2["total_s"]])
    print(f"\n== whole program against whole program: sldp {ref['total_s']:.1f} s (its four commands), "
          f"genostats sldp {cli1['total_s']:.1f} / {cli2['total_s']:.1f} s: {ratio:.1f}x "
          f"({args.threads} thread(s) each)")
    print(f"  genostats command: {cli1['command']}")
    _report_times(ref, ours1, ours2)
    _report_agreement(ref, cli2, "genostats sldp run 2")
    _report_agreement(ref, ours2, "in-process run 4")
    if not args.skip_signflip:
        _report_signflip(args)
    print(f"\nsldp commands (run from {args.out / 'reference'}):")
    for c in ref["commands"]:
        print("  " + c)
    return 0


def _report_times(ref: dict, ours1: dict, ours2: dict) -> None:
    """Wall time per stage of both tools and the speed ratios."""
    print("\n== wall time per stage (s)")
    print(f"  sldp {ref['versions']['sldp']} (numpy {ref['versions']['numpy']}):")
    for k, v in ref["stages"].items():
        print(f"    {k:38s} {v:9.1f}")
    print(f"    {'total':38s} {ref['total_s']:9.1f}")
    for tag, o in (("run 1", ours1), ("run 2", ours2)):
        print(f"  this suite, {tag}:")
        for k, v in o["stages"].items():
            print(f"    {k:38s} {v:9.1f}")
        print(f"    {'total':38s} {o['total_s']:9.1f}")
    ref_pre = ref["stages"]["preprocessrefpanel"] + ref["stages"]["preprocessannot"]
    print("\n== speed ratio (sldp time / our time)")
    for tag, o in (("run 1", ours1), ("run 2", ours2)):
        s = o["stages"]
        print(f"  {tag}: total {ref['total_s'] / o['total_s']:.1f}x; panel+annotations "
              f"{ref_pre / s['panel+annot']:.1f}x; phenotype {ref['stages']['preprocesspheno'] / s['phenotype']:.1f}x; "
              f"regression {ref['stages']['sldp'] / s['regression']:.1f}x")
    mean_ours = (ours1["total_s"] + ours2["total_s"]) / 2
    print(f"  total, against the mean of our two runs ({mean_ours:.1f} s): {ref['total_s'] / mean_ours:.1f}x "
          f"(in-process stage timing; the whole-program ratio is above)")


def _report_agreement(ref: dict, ours2: dict, what: str) -> None:
    """Agreement of the .gwresults numbers between the two tools."""
    ours_t = pd.DataFrame(ours2["table"])
    ref_t = ref["table"]
    print(f"\n== agreement of {what} with sldp 1.1.5 on this world (relative difference |ours - sldp| / |sldp|, "
          f"max over {len(ref_t)} annotations)")
    ag = agreement(ours_t, ref_t)
    print(ag.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    rel = ag.set_index("number").max_rel_diff
    print(f"  mu {rel['mu']:.2e}, se(mu) {rel['se(mu)']:.2e}, z_fast {rel['z_fast']:.2e} (target <= 1e-6)")
    if "chunks" in ours2:
        print(f"  chunks: ours {sorted(set(ours2['chunks'].values()))}")
    side = ref_t[["annot", "mu", "se(mu)", "z_fast", "z", "p"]].merge(
        ours_t[["annot", "mu", "se(mu)", "z_fast", "z", "p"]], on="annot", suffixes=("_sldp", "_ours"))
    print("  per annotation (sign-flip z, p: different generators, agree within Monte Carlo error):")
    print(side.to_string(index=False, float_format=lambda v: f"{v:.6g}"))


def _report_signflip(args) -> None:
    """fit_sldp and the sign flips at GTEx scale."""
    print(f"\n== sign flips at GTEx scale (array level, blas threads {args.threads}): "
          f"{args.signflip_annots} annotations x {args.signflip_phenos} phenotypes, {args.signflip_chunks} "
          "chunks, 1 background, sldp's schedule (10^5-draw blocks, stop at p >= 0.01, up to 10^6)", flush=True)
    sf = signflip_scale(n_annot=args.signflip_annots, n_pheno=args.signflip_phenos, n_chunks=args.signflip_chunks,
                        threads=args.threads, seed=args.seed)
    print(f"  fit_sldp (estimates, residualized q/r, jackknife SE): {sf['fit_s']:.1f} s")
    print(f"  signflip_test: {sf['signflip_s']:.1f} s for {sf['n_tests']} tests ({sf['planted']} with an effect; "
          f"{sf['n_full']} ran 10^6 draws; {sf['total_draws']:.3g} draws in all; min p {sf['p_min']:.2g}; "
          f"null tests with p < 0.05: {sf['frac_p05']:.3f})")


if __name__ == "__main__":
    sys.exit(main())

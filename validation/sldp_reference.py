"""Reference numbers from sldp 1.1.5 (Reshef et al. 2018) on a small simulated world, frozen as a fixture.

    python validation/sldp_reference.py --out DIR --sldp-venv VENV [--fixture-dir DIR] [--seed 2018]

1. Writes a deterministic simulated world in sldp's input layout under ``DIR/world``: a reference
   panel (PLINK bfiles per chromosome 1, 6, 22 with .frq files, plus a regression-SNP .bim per
   chromosome), LD blocks (BED, with a block in the MHC and blocks of a chromosome that has no data),
   print/regression SNPs, LD scores for chromosomes 1..22 (the ones without data are header-only),
   two traits' ``.sumstats.gz`` (``planted``: an effect along ANNOT1 plus a background effect;
   ``bgonly``: background and polygenic effects only, heritability low enough to hit sldp's 0.03 floor)
   and signed annotations (``A.``: ANNOT1 ANNOT2; ``M.``: ANNOTM, per-allele, preprocessed with
   alpha = 0; ``BG.``: the background annotation). Allele swaps, strand flips, strand-ambiguous SNPs,
   mismatched alleles, missing SNPs, a block with no print SNPs, a block with no typed SNPs, a block
   whose annotations are all zero, a two-SNP block whose truncated SVD keeps no eigenvector and SNPs
   outside every block are planted on purpose.
2. With ``--sldp-venv`` (a virtualenv holding sldp==1.1.5; see the fixture README), runs
   preprocessrefpanel, preprocessannot (twice), preprocesspheno and sldp end to end with fixed seeds,
   in memory-patched copies of sldp's modules (the patches are listed in ``PATCHES`` and in the JSON),
   and collects mu, se(mu), z/p (sign flip), z_fast/p_fast, rf, h2v/h2g, h2v, h2g, per-chunk q and r,
   per-block numerators/denominators, SVD ranks, .info tables and RV values into
   ``DIR/reference.json``.
3. Copies the small inputs and the JSON into ``--fixture-dir`` (default: the project's
   ``tests/stats/fixtures/sldp_1.1.5``), unless ``--no-copy``.

The reference is never imported by the project: it runs in its own virtualenv through subprocesses.
"""
from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FIXTURE = REPO / "tests" / "stats" / "fixtures" / "sldp_1.1.5"
SLDP_VERSION = "1.1.5"

CHROMS = (1, 6, 22)
N_REF = 360
MHC = (25_684_587, 35_455_756)
COMPLEMENT = {"A": "T", "T": "A", "C": "G", "G": "C"}
UNAMBIGUOUS = [a + b for a in "ACGT" for b in "ACGT" if a != b and COMPLEMENT[a] != b]
AMBIGUOUS = ["AT", "TA", "CG", "GC"]

# per chromosome: first block start, number of blocks; special blocks by (chrom, index within chrom)
LAYOUT = {1: dict(start=1_000_000, n_blocks=12), 6: dict(start=35_000_000, n_blocks=11),
          22: dict(start=17_000_000, n_blocks=12)}
TINY_BLOCK = (1, 5)        # two SNPs in near-perfect LD: the 95% truncation keeps k = 0 eigenvectors
BOUNDARY_BLOCK = (1, 3)    # its first SNP sits exactly at the block start (BED start <= BP < end)
NO_PRINT_BLOCK = (22, 2)   # no print (regression) SNPs: no SVD file
NO_TYPED_BLOCK = (22, 4)   # print SNPs but none in the sumstats
ZERO_ANNOT_BLOCK = (22, 6)  # every annotation is 0 on every SNP of the block

TRAITS = {
    # name: (mean N, heritability of the random part, ANNOT1 coefficient, BG coefficient)
    "planted": dict(n=30_000, h2_random=0.25, c_annot1=0.004, c_bg=0.0012),
    "bgonly": dict(n=40_000, h2_random=0.012, c_annot1=0.0, c_bg=0.0008),
}

# Patches applied in memory to the installed sldp 1.1.5 modules (old text, new text, expected count).
PATCHES = {
    "sldp.preprocesspheno": [
        # Python 2 file iteration
        ["int(open(", "int(next(open(", 2],
        ["').next())", "')))", 2],
        # DataFrame.append was removed in pandas 2
        ["info = pd.DataFrame(); info=info.append(", "info = pd.DataFrame([", 1],
        ["'Nbar':ss.N.mean()},ignore_index=True)", "'Nbar':ss.N.mean()}])", 1],
    ],
    "sldp.sldp": [
        # hook (no change to the computation): dump the per-LD-block numerators/denominators
        # and the LD-block table (with M_H) right before the blocks are merged into chunks
        ["    # get data for jackknifing\n",
         "    _dump = os.environ.get('SLDP_REF_DUMP')\n"
         "    if _dump:\n"
         "        np.savez(_dump + '.blocks.npz', names=np.array(sorted(numerators)),\n"
         "                 num=np.array([numerators[k] for k in sorted(numerators)]),\n"
         "                 den=np.array([denominators[k] for k in sorted(numerators)]))\n"
         "        ldblocks.to_csv(_dump + '.ldblocks.tsv', sep='\\t', na_rep='nan')\n"
         "    # get data for jackknifing\n", 1],
    ],
}
# Only for the runs without background annotations (sldp 1.1.5 crashes there: mux/muy unbound).
NOBG_PATCH = {"sldp.chunkstats": [
    ["    q = np.array([num[num_background+k] for num in chunk_nums])\n",
     "    mux = np.zeros(0); muy = np.zeros(0)\n"
     "    q = np.array([num[num_background+k] for num in chunk_nums])\n", 1]]}

RUNNER = r'''
import importlib.util, json, sys, types
patches = json.loads(sys.argv[1]); target = sys.argv[2]
import sldp
for modname, reps in patches.items():
    spec = importlib.util.find_spec(modname)
    src = open(spec.origin).read()
    for old, new, count in reps:
        if src.count(old) != count:
            raise SystemExit('patch for %s does not apply: %r found %d times' % (modname, old, src.count(old)))
        src = src.replace(old, new)
    mod = types.ModuleType(modname); mod.__file__ = spec.origin; mod.__package__ = 'sldp'
    sys.modules[modname] = mod; setattr(sldp, modname.split('.')[1], mod)
    exec(compile(src, spec.origin, 'exec'), mod.__dict__)
if target in sys.modules:
    mod = sys.modules[target]
else:
    mod = importlib.import_module(target)
sys.argv = [target.split('.')[-1]] + sys.argv[3:]
mod.main()
'''


# ----------------------------------------------------------------------------------------- world

def _gz_text(path, text: str):
    """Write gzip text with no timestamp or name in the header (byte-identical reruns)."""
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(text.encode())


def _latent_haplotypes(rng, pos, corr_len, n_hap):
    """Gaussian AR(1) latent haplotypes along a block: corr(z_j, z_{j-1}) = exp(-d_j / corr_len)."""
    m = len(pos)
    z = np.empty((n_hap, m))
    z[:, 0] = rng.standard_normal(n_hap)
    rho = np.exp(-np.diff(pos) / corr_len)
    for j in range(1, m):
        z[:, j] = rho[j - 1] * z[:, j - 1] + np.sqrt(1 - rho[j - 1] ** 2) * rng.standard_normal(n_hap)
    return z


def _standardize(g):
    x = g.astype(np.float64) - g.mean(axis=0)
    return x / np.sqrt((x ** 2).mean(axis=0))


def simulate_world(seed: int) -> dict:
    """The panel, blocks and annotations (annotation values in the panel's A1 orientation)."""
    rng = np.random.default_rng(seed)
    blocks = _layout_blocks(rng)
    G, chrom, pos, maf = _block_dosages(rng, blocks)
    M = G.shape[1]

    # alleles: mostly unambiguous pairs, some strand-ambiguous
    ambiguous = rng.random(M) < 0.03
    pairs = np.where(ambiguous, rng.choice(AMBIGUOUS, M), rng.choice(UNAMBIGUOUS, M))
    snp = np.array([f"rs{c}{i:06d}" for i, c in enumerate(chrom)])
    bim = pd.DataFrame(dict(CHR=chrom, SNP=snp, CM=0.0, BP=pos, A1=[s[0] for s in pairs],
                            A2=[s[1] for s in pairs]))
    bed, block_of, in_mhc, special = _block_table(blocks, chrom, pos)
    bim["block"] = block_of
    bim["MAF"] = maf

    # print (regression) SNPs: ~75% of the panel, all of the tiny block, none of the no-print block
    printsnp = rng.random(M) < 0.75
    printsnp[special[TINY_BLOCK]] = True
    printsnp[special[NO_PRINT_BLOCK]] = False
    bim["print"] = printsnp

    # annotations in the panel's A1 orientation
    bg = np.where(rng.random(M) < 0.5, 1.0, -1.0) * (0.5 + rng.random(M))
    mask1 = rng.random(M) < 0.3
    annot1 = np.where(mask1, 0.5 * bg + rng.standard_normal(M), 0.0)
    annot2 = np.where(rng.random(M) < 0.2, rng.standard_normal(M), 0.0)
    annotm = np.where(rng.random(M) < 0.4, np.where(rng.random(M) < 0.5, 1.0, -1.0), 0.0)
    for a in (bg, annot1, annot2, annotm):
        a[special[ZERO_ANNOT_BLOCK]] = 0.0
    annots = pd.DataFrame(dict(BG=bg, ANNOT1=annot1, ANNOT2=annot2, ANNOTM=annotm))

    # how each annotation file and each sumstats file presents a SNP relative to the panel
    return dict(G=G, bim=bim, bed=bed, annots=annots, in_mhc=in_mhc, special=special, rng=rng)


def _layout_blocks(rng) -> list:
    """LD blocks per chromosome (``LAYOUT``) with their SNP positions, plus singleton pseudo-blocks for the
    SNPs outside every block, sorted by chromosome and first position."""
    blocks = []
    for c in CHROMS:
        lay = LAYOUT[c]
        start = lay["start"]
        # a few SNPs before the first block (outside every block)
        if c == 1:
            pre = np.sort(rng.choice(np.arange(start - 50_000, start), 4, replace=False))
        else:
            pre = np.zeros(0, np.int64)
        for b in range(lay["n_blocks"]):
            length = int(rng.integers(800_000, 1_600_000))
            end = start + length
            if (c, b) == TINY_BLOCK:
                n, length = 2, 40_000
                end = start + length
            else:
                n = int(rng.integers(70, 150))
            pos = np.sort(rng.choice(np.arange(start, end), n, replace=False))
            if (c, b) == BOUNDARY_BLOCK:
                pos[0] = start
            blocks.append(dict(chrom=c, start=start, end=end, index=b, pos=pos))
            start = end
        post = np.sort(rng.choice(np.arange(start, start + 50_000), 3, replace=False)) if c == 22 else np.zeros(0, np.int64)
        # SNPs outside blocks get their own singleton "blocks" for simulation purposes only
        for extra in (pre, post):
            for p in extra:
                blocks.append(dict(chrom=c, start=None, end=None, index=None, pos=np.array([p])))
    blocks.sort(key=lambda d: (d["chrom"], d["pos"][0]))
    return blocks


def _block_dosages(rng, blocks: list) -> tuple:
    """Panel dosages ``G`` (N_REF x M, count of A1), block-correlated haplotypes independent between
    blocks, with the SNPs' chromosome, position and MAF, SNPs with fewer than 4 minor alleles dropped.
    Adds the SNP count ``m`` to every block."""
    from scipy.special import ndtri

    n_hap = 2 * N_REF
    dosages = []
    for blk in blocks:
        pos = blk["pos"]
        m = len(pos)
        if blk["index"] is not None and (blk["chrom"], blk["index"]) == TINY_BLOCK:
            z = _latent_haplotypes(rng, pos, 1e7, n_hap)
            p = np.full(m, 0.3)
        else:
            z = _latent_haplotypes(rng, pos, float(rng.uniform(15_000, 60_000)), n_hap)
            p = rng.uniform(0.01, 0.5, m)
        hap = (z < ndtri(p)).astype(np.int8)
        flip = rng.random(m) < 0.5  # which allele is A1 (counted) is random
        hap[:, flip] = 1 - hap[:, flip]
        g = hap[0::2] + hap[1::2]
        dosages.append(g)
        blk["m"] = m
    G = np.concatenate(dosages, axis=1)
    chrom = np.concatenate([np.full(b["m"], b["chrom"]) for b in blocks])
    pos = np.concatenate([b["pos"] for b in blocks])
    order = np.lexsort((pos, chrom))
    G, chrom, pos = G[:, order], chrom[order], pos[order]
    freq = G.mean(axis=0) / 2
    maf = np.minimum(freq, 1 - freq)
    keep = (maf * 2 * N_REF >= 4)
    return G[:, keep], chrom[keep], pos[keep], maf[keep]


def _block_table(blocks: list, chrom: np.ndarray, pos: np.ndarray) -> tuple:
    """The LD blocks table (BED rows with their index within the chromosome), the block of every SNP
    (-1 outside), the MHC SNPs and a mask of each special block."""
    M = len(pos)
    bed_rows = []
    for b in blocks:
        if b["index"] is not None:
            bed_rows.append((b["chrom"], b["start"], b["end"], b["index"]))
    bed = pd.DataFrame(bed_rows, columns=["chrom", "start", "end", "index"])
    block_of = np.full(M, -1)
    for i, r in bed.iterrows():
        sel = (chrom == r.chrom) & (pos >= r.start) & (pos < r.end)
        block_of[sel] = i
    in_mhc = np.zeros(M, bool)
    for i, r in bed.iterrows():
        if r.chrom == 6 and r.end > MHC[0] and r.start < MHC[1]:
            in_mhc |= block_of == i

    def is_block(i, key):
        return i >= 0 and (bed.chrom[i], bed["index"][i]) == key

    special = {key: np.array([is_block(i, key) for i in block_of]) for key in
               (TINY_BLOCK, NO_PRINT_BLOCK, NO_TYPED_BLOCK, ZERO_ANNOT_BLOCK)}
    return bed, block_of, in_mhc, special


def _present(rng, bim, n, p_missing):
    """Per-SNP presentation: 0 same, 1 swapped, 2 strand-flipped, 3 both, 4 mismatched allele set,
    -1 absent."""
    code = rng.choice([0, 1, 2, 3], n, p=[0.55, 0.25, 0.12, 0.08])
    code[rng.random(n) < 0.01] = 4
    code[rng.random(n) < p_missing] = -1
    return code


def _alleles(bim, code):
    a1 = bim.A1.to_numpy().astype("<U1")
    a2 = bim.A2.to_numpy().astype("<U1")
    comp = np.vectorize(COMPLEMENT.get)
    o1, o2 = a1.copy(), a2.copy()
    sw = code == 1
    o1[sw], o2[sw] = a2[sw], a1[sw]
    st = code == 2
    o1[st], o2[st] = comp(a1[st]), comp(a2[st])
    both = code == 3
    o1[both], o2[both] = comp(a2[both]), comp(a1[both])
    mm = code == 4  # replace A2 by a base that is neither allele nor their complements -> no match
    for i in np.flatnonzero(mm):
        bad = [b for b in "ACGT" if b not in (a1[i], a2[i], COMPLEMENT[a1[i]], COMPLEMENT[a2[i]])]
        o2[i] = bad[0] if bad else ("C" if a1[i] in "AT" else "A")
        if o1[i] == o2[i] or COMPLEMENT[o1[i]] == o2[i]:
            o2[i] = "G" if o1[i] in "AT" else "T"
            o1[i] = "A" if o1[i] in "AT" else "C"
    sign = np.where((code == 1) | (code == 3), -1.0, 1.0)
    return o1, o2, sign


def reconciled_values(bim, code, values):
    """Values as sldp sees them after reconciliation: 0 where absent, ambiguous or mismatched."""
    amb = np.array([(a + b) in AMBIGUOUS for a, b in zip(bim.A1, bim.A2)])
    ok = (code >= 0) & (code <= 3) & ~amb
    return np.where(ok, values, 0.0)


def write_world(world: dict, wdir: Path, seed: int) -> dict:
    """Write sldp's inputs under ``wdir``; return the truth and bookkeeping."""
    rng = world["rng"]
    G, bim, bed, annots = world["G"], world["bim"], world["bed"], world["annots"]
    M = len(bim)
    for sub in ("refpanel", "refpanel_reg", "annot", "sumstats", "ldscores"):
        (wdir / sub).mkdir(parents=True, exist_ok=True)
    _write_panel(G, bim, wdir)
    _write_blocks(bed, wdir)

    # true standardized effects -> per-SNP LD-aware marginal effects, per block (LD between blocks 0)
    X = _standardize(G)
    ann_code = {stem: _present(rng, bim, M, 0.05) for stem in ("A", "M", "BG")}
    groups = [np.flatnonzero(bim.block.to_numpy() == i) for i in range(len(bed))]
    groups += [np.array([i]) for i in np.flatnonzero(bim.block.to_numpy() < 0)]
    truth = _write_sumstats(rng, world, X, ann_code, groups, wdir)
    _write_annotations(bim, annots, ann_code, wdir)
    _write_ldscores(rng, bim, X, groups, wdir)

    summary = dict(seed=seed, n_ref=N_REF, n_snps=int(M), n_print=int(bim["print"].sum()),
                   n_blocks=int(len(bed)), chroms=list(CHROMS), traits=truth,
                   special_blocks={k: f"chr{v[0]} block {v[1]}" for k, v in dict(
                       tiny=TINY_BLOCK, boundary=BOUNDARY_BLOCK, no_print=NO_PRINT_BLOCK,
                       no_typed=NO_TYPED_BLOCK, zero_annot=ZERO_ANNOT_BLOCK).items()})
    (wdir / "world.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def _write_panel(G: np.ndarray, bim: pd.DataFrame, wdir: Path) -> None:
    """PLINK filesets per chromosome, .frq files, the regression-SNP .bim files and print_snps.txt."""
    from bed_reader import to_bed

    # the .bed counts the bim's A1; .frq with full-precision MAF
    iid = [f"ind{i:04d}" for i in range(N_REF)]
    for c in CHROMS:
        sel = (bim.CHR == c).to_numpy()
        b = bim[sel]
        prefix = wdir / "refpanel" / f"panel.{c}"
        to_bed(f"{prefix}.bed", G[:, sel].astype(np.int8), count_A1=True,
               properties=dict(fid=iid, iid=iid, chromosome=[str(c)] * len(b), sid=b.SNP.tolist(),
                               cm_position=b.CM.to_numpy(float), bp_position=b.BP.to_numpy(np.int64),
                               allele_1=b.A1.tolist(), allele_2=b.A2.tolist()))
        b[["CHR", "SNP", "CM", "BP", "A1", "A2"]].to_csv(f"{prefix}.bim", sep="\t", header=False, index=False)
        frq = pd.DataFrame(dict(CHR=b.CHR, SNP=b.SNP, A1=b.A1, A2=b.A2, MAF=b.MAF.map(lambda v: repr(float(v))),
                                NCHROBS=2 * N_REF))
        frq.to_csv(f"{prefix}.frq", sep=" ", index=False)
        bp = b[b["print"]]
        bp[["CHR", "SNP", "CM", "BP", "A1", "A2"]].to_csv(wdir / "refpanel_reg" / f"panel.{c}.bim", sep="\t",
                                                          header=False, index=False)
    bim.loc[bim["print"], ["SNP"]].to_csv(wdir / "print_snps.txt", header=False, index=False)


def _write_blocks(bed: pd.DataFrame, wdir: Path) -> None:
    """The LD blocks BED, with two blocks of a chromosome that has no data (chr2) between chr1 and chr6."""
    rows = []
    for c in CHROMS:
        rows += [(f"chr{c}", r.start, r.end) for r in bed[bed.chrom == c].itertuples()]
        if c == 1:
            rows += [("chr2", 1_000_000, 2_000_000), ("chr2", 2_000_000, 3_500_000)]
    pd.DataFrame(rows).to_csv(wdir / "ldblocks.bed", sep="\t", header=False, index=False)


def _write_sumstats(rng, world: dict, X: np.ndarray, ann_code: dict, groups: list, wdir: Path) -> dict:
    """Each trait's ``.sumstats.gz``: effects along the annotations as the sumstats see them, per-block
    marginal Z with the panel's LD, presented with swapped / flipped alleles, missing Z and extra SNPs.
    Returns the traits' truth."""
    bim, annots = world["bim"], world["annots"]
    M = len(bim)
    ann_seen = pd.DataFrame({
        "BG": reconciled_values(bim, ann_code["BG"], annots.BG.to_numpy()),
        "ANNOT1": reconciled_values(bim, ann_code["A"], annots.ANNOT1.to_numpy()),
        "ANNOT2": reconciled_values(bim, ann_code["A"], annots.ANNOT2.to_numpy()),
        "ANNOTM": reconciled_values(bim, ann_code["M"], annots.ANNOTM.to_numpy()),
    })
    truth = {}
    typed_code = _present(rng, bim, M, 0.0)
    not_typed = ~bim["print"].to_numpy() | world["special"][NO_TYPED_BLOCK] | (rng.random(M) < 0.08)
    # some non-print SNPs do appear in the sumstats (sldp drops them: sumstats x print SNPs)
    not_typed &= ~(~bim["print"].to_numpy() & (rng.random(M) < 0.3))
    not_typed[world["special"][NO_TYPED_BLOCK]] = True
    for name, t in TRAITS.items():
        beta = (t["c_annot1"] * ann_seen.ANNOT1.to_numpy() + t["c_bg"] * ann_seen.BG.to_numpy()
                + rng.standard_normal(M) * np.sqrt(t["h2_random"] / M))
        n = t["n"] - rng.integers(0, 3000, M)
        z = np.empty(M)
        for idx in groups:
            xb = X[:, idx]
            r_beta = xb.T @ (xb @ beta[idx]) / N_REF
            noise = xb.T @ rng.standard_normal(N_REF) / np.sqrt(N_REF)
            z[idx] = np.sqrt(n[idx]) * r_beta + noise
        code = typed_code.copy()
        code[not_typed] = -1
        a1, a2, sign = _alleles(bim, code)
        ss = pd.DataFrame(dict(SNP=bim.SNP, A1=a1, A2=a2, N=n, Z=z * sign))[code >= 0]
        # a few rows with missing Z, and SNPs that are not in the panel
        ss.loc[ss.index[np.sort(rng.choice(len(ss), 5, replace=False))], "Z"] = np.nan
        extra = pd.DataFrame(dict(SNP=[f"rs9{i:07d}" for i in range(40)], A1="A", A2="G",
                                  N=t["n"], Z=rng.standard_normal(40)))
        ss = pd.concat([ss, extra], ignore_index=True)
        _gz_text(wdir / "sumstats" / f"{name}.sumstats.gz",
                 ss.to_csv(sep="\t", index=False, na_rep="NA", float_format="%.6f"))
        truth[name] = dict(**t, h2_true=float(np.sum(beta ** 2)),
                           h2_annot1=float(np.sum((t["c_annot1"] * ann_seen.ANNOT1.to_numpy()) ** 2)))
    return truth


def _write_annotations(bim: pd.DataFrame, annots: pd.DataFrame, ann_code: dict, wdir: Path) -> None:
    """Signed annotations, one file per chromosome and stem, in their own allele orientation."""
    cols = {"A": ["ANNOT1", "ANNOT2"], "M": ["ANNOTM"], "BG": ["BG"]}
    for stem, names in cols.items():
        code = ann_code[stem]
        a1, a2, sign = _alleles(bim, code)
        df = pd.DataFrame(dict(SNP=bim.SNP, A1=a1, A2=a2))
        for nm in names:
            df[nm] = annots[nm].to_numpy() * sign
        df["CHR"] = bim.CHR
        df = df[code >= 0]
        for c in CHROMS:
            part = df[df.CHR == c].drop(columns="CHR")
            extra = pd.DataFrame(dict(SNP=[f"rs8{c:02d}{i:05d}" for i in range(10)], A1="C", A2="T"))
            for nm in names:
                extra[nm] = 1.0
            part = pd.concat([part, extra], ignore_index=True)
            _gz_text(wdir / "annot" / f"{stem}.{c}.sannot.gz", part.to_csv(sep="\t", index=False, float_format="%.6g"))


def _write_ldscores(rng, bim: pd.DataFrame, X: np.ndarray, groups: list, wdir: Path) -> None:
    """LD scores (in-block, r^2 bias-corrected) at the print SNPs, ~2% of them missing; chromosomes
    without data get header-only files (sldp reads chromosomes 1..22 whatever --chroms says)."""
    from stats.ld.scores import l2_unbiased

    M = len(bim)
    l2 = np.ones(M)
    for idx in groups:
        xb = X[:, idx]
        l2[idx] = l2_unbiased(xb.T @ xb / N_REF, N_REF).sum(axis=1)
    has_l2 = bim["print"].to_numpy() & (rng.random(M) >= 0.02)
    for c in range(1, 23):
        sel = (bim.CHR == c).to_numpy()
        ld = pd.DataFrame(dict(CHR=bim.CHR[sel & has_l2], SNP=bim.SNP[sel & has_l2], BP=bim.BP[sel & has_l2],
                               L2=l2[sel & has_l2]))
        _gz_text(wdir / "ldscores" / f"{c}.l2.ldscore.gz", ld.to_csv(sep="\t", index=False, float_format="%.4f"))
        (wdir / "ldscores" / f"{c}.l2.M").write_text(f"{int(sel.sum())}\n")
        (wdir / "ldscores" / f"{c}.l2.M_5_50").write_text(f"{int((sel & (bim.MAF.to_numpy() >= 0.05)).sum())}\n")


# ------------------------------------------------------------------------------------- reference

def _run(py: Path, module: str, args: list, *, patches: dict, cwd: Path, env_extra=None, log: Path):
    import os

    cmd = [str(py), "-c", RUNNER, json.dumps(patches), module] + [str(a) for a in args]
    shown = f"{module.split('.')[-1]} " + " ".join(str(a) for a in args)
    print(f"$ {shown}", flush=True)
    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    env.update(env_extra or {})
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    log.write_text(res.stdout + "\n---- stderr ----\n" + res.stderr)
    if res.returncode != 0:
        print(res.stdout[-3000:], res.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{module} failed (exit {res.returncode}); log: {log}")
    print(f"  ({time.perf_counter() - t0:.1f} s)", flush=True)
    return shown


def _num(x):
    x = float(x)
    return None if not np.isfinite(x) else x


def run_reference(venv: Path, wdir: Path, rdir: Path) -> dict:
    """Run sldp 1.1.5's commands on a copy of the world in ``rdir``; collect its numbers (see ``KEYS``)."""
    py = venv / "bin" / "python"
    versions = _reference_versions(py, venv)
    print("reference environment:", versions)
    if rdir.exists():
        shutil.rmtree(rdir)
    rdir.mkdir(parents=True)
    # sldp writes next to its inputs: work on a copy of the world
    shutil.copytree(wdir, rdir / "world")
    (rdir / "logs").mkdir()
    t0 = time.perf_counter()
    commands = _run_preprocessing(py, rdir)
    sldp_commands, runs = _run_sldp(py, rdir)
    commands += sldp_commands
    print(f"reference commands: {time.perf_counter() - t0:.0f} s", flush=True)
    ref = dict(versions=versions, commands=commands, runs=runs,
               patches=dict(**{k: [[o, n] for o, n, _ in v] for k, v in PATCHES.items()},
                            **{"nobg_runs_only:" + k: [[o, n] for o, n, _ in v] for k, v in NOBG_PATCH.items()}))
    _collect_outputs(ref, rdir)
    return ref


def _reference_versions(py: Path, venv: Path) -> dict:
    """Versions of sldp and what it runs on in ``venv``; exits unless sldp is ``SLDP_VERSION``."""
    ver = subprocess.run([str(py), "-c", "import importlib.metadata as m; import numpy, pandas, scipy;"
                          "print(m.version('sldp'), m.version('gprim'), m.version('ypy'), m.version('pysnptools'),"
                          " numpy.__version__, pandas.__version__, scipy.__version__, m.version('bitarray'))"],
                         capture_output=True, text=True, check=True).stdout.split()
    versions = dict(zip(["sldp", "gprim", "ypy", "pysnptools", "numpy", "pandas", "scipy", "bitarray"], ver))
    if versions["sldp"] != SLDP_VERSION:
        raise SystemExit(f"{venv} has sldp {versions['sldp']}, need {SLDP_VERSION}")
    return versions


def _run_preprocessing(py: Path, rdir: Path) -> list:
    """preprocessrefpanel, preprocessannot (A + BG with alpha -1, M with alpha 0), preprocesspheno per trait."""
    logs = rdir / "logs"
    chroms = [str(c) for c in CHROMS]
    common = ["--ld-blocks", "world/ldblocks.bed", "--print-snps", "world/print_snps.txt"]
    bfile = ["--bfile-chr", "world/refpanel/panel."]
    commands = []
    commands.append(_run(py, "sldp.preprocessrefpanel", ["--svd-stem", "svd/"] + bfile + common
                         + ["--spectrum-percent", "95", "--chroms"] + chroms,
                         patches={}, cwd=rdir, log=logs / "preprocessrefpanel.log"))
    commands.append(_run(py, "sldp.preprocessannot", ["--sannot-chr", "world/annot/A.", "world/annot/BG."]
                         + bfile + common + ["--alpha", "-1", "--chroms"] + chroms,
                         patches={}, cwd=rdir, log=logs / "preprocessannot_A_BG.log"))
    commands.append(_run(py, "sldp.preprocessannot", ["--sannot-chr", "world/annot/M."]
                         + bfile + common + ["--alpha", "0", "--chroms"] + chroms,
                         patches={}, cwd=rdir, log=logs / "preprocessannot_M.log"))
    for trait in TRAITS:
        commands.append(_run(py, "sldp.preprocesspheno", ["--sumstats-stem", f"world/sumstats/{trait}",
                                                          "--refpanel-name", "KG3.95", "--svd-stem", "svd/",
                                                          "--ldscores-chr", "world/ldscores/"] + bfile + common
                             + ["--chroms"] + chroms,
                             patches={"sldp.preprocesspheno": PATCHES["sldp.preprocesspheno"]}, cwd=rdir,
                             log=logs / f"preprocesspheno_{trait}.log"))
    return commands


def _run_sldp(py: Path, rdir: Path) -> tuple[list, dict]:
    """sldp per trait with the background (20 jackknife blocks, seed 0) and without (300, seed 1)."""
    logs = rdir / "logs"
    chroms = [str(c) for c in CHROMS]
    commands = []
    runs = {}
    run_specs = []
    for trait in TRAITS:
        run_specs.append((f"{trait}", trait, True, "20", "0"))
        run_specs.append((f"{trait}_nobg", trait, False, "300", "1"))
    (rdir / "out").mkdir()
    for run_name, trait, with_bg, jk, seed in run_specs:
        args = ["--outfile-stem", f"out/{run_name}", "--pss-chr", f"world/sumstats/{trait}.KG3.95/",
                "--sannot-chr", "world/annot/A.", "world/annot/M."]
        if with_bg:
            args += ["--background-sannot-chr", "world/annot/BG."]
        args += ["--svd-stem", "svd/", "--bfile-reg-chr", "world/refpanel_reg/panel.", "--ld-blocks",
                 "world/ldblocks.bed", "--chroms"] + chroms + ["-bothp", "--seed", seed, "--jk-blocks", jk,
                                                               "--verbose-thresh", "2"]
        patches = {"sldp.sldp": PATCHES["sldp.sldp"]}
        if not with_bg:
            patches.update(NOBG_PATCH)
        cmd = _run(py, "sldp.sldp", args, patches=patches, cwd=rdir, env_extra={"SLDP_REF_DUMP": f"out/{run_name}"},
                   log=logs / f"sldp_{run_name}.log")
        commands.append(cmd)
        runs[run_name] = collect_run(rdir, run_name, trait, with_bg=with_bg, jk_blocks=int(jk), seed=int(seed),
                                     command=cmd)
    return commands, runs


def _collect_outputs(ref: dict, rdir: Path) -> None:
    """Add the preprocessing outputs to ``ref``: phenotype and annotation info, SVD ranks, RV values and
    processed sumstats (a few SNPs, and every print SNP as arrays)."""
    w = rdir / "world"
    ref["pheno_info"] = {t: {k: (_num(v) if k != "pheno" else v) for k, v in
                             pd.read_csv(w / "sumstats" / f"{t}.KG3.95" / "info", sep="\t").iloc[0].items()}
                         for t in TRAITS}
    ref["annot_info"] = {}
    for stem in ("A", "M", "BG"):
        for c in CHROMS:
            info = pd.read_csv(w / "annot" / f"{stem}.{c}.info", sep="\t", index_col=0)
            for nm, row in info.iterrows():
                ref["annot_info"].setdefault(nm, {})[str(c)] = {k: _num(v) for k, v in row.items()}
    ref["svd_rank"] = {}
    for f in sorted((rdir / "svd").glob("*.R.npz"), key=lambda p: int(p.name.split(".")[0])):
        d = np.load(f)
        ref["svd_rank"][f.name.split(".")[0]] = dict(k=int(d["U"].shape[1]), n_print=int(d["U"].shape[0]),
                                                     svs_sum_kept=float(d["svs"].sum()))
    # RV values and processed sumstats of a few SNPs (and RV of every print SNP, as arrays)
    rv = {}
    for stem in ("A", "M", "BG"):
        rv[stem] = pd.concat([pd.read_csv(w / "annot" / f"{stem}.{c}.RV.gz", sep="\t") for c in CHROMS],
                             ignore_index=True)
    pick = rv["A"].SNP.iloc[np.linspace(0, len(rv["A"]) - 1, 12).astype(int)].tolist()
    ref["rv_examples"] = {}
    for stem, df in rv.items():
        sub = df.set_index("SNP").loc[pick]
        ref["rv_examples"][stem] = {s: {k: (_num(v) if k not in ("A1", "A2") else v) for k, v in r.items()}
                                    for s, r in sub.iterrows()}
    ref["rv_all"] = {"SNP": rv["A"].SNP.tolist(),
                     **{c: [_num(v) for v in df[c]] for df in rv.values() for c in df.columns if c.endswith(".R")}}
    ref["pss_examples"] = {}
    for t in TRAITS:
        pss = pd.concat([pd.read_csv(w / "sumstats" / f"{t}.KG3.95" / f"{c}.pss.gz", sep="\t") for c in CHROMS],
                        ignore_index=True)
        pss.insert(0, "SNP", rv["A"].SNP.to_numpy())
        ref["pss_examples"][t] = {s: {k: _num(v) for k, v in r.items()} for s, r in pss.set_index("SNP").loc[pick].iterrows()}
        ref.setdefault("pss_all", {})[t] = {"Winv_ahat_h": [_num(v) for v in pss.Winv_ahat_h],
                                            "N": [_num(v) for v in pss.N]}


def collect_run(rdir: Path, run_name: str, trait: str, *, with_bg: bool, jk_blocks: int, seed: int,
                command: str) -> dict:
    out = rdir / "out"
    res = pd.read_csv(out / f"{run_name}.gwresults", sep="\t")
    annots = {}
    for _, row in res.iterrows():
        name = row["annot"]
        a = {k: _num(v) for k, v in row.items() if k not in ("pheno", "annot")}
        stem = f"{run_name}.{row['pheno']}.{name}"
        ch = pd.read_csv(out / f"{stem}.chunks", sep="\t")
        a["chunks"] = {k: [(_num(x) if k in ("q", "r") else (x if isinstance(x, str) else _num(x)))
                           for x in ch[k]] for k in ch.columns}
        co = pd.read_csv(out / f"{stem}.coeffs", sep="\t")
        a["coeffs"] = {"annot": co["annot"].tolist(), "mux": [_num(x) for x in co.mux],
                       "muy": [_num(x) for x in co.muy]}
        annots[name] = a
    blk = np.load(out / f"{run_name}.blocks.npz")
    ldb = pd.read_csv(out / f"{run_name}.ldblocks.tsv", sep="\t", index_col=0)
    return dict(trait=trait, background=["BG.R"] if with_bg else [], jk_blocks=jk_blocks, seed=seed,
                command=command, columns=list(res.columns), annots=annots,
                blocks=dict(names=[int(x) for x in blk["names"]],
                            num=np.asarray(blk["num"]).tolist(), den=np.asarray(blk["den"]).tolist(),
                            order="rows: blocks (BED row index, MHC removed); vector/matrix over "
                                  "[background..., ANNOT1.R, ANNOT2.R, ANNOTM.R]; both divided by 1e6"),
                ldblocks=dict(index=[int(i) for i in ldb.index], chr=ldb.chr.tolist(),
                              start=[int(x) for x in ldb.start], end=[int(x) for x in ldb.end],
                              M_H=[_num(x) for x in ldb.M_H]))


def print_summary(ref: dict):
    for t, info in ref["pheno_info"].items():
        print(f"pheno {t}: h2g={info['h2g']:.6g} sigma2g={info['sigma2g']:.6g} Nbar={info['Nbar']:.6g}")
    for run_name, run in ref["runs"].items():
        print(f"\n== {run_name} (background {run['background']}, jk-blocks {run['jk_blocks']}, seed {run['seed']})")
        for name, a in run["annots"].items():
            print(f"  {name:9s} mu={a['mu']:.8g} se={a['se(mu)']:.8g} z={a['z']:.5g} p={a['p']:.4g} "
                  f"z_fast={a['z_fast']:.8g} p_fast={a['p_fast']:.6g} rf={a['rf']:.8g} "
                  f"h2v/h2g={a['h2v/h2g']:.6g} h2v={a['h2v']:.6g} h2g={a['h2g']:.6g} "
                  f"chunks={len(a['chunks']['q'])}")
        q = run["annots"]["ANNOT1.R"]["chunks"]["q"]
        r = run["annots"]["ANNOT1.R"]["chunks"]["r"]
        print("  ANNOT1.R q[:4] =", [f"{x:.6g}" for x in q[:4]], " r[:4] =", [f"{x:.6g}" for x in r[:4]])
    print("\nSVD ranks k per block:", {k: v["k"] for k, v in ref["svd_rank"].items()})


# ----------------------------------------------------------------------------------------- fixture

FIXTURE_INPUTS = ["ldblocks.bed", "print_snps.txt", "world.json"]

KEYS = {
    "versions": "versions of sldp and of what it ran on",
    "commands": "the reference commands, in order, run from the reference work folder (paths relative to it; "
                "world/ = this fixture's inputs plus derived files, svd/ = preprocessrefpanel output)",
    "patches": "in-memory text replacements applied to sldp's modules before running them",
    "pheno_info": "per trait: preprocesspheno's info file: h2g (floored at 0.03), sigma2g (NOT floored), Nbar",
    "annot_info": "per annotation and chromosome: preprocessannot's .info row (M, M_5_50, sqnorm, sqnorm_5_50, supp, "
                  "supp_5_50); sldp sums the rows over --chroms",
    "svd_rank": "per LD block (BED row index): k eigenvectors kept, n_print print SNPs, sum of kept eigenvalues",
    "rv_examples": "per annotation file stem: .RV.gz rows (SNP A1 A2 values R-values) of 12 print SNPs",
    "pss_examples": "per trait: .pss.gz rows (N, Winv_ahat_I, Winv_ahat_h) of the same 12 SNPs",
    "runs": "per sldp run: trait, background, jk_blocks, seed, command, .gwresults columns, and per marginal "
            "annotation the .gwresults numbers (z, p = sign flip; z_fast, p_fast; mu; se(mu); h2g; rf; h2v/h2g; "
            "h2v; supp(v)/M), chunks (the .chunks table incl. q and r per chunk, in units of 1e-6) and coeffs "
            "(mux, muy); blocks: per-LD-block numerators/denominators (divided by 1e6) over [background..., "
            "ANNOT1.R, ANNOT2.R, ANNOTM.R]; ldblocks: the LD-block table with M_H (typed SNPs used; NaN where "
            "never visited) right before chunking",
    "world": "the simulated world's summary and truth (world.json)",
    "arrays (reference_arrays.json.gz)": "SNP: every print SNP in panel order (chr1, chr6, chr22); BG.R, ANNOT1.R, "
            "ANNOT2.R, ANNOTM.R: its R-values; pss.<trait>.Winv_ahat_h and .N: preprocesspheno's per-SNP "
            "W^-1 ahat (null = NaN: untyped or outside any block with an SVD) and N",
}

README = """# sldp 1.1.5 reference fixture

Frozen outputs of the reference tool **sldp {sldp}** (Reshef et al. 2018, PyPI) on a small simulated world, so
that the suite's SLDP can be checked against it without depending on it. Produced by

    python validation/sldp_reference.py --out WORK --sldp-venv VENV

(world seed {seed}; about half a minute). Files here:

- `refpanel/panel.{{1,6,22}}.bed/.bim/.fam`: reference panel, {n_ref} individuals, {n_snps} SNPs (the .bed counts the
  bim's A1; sldp reads it with count_A1=False). The script also writes `.frq` files (full-precision MAF, which
  preprocessannot uses for alpha scaling) and `refpanel_reg/panel.C.bim` (the panel restricted to print SNPs, which
  sldp needs as `--bfile-reg-chr`); both derive from these files and are not kept here.
- `ldblocks.bed` (chr start end; a chr6 block overlapping the MHC and two chr2 blocks with no data),
  `print_snps.txt` (regression SNPs).
- `ldscores/C.l2.ldscore.gz`, `.l2.M`, `.l2.M_5_50` for C = 1, 6, 22; sldp reads chromosomes 1..22 whatever
  `--chroms` says, so the script gives it header-only files and 0 counts for the other chromosomes.
- `sumstats/{{planted,bgonly}}.sumstats.gz` (SNP A1 A2 N Z), `annot/{{A,M,BG}}.C.sannot.gz` (SNP A1 A2 values:
  A = ANNOT1 ANNOT2, M = ANNOTM (preprocessed with --alpha 0), BG = background).
- `world.json`: the simulation's summary and truth; `reference.json`: the reference's numbers (its "keys" entry
  says what each key holds); `reference_arrays.json.gz`: R-values and W^-1 ahat of every print SNP.

Reference environment (a separate virtualenv, Python 3.11):

    pip install sldp==1.1.5 "pandas<3" "bitarray<3" six "numpy<2"

which resolved to: {versions}.

Patches (applied in memory by the script, the installed files are untouched):
- preprocesspheno: `open(f).next()` -> `next(open(f))` (Python 2 leftover); `DataFrame.append` -> `pd.DataFrame([...])`
  (removed in pandas 2).
- sldp: a hook that saves the per-block numerators/denominators and the LD-block table before chunking (no change
  to the computation).
- only for the `*_nobg` runs: chunkstats.residualize initializes `mux = muy = np.zeros(0)` (sldp 1.1.5 crashes
  without `--background-sannot-chr`).

sldp was run with `-bothp` (`-fastp` alone and `-more-stats` crash in 1.1.5), `--verbose-thresh 2` (so that it writes
the per-chunk q and r), `--seed 0` (runs with background, `--jk-blocks 20`) or `--seed 1` (`*_nobg`, `--jk-blocks 300`),
and the default 10^6 sign flips; the sign-flip p is reproduced exactly by numpy's legacy
`RandomState(seed).binomial(1, 0.5, size=(100000, n_chunks))` consumed in the order of the annotations.
"""


def copy_fixture(wdir: Path, ref: dict | None, fdir: Path):
    if fdir.exists():
        for p in fdir.iterdir():
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    fdir.mkdir(parents=True, exist_ok=True)
    for name in FIXTURE_INPUTS:
        shutil.copy2(wdir / name, fdir / name)
    for sub in ("refpanel", "ldscores", "annot", "sumstats"):
        (fdir / sub).mkdir()
    for c in CHROMS:
        for ext in (".bed", ".bim", ".fam"):
            shutil.copy2(wdir / "refpanel" / f"panel.{c}{ext}", fdir / "refpanel" / f"panel.{c}{ext}")
        for ext in (".l2.ldscore.gz", ".l2.M", ".l2.M_5_50"):
            shutil.copy2(wdir / "ldscores" / f"{c}{ext}", fdir / "ldscores" / f"{c}{ext}")
        for stem in ("A", "M", "BG"):
            shutil.copy2(wdir / "annot" / f"{stem}.{c}.sannot.gz", fdir / "annot" / f"{stem}.{c}.sannot.gz")
    for t in TRAITS:
        shutil.copy2(wdir / "sumstats" / f"{t}.sumstats.gz", fdir / "sumstats" / f"{t}.sumstats.gz")
    if ref is not None:
        main_part, arrays = split_reference(ref)
        (fdir / "reference.json").write_text(json.dumps(main_part, indent=1, allow_nan=False) + "\n")
        _gz_text(fdir / "reference_arrays.json.gz", json.dumps(arrays, allow_nan=False))
        w = ref["world"]
        (fdir / "README.md").write_text(README.format(
            sldp=ref["versions"]["sldp"], seed=w["seed"], n_ref=w["n_ref"], n_snps=w["n_snps"],
            versions=", ".join(f"{k} {v}" for k, v in ref["versions"].items())))
    total = sum(p.stat().st_size for p in fdir.rglob("*") if p.is_file())
    print(f"fixture: {fdir} ({total / 1e6:.2f} MB)")


def split_reference(ref: dict) -> tuple[dict, dict]:
    main_part = {k: v for k, v in ref.items() if k not in ("rv_all", "pss_all")}
    main_part["keys"] = KEYS
    arrays = dict(ref["rv_all"])
    for t, d in ref["pss_all"].items():
        for k, v in d.items():
            arrays[f"pss.{t}.{k}"] = v
    return main_part, arrays


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True,
                        help="work folder (world/, reference/, reference.json, reference_arrays.json.gz)")
    parser.add_argument("--sldp-venv", type=Path, help="virtualenv with sldp==1.1.5 (without it: only the world)")
    parser.add_argument("--fixture-dir", type=Path, default=DEFAULT_FIXTURE)
    parser.add_argument("--no-copy", action="store_true", help="do not write the fixture folder")
    parser.add_argument("--seed", type=int, default=2018, help="world seed")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    wdir = args.out / "world"
    if wdir.exists():
        shutil.rmtree(wdir)
    world = simulate_world(args.seed)
    summary = write_world(world, wdir, args.seed)
    print(f"world: {wdir} ({time.perf_counter() - t0:.1f} s): {summary['n_snps']} SNPs, {summary['n_print']} "
          f"print SNPs, {summary['n_blocks']} LD blocks on chromosomes {summary['chroms']}, N_ref={N_REF}")
    for t, v in summary["traits"].items():
        print(f"  trait {t}: true h2={v['h2_true']:.4g} (ANNOT1 part {v['h2_annot1']:.3g}), mean N={v['n']}")
    ref = None
    if args.sldp_venv is not None:
        ref = run_reference(args.sldp_venv, wdir, args.out / "reference")
        ref["world"] = summary
        main_part, arrays = split_reference(ref)
        (args.out / "reference.json").write_text(json.dumps(main_part, indent=1, allow_nan=False) + "\n")
        _gz_text(args.out / "reference_arrays.json.gz", json.dumps(arrays, allow_nan=False))
        print_summary(ref)
        print(f"\nJSON: {args.out / 'reference.json'} and reference_arrays.json.gz; total {time.perf_counter() - t0:.0f} s")
    elif not args.no_copy:
        print("no --sldp-venv: the fixture folder is left as it is")
        return 0
    if not args.no_copy:
        copy_fixture(wdir, ref, args.fixture_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())

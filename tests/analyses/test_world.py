"""The simulated world: determinism, standard readers, and truth consistent with the genome."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pyBigWig
import pytest
from pyfaidx import Fasta
from pysnptools.snpreader import Bed

from analyses.world import build_world, world_config
from genocore.config import from_dict
from genocore.files import sha256
from genomodel import dna
from genomodel import synthetic as syn
from genomodel.io.motifs import read_meme


def _hashes(root):
    return {str(p.relative_to(root)): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.integration
def test_same_seed_gives_identical_bytes(tiny_world, tmp_path):
    again = tmp_path / "again"
    build_world(again, seed=7, cfg=world_config("tiny"))
    assert _hashes(again) == _hashes(tiny_world)
    other = tmp_path / "other"
    build_world(other, seed=8, cfg=world_config("tiny"))
    h1, h2 = _hashes(other), _hashes(tiny_world)
    assert h1.keys() == h2.keys()
    assert h1["genome/genome.fa"] != h2["genome/genome.fa"]


def test_files_read_with_standard_readers(tiny_world):
    fa = Fasta(str(tiny_world / "genome" / "genome.fa"))
    truth = json.loads((tiny_world / "truth.json").read_text())
    assert {k: len(fa[k]) for k in fa.keys()} == truth["chromosomes"]
    targets = pd.read_csv(tiny_world / "tracks" / "targets.txt", sep="\t")
    assert list(targets.columns) == ["index", "identifier", "file", "clip", "scale", "sum_stat", "description"]
    for f in targets.file:
        with pyBigWig.open(str(tiny_world / "tracks" / f)) as bw:
            assert bw.chroms() == truth["chromosomes"]
            v = bw.values("chr1", 0, 500_000, numpy=True)
            assert np.nansum(v) > 0
    bed = Bed(str(tiny_world / "genotypes" / "ref_panel.chr1"), count_A1=True)
    assert bed.iid_count == world_config("tiny").panel.n_reference
    assert bed.sid_count > 500


def test_bim_alleles_match_the_genome(tiny_world):
    fa = Fasta(str(tiny_world / "genome" / "genome.fa"))
    for chrom in ("chr1", "chr2"):
        bim = pd.read_csv(tiny_world / "genotypes" / f"gwas_cohort.{chrom}.bim", sep="\t", header=None)
        seq = str(fa[chrom][:])
        assert (bim[0].astype(str) == chrom.removeprefix("chr")).all()
        assert all(seq[p - 1] == a2 for p, a2 in zip(bim[3], bim[5]))  # A2 = REF
        assert (bim[4] != bim[5]).all()
        assert np.all(np.diff(bim[3]) > 0)


def test_truth_tables_consistent(tiny_world):
    truth = json.loads((tiny_world / "truth.json").read_text())
    te = pd.read_csv(tiny_world / "truth" / "snp_track_effects.tsv.gz", sep="\t")
    assert len(te) == truth["n_snps"] and list(te.columns[5:]) == truth["tracks"]
    ge = pd.read_csv(tiny_world / "truth" / "snp_gene_effects.tsv.gz", sep="\t")
    assert set(ge.snp) <= set(te.snp)
    # SNPs near elements move accessibility much more than SNPs far from everything
    el = pd.read_csv(tiny_world / "truth" / "elements.bed", sep="\t")
    d = np.array([np.min(np.abs(((el[el.chrom == c].start + el[el.chrom == c].end) // 2).to_numpy() - p))
                  for c, p in zip(te.chrom, te.pos)])
    dn = te.filter(like="DNASE").abs().max(axis=1).to_numpy()
    assert np.median(dn[d < 150]) > 3 * np.median(dn[d > 5000])


def test_finemap_causal_alt_creates_the_motif(tiny_world):
    truth = json.loads((tiny_world / "truth.json").read_text())
    fm = truth["finemap"]
    probs = read_meme(tiny_world / "genome" / "motifs.meme")[fm["motif"]]
    motif = syn.Motif(name=fm["motif"], role="", probs=probs)
    threshold = world_config("tiny").genome.threshold_fraction * motif.max_score
    te = pd.read_csv(tiny_world / "truth" / "snp_track_effects.tsv.gz", sep="\t").set_index("snp")
    row = te.loc[fm["causal_snp"]]
    seq = dna.encode(str(Fasta(str(tiny_world / "genome" / "genome.fa"))[row.chrom][:]))
    p = int(row.pos) - 1
    win = slice(p - motif.length + 1, p + motif.length)
    best = lambda s: max(syn.motif_scores(s[win], lo).max() for lo in (motif.log_odds, motif.log_odds_rc))
    alt = seq.copy()
    alt[p] = dna.encode(row.alt)[0]
    assert best(seq) < threshold <= best(alt)
    # and the created site raises accessibility in every cell type
    assert (row.filter(like="DNASE") > 0).all()
    loc = pd.read_csv(tiny_world / "finemap" / "locus.sumstats.tsv", sep="\t")
    lead_z = loc.set_index("SNP").Z.abs()[fm["lead_snp"]]
    assert lead_z == pytest.approx(loc.Z.abs().max(), rel=1e-5)
    assert fm["lead_p"] < 1e-6


def test_statistics_files_have_the_field_layouts(tiny_world):
    eq = pd.read_csv(tiny_world / "eqtl" / "Whole_Blood.allpairs.txt.gz", sep="\t")
    assert list(eq.columns[:7]) == ["gene_id", "variant_id", "tss_distance", "maf", "pval_nominal", "slope", "slope_se"]
    assert eq.pval_nominal.between(0, 1).all() and eq.significant.any()
    ss = pd.read_csv(tiny_world / "gwas" / "directional.sumstats.gz", sep="\t")
    assert list(ss.columns) == ["SNP", "A1", "A2", "N", "Z"] and np.isfinite(ss.Z).all()
    dn = pd.read_csv(tiny_world / "denovo" / "denovo_variants.tsv", sep="\t")
    assert set(dn.role) == {"case", "control"}
    truth = json.loads((tiny_world / "truth.json").read_text())
    assert truth["denovo"]["case_burden_share"] > truth["denovo"]["control_burden_share"]
    cat = pd.read_csv(tiny_world / "catalog" / "gwas_catalog_snps.tsv", sep="\t")
    assert set(cat.label) == {0, 1}


def test_world_config_rejects_unknown_keys():
    with pytest.raises(KeyError, match="cis_window"):
        world_config("tiny", {"cis_windw": 5})
    with pytest.raises(KeyError, match="n_reference"):
        world_config("tiny", {"panel": {"n_referense": 5}})
    with pytest.raises(ValueError, match="unknown world size"):
        world_config("huge")
    assert from_dict(type(world_config()), {}).cis_window == 50_000


@pytest.mark.integration
@pytest.mark.parametrize("cmd", ["genomodel", "genostats"])
def test_console_scripts_help_lists_subcommands(cmd):
    exe = __import__("shutil").which(cmd) or f"{sys.prefix}/bin/{cmd}"
    res = subprocess.run([exe, "--help"], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr
    expected = {"genomodel": ["simulate-genome"], "genostats": ["simulate-world", "ld-decay"]}[cmd]
    for sub in expected:
        assert sub in res.stdout

"""The two halves joined through their command lines, on the tiny world and a small random model:

- ``genomodel sed`` -> ``genostats covreg`` (SED rows meet the panel by chromosome, position and alleles);
- ``genomodel sad`` -> ``genostats sannot`` -> ``genostats sldp``.

A random model's scores carry no signal; what is tested is that each file one command writes is what
the next one reads, that rows are matched (not merely read), and that the outputs carry provenance.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from genocore.files import sha256, write_text
from genocore.scores import read_sad_h5, read_sed
from genomodel import cli as model_cli
from stats import cli as stats_cli

pytestmark = pytest.mark.integration

SEQ_LENGTH = 8192


def _params() -> dict:
    return {"model": {"seq_length": SEQ_LENGTH, "activation": "gelu", "norm_type": "batch", "bn_momentum": 0.9,
                      "trunk": [{"name": "conv_block", "filters": 8, "kernel_size": 15, "pool_size": 8},
                                {"name": "conv_tower", "filters_init": 8, "filters_mult": 1.25, "kernel_size": 5,
                                 "pool_size": 2, "repeat": 3},
                                {"name": "Cropping1D", "cropping": 4},
                                {"name": "conv_block", "filters": 8}],
                      "head_sim": {"name": "final", "units": 3, "activation": "softplus"}},
            "train": {"batch_size": 2}}


@pytest.fixture(scope="module")
def joined(tiny_world, tmp_path_factory):
    """A saved random model and a VCF of the reference panel's SNPs (named as the FASTA names them)."""
    from genomodel.config import params_from_dict
    from genomodel.model.seqnn import build_model, save_model

    root = tmp_path_factory.mktemp("joined")
    p = params_from_dict(_params())
    save_model(build_model(p.model, seed=5), p, root / "model")
    bims = [pd.read_csv(tiny_world / "genotypes" / f"ref_panel.chr{c}.bim", sep=r"\s+", header=None,
                        names=["chrom", "snp", "cm", "pos", "a1", "a2"], dtype={"chrom": str}) for c in (1, 2)]
    bim = pd.concat(bims, ignore_index=True)
    # the panel's A1 is the ALT allele, A2 the genome's base; the VCF names chromosomes chr1, chr2
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    lines += [f"chr{r.chrom}\t{r.pos}\t{r.snp}\t{r.a2}\t{r.a1}\t.\t.\t." for r in bim.itertuples()]
    write_text(root / "panel.vcf", "\n".join(lines) + "\n")
    return root


def test_genomodel_sed_feeds_genostats_covreg(tiny_world, joined):
    sed_path = joined / "sed.tsv"
    assert model_cli.main(["sed", "--model", str(joined / "model"), "--vcf", str(joined / "panel.vcf"),
                           "--fasta", str(tiny_world / "genome" / "genome.fa"),
                           "--gtf", str(tiny_world / "genome" / "genes.gtf"), "--out", str(sed_path)]) == 0
    sed = read_sed(sed_path)
    assert len(sed) > 100 and set(sed.chrom) == {"chr1", "chr2"}
    target = sed.columns[-1][len("SED_"):]
    out = joined / "covreg"
    eqtl = [tiny_world / "eqtl" / f"{t}.allpairs.txt.gz" for t in ("Liver", "Whole_Blood")]
    argv = ["covreg", "--eqtl", *map(str, eqtl), "--bfile-chr", str(tiny_world / "genotypes" / "ref_panel.chr{chrom}"),
            "--ld-blocks", str(tiny_world / "genotypes" / "ldblocks.bed"), "--build", "simworld1",
            "--gtf", str(tiny_world / "genome" / "genes.gtf"), "--sed", str(sed_path), "--sed-target", target,
            "--n-boot", "20", "--seed", "1", "--out", str(out)]
    assert stats_cli.main(argv) == 0
    summary = pd.read_csv(out / "covreg.tsv", sep="\t")
    assert summary.tissue.tolist() == ["Liver", "Whole_Blood"]
    assert (summary.n > 0).all() and np.isfinite(summary.ld_tss_coef).all()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["inputs"]["sed"]["sha256"] == sha256(sed_path) and prov["genome_build"] == "simworld1"
    assert set(prov["outputs"]) >= {"covreg.tsv", "quantiles.tsv", "Liver.png", "Whole_Blood.png", "panel.png"}


def test_genomodel_sad_feeds_genostats_sldp(tiny_world, joined):
    sad_path = joined / "sad.h5"
    assert model_cli.main(["sad", "--model", str(joined / "model"), "--vcf", str(joined / "panel.vcf"),
                           "--fasta", str(tiny_world / "genome" / "genome.fa"), "--out", str(sad_path)]) == 0
    scores = read_sad_h5(sad_path, stats=["SAD"])
    panel = str(tiny_world / "genotypes" / "ref_panel.chr{chrom}")
    annot = joined / "annot" / "sad."
    assert stats_cli.main(["sannot", "--scores", str(sad_path), "--bfile-chr", panel, "--out", str(annot)]) == 0
    s1 = pd.read_csv(str(annot) + "1.sannot.gz", sep="\t")
    bim = pd.read_csv(tiny_world / "genotypes" / "ref_panel.chr1.bim", sep=r"\s+", header=None,
                      names=["chrom", "snp", "cm", "pos", "a1", "a2"])
    # every panel SNP of chr1 met its scored variant by position and alleles, oriented to the panel's A1;
    # strand-ambiguous SNPs (A/T, C/G) are left out, as sldp and ldsc leave them out
    from stats.alleles import is_strand_ambiguous

    bim = bim[~is_strand_ambiguous(bim.a1, bim.a2)]
    assert s1.SNP.tolist() == bim.snp.tolist() and (s1.A1 == bim.a1.to_numpy()).all()
    v = scores.variants.set_index("snp")
    sad0 = pd.Series(scores.stats["SAD"][:, 0], index=v.index)
    # .sannot.gz keeps 6 significant digits (the sad.h5 holds float16, about 3)
    np.testing.assert_allclose(s1[scores.target_ids[0]].to_numpy(), sad0.loc[s1.SNP].to_numpy(), rtol=5e-6)
    for c in (1, 2):
        assert stats_cli.main(["ldscore", "--bfile", panel.format(chrom=c), "--ld-wind-cm", "1",
                               "--out", str(joined / "ld" / str(c))]) == 0
    gw = joined / "trait.gwresults"
    assert stats_cli.main(["sldp", "--bfile-chr", panel, "--ld-blocks", str(tiny_world / "genotypes" / "ldblocks.bed"),
                           "--sumstats", str(tiny_world / "gwas" / "directional.sumstats.gz"),
                           "--sannot-chr", str(annot), "--ldscores-chr", str(joined / "ld" / "{chrom}"),
                           "--build", "simworld1", "--no-signflip", "--out", str(gw)]) == 0
    table = pd.read_csv(gw, sep="\t")
    assert sorted(table.annot) == sorted(f"{t}.R" for t in scores.target_ids)
    assert np.isfinite(table.z_fast).all()
    prov = json.loads(gw.with_name(gw.name + ".provenance.json").read_text())
    assert prov["genome_build"] == "simworld1" and "sumstats_0" in prov["inputs"]


# the tiny world's chromosomes moved onto hg38: chr1 across an LD-block boundary of the real hg38 block set,
# chr2 onto chr6 just past the hg38 MHC (chr6:28,510,120-33,480,577), partly in a block that overlaps it
HG38_PLACES = {"1": ("1", 2_650_000), "2": ("6", 33_700_000)}


def _moved_panel(world, out) -> str:
    import shutil

    for c, (to, offset) in HG38_PLACES.items():
        src = world / "genotypes" / f"ref_panel.chr{c}"
        for ext in ("bed", "fam"):
            shutil.copy(f"{src}.{ext}", out / f"panel.chr{to}.{ext}")
        bim = pd.read_csv(f"{src}.bim", sep=r"\s+", header=None, dtype={0: str})
        bim[0], bim[3] = to, bim[3] + offset
        bim.to_csv(out / f"panel.chr{to}.bim", sep="\t", header=False, index=False)
    return str(out / "panel.chr{chrom}")


def _moved_table(path, out, *, chrom: str, pos: str, prefix: str = "chr") -> None:
    t = pd.read_csv(path, sep="\t", dtype={chrom: str})
    bare = t[chrom].str.replace("chr", "", regex=False)
    t[pos] = t[pos] + bare.map(lambda c: HG38_PLACES[c][1])
    t[chrom] = prefix + bare.map(lambda c: HG38_PLACES[c][0])
    t.to_csv(out, sep="\t", index=False)


def _moved_eqtl(path, out) -> None:
    t = pd.read_csv(path, sep="\t")
    parts = t.variant_id.str.split("_", expand=True)
    c = parts[0].str.replace("chr", "", regex=False)
    t["variant_id"] = ("chr" + c.map(lambda x: HG38_PLACES[x][0]) + "_"
                       + (parts[1].astype(int) + c.map(lambda x: HG38_PLACES[x][1])).astype(str)
                       + "_" + parts[2] + "_" + parts[3] + "_b38")
    t.to_csv(out, sep="\t", index=False)


def _moved_gtf(path, out) -> None:
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        f = line.split("\t")
        to, offset = HG38_PLACES[f[0].replace("chr", "")]
        f[0], f[3], f[4] = f"chr{to}", str(int(f[3]) + offset), str(int(f[4]) + offset)
        rows.append("\t".join(f))
    out.write_text("#!genome-build GRCh38\n" + "\n".join(rows) + "\n")


def test_an_hg38_panel_with_the_real_hg38_blocks_and_mhc(tiny_world, joined, shared_data, tmp_path, caplog):
    """SLDP and the covariate regression on an hg38 panel with the published hg38 block set: blocks
    overlapping the hg38 MHC leave SLDP, SNPs inside it leave the covariate regression, and chr6 SNPs past
    its end (inside hg19's MHC) stay."""
    import logging

    blocks = shared_data / "ldblocks" / "deCODE_EUR_LD_blocks.bed"
    panel = _moved_panel(tiny_world, tmp_path)
    sed = joined / "sed_hg38_src.tsv"
    assert model_cli.main(["sed", "--model", str(joined / "model"), "--vcf", str(joined / "panel.vcf"),
                           "--fasta", str(tiny_world / "genome" / "genome.fa"),
                           "--gtf", str(tiny_world / "genome" / "genes.gtf"), "--out", str(sed)]) == 0
    _moved_table(sed, tmp_path / "sed.tsv", chrom="chrom", pos="pos")
    _moved_gtf(tiny_world / "genome" / "genes.gtf", tmp_path / "genes.gtf")
    _moved_eqtl(tiny_world / "eqtl" / "Liver.allpairs.txt.gz", tmp_path / "Liver.allpairs.txt.gz")
    target = pd.read_csv(sed, sep="\t", nrows=1).columns[-1][len("SED_"):]
    caplog.set_level(logging.INFO)
    assert stats_cli.main(["covreg", "--eqtl", str(tmp_path / "Liver.allpairs.txt.gz"), "--bfile-chr", panel,
                           "--ld-blocks", str(blocks), "--build", "hg38", "--gtf", str(tmp_path / "genes.gtf"),
                           "--sed", str(tmp_path / "sed.tsv"), "--sed-target", target, "--n-boot", "0",
                           "--out", str(tmp_path / "covreg")]) == 0
    assert "panel.chr6: 1229 SNPs; 0 in the MHC (hg38) left out, 0 not in the SNP subset, 0 in no LD block" in caplog.text
    summary = pd.read_csv(tmp_path / "covreg" / "covreg.tsv", sep="\t")
    assert summary.n.iloc[0] > 0 and np.isfinite(summary.ld_tss_coef).all()
    # SLDP: the annotation and LD scores of the moved panel
    annot, sad = tmp_path / "annot" / "sad.", tmp_path / "sad.h5"
    assert model_cli.main(["sad", "--model", str(joined / "model"), "--vcf", str(joined / "panel.vcf"),
                           "--fasta", str(tiny_world / "genome" / "genome.fa"), "--out", str(sad)]) == 0
    assert stats_cli.main(["sannot", "--scores", str(sad), "--bfile-chr",
                           str(tiny_world / "genotypes" / "ref_panel.chr{chrom}"), "--out", str(annot)]) == 0
    for c, (to, _) in HG38_PLACES.items():
        t = pd.read_csv(f"{annot}{c}.sannot.gz", sep="\t").assign(CHR=int(to))
        t.to_csv(f"{annot}hg38.{to}.sannot.gz", sep="\t", index=False)
        assert stats_cli.main(["ldscore", "--bfile", panel.format(chrom=to), "--out", str(tmp_path / "ld" / to)]) == 0
    caplog.clear()
    gw = tmp_path / "hg38.gwresults"
    assert stats_cli.main(["sldp", "--bfile-chr", panel, "--ld-blocks", str(blocks), "--sumstats",
                           str(tiny_world / "gwas" / "directional.sumstats.gz"), "--sannot-chr", f"{annot}hg38.",
                           "--ldscores-chr", str(tmp_path / "ld" / "{chrom}"), "--build", "hg38", "--no-signflip",
                           "--out", str(gw)]) == 0
    assert "dropped 4 LD block(s) overlapping the hg38 MHC (chr6:28510120-33480577)" in caplog.text
    chunks = pd.read_csv(gw, sep="\t")
    assert np.isfinite(chunks.z_fast).all() and len(chunks) == len(read_sad_h5(sad).target_ids)
    assert "(3 with regression SNPs and a non-zero annotation)" in caplog.text  # chr1: 2; chr6: 1 past the MHC


def test_genostats_sites_turns_an_eqtl_table_into_what_genomodel_scores(tiny_world, joined, tmp_path):
    """A GTEx-format table -> genostats sites -> genomodel sed: every distinct variant of the table scored
    (IDs kept), with no hand-made VCF."""
    table = pd.read_csv(tiny_world / "eqtl" / "Liver.allpairs.txt.gz", sep="\t")
    vcf = tmp_path / "sites.vcf.gz"
    assert stats_cli.main(["sites", "--input", str(tiny_world / "eqtl" / "Liver.allpairs.txt.gz"),
                           "--out", str(vcf)]) == 0
    sites = pd.read_csv(vcf, sep="\t", comment="#", header=None, names=["chrom", "pos", "id", "ref", "alt", "q", "f", "i"])
    assert sorted(sites.id) == sorted(table.variant_id.unique())
    assert (sites.groupby("chrom").pos.diff().dropna() >= 0).all()  # sorted within each chromosome
    out = tmp_path / "sed.tsv"
    assert model_cli.main(["sed", "--model", str(joined / "model"), "--vcf", str(vcf), "--fasta",
                           str(tiny_world / "genome" / "genome.fa"), "--gtf", str(tiny_world / "genome" / "genes.gtf"),
                           "--out", str(out)]) == 0
    assert set(read_sed(out).snp) <= set(table.variant_id) and len(read_sed(out)) > 0
    # the panel's .bim files, merged, as the SNPs genomodel sad scores for SLDP (REF/ALT put right by --ref-policy)
    panel_vcf = tmp_path / "panel.vcf"
    bims = [str(tiny_world / "genotypes" / f"ref_panel.chr{c}.bim") for c in (2, 1)]
    assert stats_cli.main(["sites", "--input", *bims, "--out", str(panel_vcf)]) == 0
    got = pd.read_csv(panel_vcf, sep="\t", comment="#", header=None).iloc[:, :5]
    want = pd.read_csv(joined / "panel.vcf", sep="\t", comment="#", header=None).iloc[:, :5]
    want[0] = want[0].str.replace("chr", "").astype(int)  # the .bim names chromosomes 1, 2
    assert got.values.tolist() == want.values.tolist()  # chr1 first, as the hand-made VCF of this module
    with pytest.raises(ValueError, match="A1/A2 do not say which allele"):
        from stats.io.sites import variant_sites

        variant_sites(pd.DataFrame({"CHR": ["1"], "BP": [5], "A1": ["A"], "A2": ["G"]}))

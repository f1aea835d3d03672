"""``genostats covreg`` on the tiny world with the planted true SED, and its bad-input exits."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stats import cli


def _args(world: Path, sed: Path, out: Path, eqtl=None) -> list[str]:
    eqtl = eqtl or sorted((world / "eqtl").glob("*.allpairs.txt.gz"))
    return (["covreg", "--eqtl", *map(str, eqtl), "--bfile-chr", str(world / "genotypes" / "ref_panel.chr{chrom}"),
             "--ld-blocks", str(world / "genotypes" / "ldblocks.bed"), "--build", "simworld1",
             "--gtf", str(world / "genome" / "genes.gtf"), "--sed", str(sed), "--n-boot", "50", "--seed", "1",
             "--out", str(out)])


def _sed_table(world: Path, cells) -> pd.DataFrame:
    """The world's true SED of some cell types in the layout ``genomodel sed`` writes (alt minus ref)."""
    eff = pd.read_csv(world / "truth" / "snp_gene_effects.tsv.gz", sep="\t")
    al = pd.read_csv(world / "truth" / "snp_track_effects.tsv.gz", sep="\t",
                     usecols=["snp", "chrom", "pos", "ref", "alt"])
    sed = eff.merge(al, on="snp", validate="many_to_one").assign(n_tss_bins=1)
    sed = sed.rename(columns={c: f"SED_{c}" for c in cells})
    return sed[["chrom", "pos", "ref", "alt", "snp", "gene_id", "n_tss_bins"] + [f"SED_{c}" for c in cells]]


@pytest.fixture(scope="module")
def world_sed(tiny_world, tmp_path_factory):
    """The true SED of Whole_Blood's cell type per SNP-gene pair, as genomodel sed writes it."""
    cell = json.loads((tiny_world / "truth.json").read_text())["eqtl"]["Whole_Blood"]["cell_type"]
    path = tmp_path_factory.mktemp("sed") / "sed.tsv.gz"
    _sed_table(tiny_world, [cell]).to_csv(path, sep="\t", index=False)
    return path


def test_covreg_command_true_sed(tiny_world, world_sed, tmp_path):
    out = tmp_path / "res"
    tissues = ["Liver", "Whole_Blood"]
    eqtl = [tiny_world / "eqtl" / f"{t}.allpairs.txt.gz" for t in tissues]
    assert cli.main(_args(tiny_world, world_sed, out, eqtl)) == 0
    summary = pd.read_csv(out / "covreg.tsv", sep="\t")
    assert summary["tissue"].tolist() == tissues
    assert set(summary["annotation"]) == {"SED"} and set(summary["unit"]) == {"pair"}
    assert (summary["snps_kept"] < summary["snps"]).all() and (summary["pairs_kept"] <= summary["pairs_matched"]).all()
    # |SED-LD| of Whole_Blood's cell type's true SED: significant in its own tissue with and without the TSS
    # covariates; in Liver it only marks TSS proximity, which the covariates absorb (regulation is cell-type specific)
    assert (summary["ld_coef"] > 0).all() and (summary["ld_p"] < 1e-6).all()
    wb, liver = summary.set_index("tissue").loc["Whole_Blood"], summary.set_index("tissue").loc["Liver"]
    assert wb["ld_tss_coef"] > 0 and wb["ld_tss_p"] < 1e-6 and wb["ld_tss_t"] > abs(liver["ld_tss_t"])
    assert wb["ld_tss_p_cluster"] < 0.05 and wb["enrichment"] > 1.3 and wb["enrichment_lo"] > 1
    q = pd.read_csv(out / "quantiles.tsv", sep="\t")
    assert len(q) == 5 * len(tissues) and q["quantile"].tolist() == [1, 2, 3, 4, 5] * len(tissues)
    for t in tissues:
        assert (out / f"{t}.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "panel.png").stat().st_size > 1000
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["config"]["prune_r2"] == 0.5 and prov["config"]["unit"] == "pair"
    assert not list(tmp_path.glob("*.tmp"))


def test_covreg_command_per_snp(tiny_world, world_sed, tmp_path):
    """--unit snp: chi^2 and |SED-LD| per SNP (max over its genes)."""
    path = world_sed
    out = tmp_path / "snp"
    eqtl = [tiny_world / "eqtl" / "Whole_Blood.allpairs.txt.gz"]
    assert cli.main(_args(tiny_world, path, out, eqtl) + ["--unit", "snp", "--n-boot", "0", "--shuffles", "9",
                                                          "--scale", "sqrt"]) == 0
    s = pd.read_csv(out / "covreg.tsv", sep="\t")
    assert s["unit"].tolist() == ["snp"] and s["n"].iat[0] == s["snps_kept"].iat[0]
    assert s["scale"].iat[0] == "sqrt" and json.loads((out / "provenance.json").read_text())["config"]["scale"] == "sqrt"
    assert s["ld_tss_coef"].iat[0] > 0
    # --shuffles: the permutation p of |SED-LD| (per-SNP SED shuffled over the tested SNPs)
    assert s["n_shuffles"].iat[0] == 9 and s["t_shuffle"].iat[0] == pytest.approx(s["ld_tss_z_cluster"].iat[0])
    assert s["p_shuffle"].iat[0] in [k / 10 for k in range(1, 11)]


def test_covreg_eqtl_matching_nothing_exits_2(tiny_world, world_sed, tmp_path, caplog):
    src = tiny_world / "eqtl" / "Liver.allpairs.txt.gz"
    bad = tmp_path / "Moved.allpairs.txt.gz"
    with gzip.open(src, "rt") as f, gzip.open(bad, "wt") as g:
        for i, line in enumerate(f):
            if i:  # move every variant 7 bp away from the panel's positions
                gene, var, rest = line.split("\t", 2)
                chrom, pos, ref, alt, build = var.split("_", 4)
                line = "\t".join([gene, "_".join([chrom, str(int(pos) + 7), ref, alt, build]), rest])
            g.write(line)
    out = tmp_path / "bad"
    assert cli.main(_args(tiny_world, world_sed, out, [bad])) == 2
    assert str(bad) in caplog.text and "matches a panel SNP" in caplog.text
    assert not list(tmp_path.glob("bad*"))


def test_covreg_sed_of_several_targets_needs_one_named(tiny_world, tmp_path, caplog):
    cells = sorted({v["cell_type"] for v in json.loads((tiny_world / "truth.json").read_text())["eqtl"].values()})
    path = tmp_path / "sed2.tsv"
    _sed_table(tiny_world, cells[:2]).to_csv(path, sep="\t", index=False)
    out = tmp_path / "x"
    assert cli.main(_args(tiny_world, path, out)) == 2
    assert str(path) in caplog.text and "name the one to use" in caplog.text
    assert not list(tmp_path.glob("x*"))
    assert cli.main(_args(tiny_world, path, out, [tiny_world / "eqtl" / "Liver.allpairs.txt.gz"])
                    + ["--sed-target", cells[1], "--n-boot", "0"]) == 0
    assert pd.read_csv(out / "covreg.tsv", sep="\t")["tissue"].tolist() == ["Liver"]


def test_covreg_sed_matched_by_id_only_is_refused(tiny_world, world_sed, tmp_path, caplog):
    """A table with panel IDs but no chromosome, position and alleles does not meet the panel."""
    path = tmp_path / "ids.tsv"
    pd.read_csv(world_sed, sep="\t").drop(columns=["chrom", "pos"]).to_csv(path, sep="\t", index=False)
    assert cli.main(_args(tiny_world, path, tmp_path / "y")) == 2
    assert str(path) in caplog.text and "chrom" in caplog.text


def test_covreg_help_needs_no_data(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["covreg", "--help"])
    assert e.value.code == 0 and "--sed-target" in capsys.readouterr().out


def test_covreg_significance_from_p_or_q_when_the_table_has_no_flag(tiny_world, world_sed, tmp_path, caplog):
    from statsmodels.stats.multitest import multipletests

    from stats.eqtl.pairs import significance

    src = tiny_world / "eqtl" / "Whole_Blood.allpairs.txt.gz"
    table = pd.read_csv(src, sep="\t")
    bare = tmp_path / "Whole_Blood.allpairs.txt.gz"  # as GTEx ships allpairs: no flag, no q-value
    table.drop(columns=["significant", "qval"]).to_csv(bare, sep="\t", index=False)
    out = tmp_path / "res"
    assert cli.main(_args(tiny_world, world_sed, out, [bare]) + ["--n-boot", "0"]) == 2
    assert "--significant-p" in caplog.text and "--significant-q" in caplog.text and not out.exists()
    # the flags, against statsmodels' Benjamini-Hochberg and a plain threshold
    want_q = multipletests(table.pval_nominal, method="fdr_bh")[1] <= 0.05
    np.testing.assert_array_equal(significance(table, "bh_q<=0.05", what="t"), want_q)
    np.testing.assert_array_equal(significance(table, "pval_nominal<=1e-4", what="t"), table.pval_nominal <= 1e-4)
    for opt, value in (("--significant-q", "0.05"), ("--significant-p", "1e-4")):
        res = tmp_path / opt.strip("-")
        assert cli.main(_args(tiny_world, world_sed, res, [bare]) + ["--n-boot", "0", opt, value]) == 0
        s = pd.read_csv(res / "covreg.tsv", sep="\t")
        assert 0 < s["n_significant"].iat[0] < s["n"].iat[0]
    with pytest.raises(SystemExit) as stop:  # argparse: the two thresholds exclude each other
        cli.main(_args(tiny_world, world_sed, tmp_path / "both", [bare]) + ["--significant-p", "1e-4",
                                                                            "--significant-q", "0.05"])
    assert stop.value.code == 2


def test_covreg_on_a_panel_without_a_genetic_map_takes_a_kb_window(tiny_world, world_sed, tmp_path, caplog):
    import shutil

    panel = tmp_path / "panel"
    panel.mkdir()
    for f in (tiny_world / "genotypes").glob("ref_panel.chr*"):
        shutil.copy(f, panel / f.name)
    for bim in panel.glob("*.bim"):  # as real 1000 Genomes panels come: cM all 0
        t = pd.read_csv(bim, sep="\t", header=None)
        t[2] = 0
        t.to_csv(bim, sep="\t", header=False, index=False)
    eqtl = [tiny_world / "eqtl" / "Whole_Blood.allpairs.txt.gz"]
    argv = _args(tiny_world, world_sed, tmp_path / "cm", eqtl)
    argv[argv.index("--bfile-chr") + 1] = str(panel / "ref_panel.chr{chrom}")
    argv += ["--n-boot", "0"]
    assert cli.main(argv) == 2
    assert "cM column is 0" in caplog.text and "--ld-wind-kb" in caplog.text
    kb = argv[:-2] + ["--n-boot", "0", "--ld-wind-kb", "500"]
    kb[kb.index("--out") + 1] = str(tmp_path / "kb")
    assert cli.main(kb) == 0
    s = pd.read_csv(tmp_path / "kb" / "covreg.tsv", sep="\t")
    assert s["n"].iat[0] > 0 and np.isfinite(s["ld_tss_t"].iat[0])
    assert json.loads((tmp_path / "kb" / "provenance.json").read_text())["config"]["ld_wind_kb"] == 500


@pytest.mark.integration
def test_covreg_shuffles_killed_then_resumed_give_the_same_tables(tiny_world, world_sed, tmp_path, caplog):
    """SIGKILL after a seeded number of finished batches of shuffles; --resume reads them back (drawing the
    same shuffles, so the generator stays in step): every table equals an uninterrupted run's."""
    from _kill import kill_after

    out = tmp_path / "killed"
    parts = Path(str(out) + ".parts")
    args = [*_args(tiny_world, world_sed, out)[:-2], "--shuffles", "99", "--n-boot", "20"]
    k = int(np.random.default_rng(5).integers(2, 9))
    n_done = kill_after("genostats", [*args, "--out", out], lambda: len(list(parts.glob("*.done"))), k)
    assert k <= n_done < 12 and not out.exists()
    assert cli.main([*args, "--seed", "2", "--out", str(out), "--resume"]) == 2 and "seed: 1 then, 2 now" in caplog.text
    assert cli.main([*args, "--out", str(out), "--resume"]) == 0 and not parts.exists()
    assert "batch(es) of shuffles read back" in caplog.text
    assert cli.main([*args, "--out", str(tmp_path / "whole")]) == 0
    for name in ("covreg.tsv", "quantiles.tsv"):
        assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    assert pd.read_csv(out / "covreg.tsv", sep="\t").n_shuffles.eq(99).all()

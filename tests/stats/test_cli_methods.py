"""``genostats clusters | classify | casecontrol | pics`` on tiny inputs built here: outputs, provenance
sidecars and the exit-2 paths (a one-line message naming the file or record)."""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from stats import cli
from stats.io.plink import write_bfile


def _png(path: Path) -> bool:
    return path.read_bytes()[:4] == b"\x89PNG"


def test_help_lists_the_method_commands(capsys):
    with pytest.raises(SystemExit) as e:
        cli.get_parser().parse_args(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in ("clusters", "classify", "casecontrol", "pics"):
        assert name in out
    for name in ("clusters", "classify", "casecontrol", "pics"):
        with pytest.raises(SystemExit) as e:
            cli.get_parser().parse_args([name, "--help"])
        assert e.value.code == 0


# ------------------------------------------------------------------------------------------------ clusters
def _expression(tmp_path, rng):
    genes = [f"g{i}" for i in range(80)]
    samples = [f"s{j}" for j in range(10)]
    centers = rng.normal(0, 3, (3, 10))
    obs = centers[rng.integers(0, 3, 80)] + rng.normal(0, 1, (80, 10))
    pred = obs + rng.normal(0, 0.5, obs.shape)
    o = pd.DataFrame(obs, columns=samples).assign(gene_id=genes)[["gene_id", *samples]]
    # predicted: other column order, other row order, one extra gene; joined on gene_id
    p = pd.DataFrame(pred, columns=samples).assign(gene_id=genes)[["gene_id", *samples[::-1]]].iloc[::-1]
    p = pd.concat([p, pd.DataFrame([["extra", *range(10)]], columns=["gene_id", *samples[::-1]])])
    o.to_csv(tmp_path / "obs.tsv", sep="\t", index=False)
    p.to_csv(tmp_path / "pred.tsv", sep="\t", index=False)
    return tmp_path / "obs.tsv", tmp_path / "pred.tsv"


def test_clusters_writes_tables_png_and_provenance(tmp_path):
    obs, pred = _expression(tmp_path, np.random.default_rng(1))
    out = tmp_path / "res" / "cl"
    argv = ["clusters", "--observed", str(obs), "--predicted", str(pred), "--n-genes", "60", "--sample-size", "40",
            "--components", "3", "--bootstrap", "4", "--permutations", "2", "--seed", "3", "--out", str(out)]
    assert cli.main(argv) == 0
    summ = pd.read_csv(out / "summary.tsv", sep="\t")
    assert summ.loc[0, "ari_mean"] > 0.5 and summ.loc[0, "n_genes"] == 60 and summ.loc[0, "n_genes_input"] == 80
    ari = pd.read_csv(out / "ari.tsv", sep="\t")
    assert list(ari.kind.value_counts().sort_index()) == [4, 2]
    assert ari[ari.kind == "bootstrap"].ari.mean() == pytest.approx(summ.loc[0, "ari_mean"], rel=1e-5)
    assert _png((out / "heatmap.png"))
    prov = json.loads((out / "provenance.json").read_text())
    assert set(prov["inputs"]) == {"observed", "predicted"} and set(prov["outputs"]) == {"summary.tsv", "ari.tsv", "heatmap.png"}
    assert prov["config"]["components"] == 3 and prov["command"].startswith("genostats clusters")


def test_clusters_bad_input_exits_2(tmp_path, caplog):
    obs, pred = _expression(tmp_path, np.random.default_rng(2))
    out = tmp_path / "cl"
    base = ["clusters", "--observed", str(obs), "--predicted", str(pred), "--components", "3", "--bootstrap", "3",
            "--out", str(out)]
    assert cli.main([*base, "--n-genes", "500", "--sample-size", "40"]) == 2
    assert "fewer genes than requested" in caplog.text and "obs.tsv" in caplog.text
    bad = tmp_path / "bad.tsv"
    bad.write_text("gene_id\ts0\ts1\ng1\t1.0\t2\ng2\tx\t3\n")
    assert cli.main(["clusters", "--observed", str(bad), "--predicted", str(pred), "--out", str(out)]) == 2
    assert "bad.tsv, line 3" in caplog.text and "'s0'" in caplog.text
    assert cli.main(["clusters", "--observed", str(tmp_path / "none.tsv"), "--predicted", str(pred),
                     "--out", str(out)]) == 2
    assert "none.tsv: no such file" in caplog.text
    assert not (out / "summary.tsv").exists()


# ------------------------------------------------------------------------------------------------ classify
def _snps(tmp_path, rng, n=240):
    snp = np.array([f"rs{i}" for i in range(n)])
    y = (rng.random(n) < 0.3).astype(int)
    chrom = np.array([f"chr{c}" for c in rng.integers(1, 5, n)])
    x = rng.normal(size=(n, 6)).astype(np.float32)
    x[:, :2] += 1.5 * y[:, None]
    with h5py.File(tmp_path / "sad.h5", "w") as h5:                # basenji's layout
        h5["snp"] = snp.astype("S")
        h5["chr"] = chrom.astype("S")
        h5["target_ids"] = np.array([f"T{j}" for j in range(6)], dtype="S")
        h5["target_labels"] = np.array([f"track {j}" for j in range(6)], dtype="S")
        h5["LOG2MAX"] = np.abs(x).astype(np.float16)
        h5["SAD"] = x.astype(np.float16)
    pd.DataFrame({"snp": snp, "chrom": chrom, "label": y}).to_csv(tmp_path / "labels.tsv", sep="\t", index=False)
    pd.DataFrame({"snp": snp[::-1], "deepsea": rng.normal(size=n)}).to_csv(tmp_path / "ext.tsv", sep="\t", index=False)
    pd.DataFrame({"snp": snp, "n1": rng.normal(size=n), "n2": rng.normal(size=n)}).to_csv(
        tmp_path / "noise.tsv", sep="\t", index=False)
    return snp, y, chrom


def test_classify_writes_tables_png_and_provenance(tmp_path):
    snp, y, _ = _snps(tmp_path, np.random.default_rng(4))
    out = tmp_path / "clf"
    argv = ["classify", "--labels", str(tmp_path / "labels.tsv"), "--features", f"basenji={tmp_path / 'sad.h5'}",
            "--features", f"noise={tmp_path / 'noise.tsv'}", "--external", f"deepsea={tmp_path / 'ext.tsv'}",
            "--compare", "permutation", "--permutations", "9", "--seed", "1", "--out", str(out)]
    assert cli.main(argv) == 0
    auc = pd.read_csv(out / "auroc.tsv", sep="\t").set_index("name")
    assert list(auc.index) == ["basenji", "noise", "basenji+deepsea", "noise+deepsea", "deepsea"]
    assert auc.loc["basenji", "auc"] > 0.8 and auc.loc["basenji", "p_permutation"] == pytest.approx(0.1)
    assert auc.loc["basenji+deepsea", "n_features"] == 7 and auc.delong_kind.str.startswith("descriptive").all()
    pairs = pd.read_csv(out / "pairs.tsv", sep="\t")
    assert len(pairs) == 10 and (pairs.kind == "permutation").all()
    folds = pd.read_csv(out / "folds.tsv", sep="\t")
    assert len(folds) == 5 * 4 and set(folds.groups) == {"chr1", "chr2", "chr3", "chr4"}
    sc = pd.read_csv(out / "scores.tsv", sep="\t")
    assert len(sc) == len(snp) and list(sc.columns[:3]) == ["snp", "chrom", "label"]
    np.testing.assert_array_equal(sc.set_index("snp").label.loc[snp], y)
    assert _png((out / "roc.png"))
    prov = json.loads((out / "provenance.json").read_text())
    assert {"labels", "features_basenji", "features_noise", "external_deepsea"} == set(prov["inputs"])


def test_classify_maf_matched_negatives(tmp_path):
    rng = np.random.default_rng(5)
    snp, y, chrom = _snps(tmp_path, rng)
    maf = rng.uniform(0.05, 0.5, len(snp))
    tab = pd.DataFrame({"snp": snp, "chrom": chrom, "maf": maf})
    tab[y == 1].to_csv(tmp_path / "pos.tsv", sep="\t", index=False)
    tab[y == 0].to_csv(tmp_path / "cand.tsv", sep="\t", index=False)
    out = tmp_path / "m"
    argv = ["classify", "--positives", str(tmp_path / "pos.tsv"), "--candidates", str(tmp_path / "cand.tsv"),
            "--negatives-per-positive", "1", "--features", f"b={tmp_path / 'sad.h5'}", "--out", str(out)]
    assert cli.main(argv) == 0
    sc = pd.read_csv(out / "scores.tsv", sep="\t")
    assert sc.label.sum() == y.sum() and (sc.label == 0).sum() == y.sum()
    assert pd.read_csv(out / "pairs.tsv", sep="\t").empty


def test_classify_bad_input_exits_2(tmp_path, caplog):
    _snps(tmp_path, np.random.default_rng(6))
    out = tmp_path / "clf"
    (tmp_path / "nolabel.tsv").write_text("snp\tchrom\nrs1\tchr1\n")
    assert cli.main(["classify", "--labels", str(tmp_path / "nolabel.tsv"), "--features",
                     f"b={tmp_path / 'sad.h5'}", "--out", str(out)]) == 2
    assert "nolabel.tsv: lacks column(s) ['label']" in caplog.text
    (tmp_path / "lab2.tsv").write_text("snp\tchrom\tlabel\nrs1\tchr1\t1\nrs2\tchr1\t2\n")
    assert cli.main(["classify", "--labels", str(tmp_path / "lab2.tsv"), "--features",
                     f"b={tmp_path / 'sad.h5'}", "--out", str(out)]) == 2
    assert "lab2.tsv, line 3: label 2" in caplog.text
    assert cli.main(["classify", "--labels", str(tmp_path / "labels.tsv"), "--features",
                     f"b={tmp_path / 'sad.h5'}", "--stat", "SED", "--out", str(out)]) == 2
    assert "sad.h5" in caplog.text and "no statistic 'SED'" in caplog.text
    assert cli.main(["classify", "--labels", str(tmp_path / "labels.tsv"), "--features",
                     f"b={tmp_path / 'sad.h5'}", "--compare", "permutation", "--out", str(out)]) == 2
    assert "--permutations" in caplog.text
    with pytest.raises(SystemExit) as e:                        # argparse: NAME=PATH required
        cli.main(["classify", "--labels", "x", "--features", "nopath", "--out", str(out)])
    assert e.value.code == 2
    assert not (out / "auroc.tsv").exists()


# ------------------------------------------------------------------------------------------------ casecontrol
def _denovo(tmp_path, rng, n_fam=30):
    rows, ids = [], []
    for f in range(n_fam):
        for role in ("case", "control"):
            for k in range(3):
                ids.append(f"v{f}_{role}_{k}")
                rows.append({"variant_id": ids[-1], "family": f"F{f}", "role": role})
    v = pd.DataFrame(rows)
    v.to_csv(tmp_path / "variants.tsv", sep="\t", index=False)
    labels = ["brain cortex", "brain cerebellum", "liver", "heart"]
    s = rng.normal(0, 1, (len(v), 4))
    s[(v.role == "case").to_numpy()[:, None] & np.array([True, True, False, False])[None, :]] -= 1.0
    with h5py.File(tmp_path / "dn_sad.h5", "w") as h5:
        h5["snp"] = np.array(ids, dtype="S")
        h5["target_ids"] = np.array([f"T{j}" for j in range(4)], dtype="S")
        h5["target_labels"] = np.array(labels, dtype="S")
        h5["SAD"] = s.astype(np.float16)
    return v


def test_casecontrol_writes_folder(tmp_path):
    _denovo(tmp_path, np.random.default_rng(7))
    out = tmp_path / "cc"
    argv = ["casecontrol", "--variants", str(tmp_path / "variants.tsv"), "--scores", str(tmp_path / "dn_sad.h5"),
            "--group", "brain", "--pca-components", "3", "--pca-transform", "asinh", "--out", str(out)]
    assert cli.main(argv) == 0
    assert {p.name for p in out.iterdir()} == {"datasets.tsv", "pca.tsv", "risk.tsv", "family_pairs.tsv",
                                               "summary.json", "volcano.png", "provenance.json"}
    ds = pd.read_csv(out / "datasets.tsv", sep="\t").set_index("dataset")
    assert ds.loc["brain cortex", "p_less"] < 0.01 and ds.loc["brain cortex", "effect"] < 0
    summ = json.loads((out / "summary.json").read_text())
    assert summ["risk_dataset"].startswith("brain") and summ["family"]["n_families"] == 30
    assert summ["group"]["group"] == "brain"
    assert len(pd.read_csv(out / "family_pairs.tsv", sep="\t")) == 30
    assert _png(out / "volcano.png")
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["outputs"]["datasets.tsv"]["path"] == "datasets.tsv" and "scores" in prov["inputs"]
    assert cli.main(argv) == 2                                    # existing folder without --force
    assert cli.main([*argv, "--force"]) == 0


def test_casecontrol_bad_input_exits_2(tmp_path, caplog):
    v = _denovo(tmp_path, np.random.default_rng(8))
    out = tmp_path / "cc"
    v.assign(role=np.where(v.role == "case", "case", "sibling")).to_csv(tmp_path / "badrole.tsv", sep="\t",
                                                                        index=False)
    argv = ["casecontrol", "--variants", str(tmp_path / "badrole.tsv"), "--scores", str(tmp_path / "dn_sad.h5"),
            "--out", str(out)]
    assert cli.main(argv) == 2
    assert "badrole.tsv" in caplog.text and "sibling" in caplog.text
    argv = ["casecontrol", "--variants", str(tmp_path / "variants.tsv"), "--scores", str(tmp_path / "dn_sad.h5"),
            "--stat", "SAR", "--out", str(out)]
    assert cli.main(argv) == 2
    assert "dn_sad.h5" in caplog.text and "'SAR'" in caplog.text
    argv[argv.index("--stat"):argv.index("--stat") + 2] = ["--risk-dataset", "kidney"]
    assert cli.main(argv) == 2
    assert "'kidney'" in caplog.text
    assert not out.exists()


# ------------------------------------------------------------------------------------------------ pics
def _panel(tmp_path, rng):
    n, m = 300, 12
    base = rng.integers(0, 3, n)
    g = np.empty((n, m), np.int8)
    for j in range(m):                                           # LD decays away from SNP 5
        flip = rng.random(n) < 0.04 * abs(j - 5)
        g[:, j] = np.where(flip, rng.integers(0, 3, n), base)
    sid = [f"rs{j}" for j in range(m)]
    write_bfile(tmp_path / "panel.1", g, iid=[f"i{k}" for k in range(n)], chrom=["1"] * m, sid=sid,
                cm=np.zeros(m), bp=np.arange(1, m + 1) * 1000, allele_1=["A"] * m, allele_2=["G"] * m)
    p = np.array([1e-12 if j == 5 else 10 ** -(12 * (1 - 0.08 * abs(j - 5))) for j in range(m)])
    pd.DataFrame({"SNP": sid, "CHR": "1", "P": p}).to_csv(tmp_path / "ss.tsv", sep="\t", index=False)
    return sid


def test_pics_with_panel_template_and_ld_table(tmp_path):
    sid = _panel(tmp_path, np.random.default_rng(9))
    out = tmp_path / "pics"
    argv = ["pics", "--sumstats", str(tmp_path / "ss.tsv"), "--lead", "rs5", "--bfile",
            str(tmp_path / "panel.{chrom}"), "--coverage", "0.9", "--out", str(out)]
    assert cli.main(argv) == 0
    res = pd.read_csv(out / "pics.tsv", sep="\t")
    assert res.prob.sum() == pytest.approx(1, abs=1e-4) and "rs5" in set(res.SNP[res.in_credible_set])
    cs = pd.read_csv(out / "credible_sets.tsv", sep="\t")
    assert cs.loc[0, "lead_snp"] == "rs5" and cs.loc[0, "credible_prob"] >= 0.9
    assert cs.loc[0, "n_credible"] == res.in_credible_set.sum() and cs.loc[0, "lead_P"] == pytest.approx(1e-12)
    prov = json.loads((out / "provenance.json").read_text())
    assert "bed_0" in prov["inputs"] and prov["config"]["coverage"] == 0.9
    # the same r as an LD table (PLINK --r style) gives the same probabilities
    from stats.finemap.pics import r_from_bfile

    r = r_from_bfile(tmp_path / "panel.1", "rs5")
    pd.DataFrame({"SNP_A": "rs5", "SNP_B": r.index, "R": r.to_numpy()}).to_csv(tmp_path / "ld.tsv", sep="\t",
                                                                                index=False)
    (tmp_path / "leads.txt").write_text("rs5\n")
    assert cli.main(["pics", "--sumstats", str(tmp_path / "ss.tsv"), "--leads", str(tmp_path / "leads.txt"),
                     "--ld", str(tmp_path / "ld.tsv"), "--coverage", "0.9", "--out", str(tmp_path / "p2")]) == 0
    res2 = pd.read_csv(tmp_path / "p2" / "pics.tsv", sep="\t")
    pd.testing.assert_series_equal(res.set_index("SNP").prob, res2.set_index("SNP").prob.loc[res.SNP], rtol=1e-4)
    assert len(sid) == 12


def test_pics_whitespace_table_and_automatic_lead(tmp_path, caplog):
    _panel(tmp_path, np.random.default_rng(9))
    ss = pd.read_csv(tmp_path / "ss.tsv", sep="\t")
    # PICS's own input style: columns aligned with spaces
    (tmp_path / "ss.txt").write_text(ss.to_string(index=False) + "\n")
    argv = ["--bfile", str(tmp_path / "panel.1"), "--coverage", "0.9"]
    assert cli.main(["pics", "--sumstats", str(tmp_path / "ss.tsv"), "--lead", "rs5", *argv,
                     "--out", str(tmp_path / "tab")]) == 0
    assert cli.main(["pics", "--sumstats", str(tmp_path / "ss.txt"), *argv, "--out", str(tmp_path / "auto")]) == 0
    assert "the SNP with the smallest P, rs5" in caplog.text
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "auto" / "pics.tsv", sep="\t"),
                                  pd.read_csv(tmp_path / "tab" / "pics.tsv", sep="\t"))


def test_pics_bad_input_exits_2(tmp_path, caplog):
    _panel(tmp_path, np.random.default_rng(10))
    out = tmp_path / "pics"
    base = ["pics", "--bfile", str(tmp_path / "panel.1"), "--out", str(out)]
    ss = pd.read_csv(tmp_path / "ss.tsv", sep="\t")
    ss.assign(P=ss.P.where(ss.SNP != "rs3", 0.0)).to_csv(tmp_path / "p0.tsv", sep="\t", index=False)
    assert cli.main([*base, "--sumstats", str(tmp_path / "p0.tsv"), "--lead", "rs5"]) == 2
    assert "p0.tsv, line 5: SNP 'rs3' has P = 0;" in caplog.text
    ss.assign(P=ss.P.where(ss.SNP != "rs3", 1.5)).to_csv(tmp_path / "p15.tsv", sep="\t", index=False)
    assert cli.main([*base, "--sumstats", str(tmp_path / "p15.tsv"), "--lead", "rs5"]) == 2
    assert "p15.tsv, line 5: SNP 'rs3' has P = 1.5" in caplog.text
    pd.concat([ss, pd.DataFrame({"SNP": ["rsX"], "CHR": ["1"], "P": [1e-9]})]).to_csv(
        tmp_path / "ssx.tsv", sep="\t", index=False)
    assert cli.main([*base, "--sumstats", str(tmp_path / "ssx.tsv"), "--lead", "rsX"]) == 2
    assert "'rsX' is not in the reference panel" in caplog.text and "panel.1" in caplog.text
    assert cli.main(["pics", "--sumstats", str(tmp_path / "ss.tsv"), "--lead", "rs5", "--bfile",
                     str(tmp_path / "panel.{chrom}x"), "--out", str(out)]) == 2
    assert "no file for chromosome 1" in caplog.text and "panel.1x.bed" in caplog.text
    assert not out.exists()


def test_version(capsys):
    from genocore import __version__

    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"genostats {__version__}"


def test_output_folder_files_are_group_readable(tmp_path):
    import os
    import stat

    obs, pred = _expression(tmp_path, np.random.default_rng(2))
    old = os.umask(0o022)
    try:
        assert cli.main(["clusters", "--observed", str(obs), "--predicted", str(pred), "--n-genes", "60",
                         "--sample-size", "40", "--components", "3", "--bootstrap", "2", "--out",
                         str(tmp_path / "o")]) == 0
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "o").iterdir()}
    assert modes and set(modes.values()) == {0o644}
    assert stat.S_IMODE((tmp_path / "o").stat().st_mode) == 0o755


def test_pics_with_a_vcf_or_a_haplotype_table_as_the_panel(tmp_path):
    from stats.io.haplotypes import read_genotype_matrix
    from stats.io.plink import read_bfile

    rng = np.random.default_rng(9)
    sid = _panel(tmp_path, rng)
    g = read_bfile(tmp_path / "panel.1", dtype=np.float64)[0]  # (300, 12) allele-1 counts
    # the same dosages as a VCF (ALT = the counted allele)
    def write_vcf(path, missing=None):
        rows = []
        for j, s in enumerate(sid):
            calls = ["0/0" if d == 0 else ("0|1" if d == 1 else "1/1") for d in g[:, j]]
            if missing == j:
                calls[7] = "./."
            rows.append("\t".join(["1", str((j + 1) * 1000), s, "G", "A", ".", "PASS", ".", "GT:DS",
                                   *[c + ":0" for c in calls]]))
        path.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
                        + "\t".join(f"i{k}" for k in range(300)) + "\n" + "\n".join(rows) + "\n")
        return path

    m, ids = read_genotype_matrix(write_vcf(tmp_path / "missing.vcf", missing=2))
    assert ids == sid and np.isnan(m[7, 2]) and np.array_equal(np.delete(m, 7, 0), np.delete(g, 7, 0))
    vcf = write_vcf(tmp_path / "panel.vcf")
    base = ["pics", "--sumstats", str(tmp_path / "ss.tsv"), "--lead", "rs5", "--coverage", "0.9"]
    assert cli.main([*base, "--bfile", str(tmp_path / "panel.1"), "--out", str(tmp_path / "bed")]) == 0
    assert cli.main([*base, "--genotypes", str(vcf), "--out", str(tmp_path / "vcf")]) == 0
    a = pd.read_csv(tmp_path / "bed" / "pics.tsv", sep="\t").set_index("SNP").prob
    b = pd.read_csv(tmp_path / "vcf" / "pics.tsv", sep="\t").set_index("SNP").prob
    pd.testing.assert_series_equal(a, b.loc[a.index], rtol=1e-6)
    # phased haplotypes as JLIM's reference files hold them: one allele letter per haplotype
    haps = (rng.random((40, len(sid))) < 0.3).astype(int)
    lines = [" ".join(["1", str((j + 1) * 1000), s, "G", "A", "100", "PASS", *np.where(haps[:, j], "A", "G")])
             for j, s in enumerate(sid)]
    lines.insert(3, " ".join(["1", "3500", "rsMulti", "G", "A,C", "100", "PASS", *["G"] * 40]))
    lines.insert(5, " ".join(["1", "4500", "rsTwice", "G", "A", "100", "PASS", *["A"] * 40]))
    lines.insert(8, " ".join(["1", "6500", "rsTwice", "C", "T", "100", "PASS", *["T"] * 40]))
    hap = tmp_path / "locus.1.1000.12000.txt.gz"
    import gzip

    with gzip.open(hap, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    m, ids = read_genotype_matrix(hap)
    assert ids == sid and np.array_equal(m, haps)
    assert cli.main([*base, "--genotypes", str(hap), "--out", str(tmp_path / "hap")]) == 0
    res = pd.read_csv(tmp_path / "hap" / "pics.tsv", sep="\t")
    assert res.prob.sum() == pytest.approx(1, abs=1e-4)

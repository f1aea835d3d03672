"""Every command given an input that is empty, or that its filters empty: exit 2 with one line naming the
file (and the filter), no traceback, and nothing left behind (no output, no parts folder, no lock)."""
from __future__ import annotations

import gzip
import logging
from pathlib import Path

import pytest

from genomodel import cli as model_cli
from stats import cli as stats_cli


def _write(path: Path, text: str) -> Path:
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def _cases(world: Path, truth: Path, tmp: Path) -> dict:
    """name -> (front end main, argv, words the message must hold)."""
    panel = str(world / "genotypes" / "ref_panel.chr{chrom}")
    blocks, gtf = str(world / "genotypes" / "ldblocks.bed"), str(world / "genome" / "genes.gtf")
    ss = _write(tmp / "empty.sumstats.gz", "SNP\tA1\tA2\tN\tZ\n")
    eqtl = _write(tmp / "Empty.allpairs.txt.gz", "gene_id\tvariant_id\ttss_distance\tmaf\tpval_nominal\tslope\t"
                                                  "slope_se\tsignificant\n")
    return {
        "sldp": (stats_cli.main, ["sldp", "--bfile-chr", panel, "--ld-blocks", blocks, "--sumstats", ss, "--sannot-chr",
                                  str(tmp / "annot."), "--ldscores-chr", str(tmp / "ld" / "{chrom}"), "--build",
                                  "simworld1", "--out", tmp / "out" / "x.gwresults"], ["empty"]),
        "ldscore --extract": (stats_cli.main, ["ldscore", "--bfile", str(world / "genotypes" / "ref_panel.chr1"),
                                               "--extract", _write(tmp / "ids.txt", "nope1\nnope2\n"), "--out",
                                               tmp / "out" / "ld"], ["--extract", "nope1"]),
        "covreg": (stats_cli.main, ["covreg", "--eqtl", eqtl, "--bfile-chr", panel, "--ld-blocks", blocks, "--build",
                                    "simworld1", "--gtf", gtf, "--sed", truth, "--sed-target", "CAGE_immune_monocyte",
                                    "--out", tmp / "out" / "cov"], ["Empty.allpairs.txt.gz"]),
        "pics": (stats_cli.main, ["pics", "--sumstats", _write(tmp / "p.tsv", "SNP\tP\n"), "--bfile", panel,
                                  "--out", tmp / "out" / "pics"], ["p.tsv", "no rows"]),
        "munge": (stats_cli.main, ["munge", "--sumstats", _write(tmp / "raw.tsv", "SNP\tA1\tA2\tN\tZ\n"), "--out",
                                   tmp / "out" / "m.sumstats.gz"], ["raw.tsv", "no rows"]),
        "sites": (stats_cli.main, ["sites", "--input", eqtl, "--out", tmp / "out" / "s.vcf"], ["no rows"]),
        "casecontrol": (stats_cli.main, ["casecontrol", "--variants",
                                         _write(tmp / "dn.tsv", "variant_id\tfamily\trole\tchrom\tpos\tref\talt\n"),
                                         "--scores", truth, "--group", "brain", "--out", tmp / "out" / "cc"], ["dn.tsv"]),
        "sed": (model_cli.main, ["sed", "--model", tmp / "model", "--vcf",
                                 _write(tmp / "e.vcf", "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n"),
                                 "--fasta", str(world / "genome" / "genome.fa"), "--gtf", gtf,
                                 "--out", tmp / "out" / "sed.tsv"], ["e.vcf", "no records"]),
        "classify": (stats_cli.main, ["classify", "--labels", _write(tmp / "lab.tsv", "snp\tchrom\tlabel\n"),
                                      "--features", f"m={truth}", "--stat", "SAD", "--out", tmp / "out" / "cls"],
                     ["lab.tsv"]),
        "clusters": (stats_cli.main, ["clusters", "--observed", _write(tmp / "obs.tsv", "gene_id\ts1\ts2\n"),
                                      "--predicted", _write(tmp / "pred.tsv", "gene_id\ts1\ts2\n"),
                                      "--out", tmp / "out" / "cl"], ["obs.tsv"]),
        "saliency": (model_cli.main, ["saliency", "--model", tmp / "model", "--bed", _write(tmp / "s.bed", ""),
                                      "--fasta", str(world / "genome" / "genome.fa"), "--out", tmp / "out" / "sal"],
                     ["s.bed"]),
        "predict": (model_cli.main, ["predict", "--model", tmp / "model", "--bed", _write(tmp / "r.bed", ""),
                                     "--fasta", str(world / "genome" / "genome.fa"), "--out", tmp / "out" / "p.h5"],
                    ["r.bed", "no regions"]),
    }


NAMES = ("sldp", "ldscore --extract", "covreg", "pics", "munge", "sites", "casecontrol", "classify", "clusters", "sed",
         "predict", "saliency")


@pytest.mark.parametrize("name", NAMES)
def test_an_empty_input_stops_cleanly_and_leaves_nothing(name, tiny_world, world_model, world_truth_scores,
                                                         tmp_path, caplog):
    import shutil

    shutil.copytree(world_model, tmp_path / "model")
    main, argv, words = _cases(tiny_world, world_truth_scores, tmp_path)[name]
    (tmp_path / "out").mkdir()
    with caplog.at_level(logging.INFO):
        assert main([str(a) for a in argv]) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and all(w in errors[0] for w in words), errors
    assert "Traceback" not in caplog.text
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []

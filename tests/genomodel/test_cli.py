"""The genomodel command line: subcommands, clean errors, and a data -> train -> test -> predict run."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pandas as pd
import pytest

from genocore.files import sha256
from genomodel import cli
from genomodel.io.bigwig import write_bigwig
from _tiny_genome import make_tiny_genome


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for sub in ("simulate-genome", "data", "train", "test", "predict", "sad", "sed", "saliency", "ism"):
        assert sub in out


def test_version(capsys):
    from genocore import __version__

    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0 and __version__ in capsys.readouterr().out


def test_the_parser_is_built_from_small_functions():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(cli))
    assert len(inspect.getsource(cli).splitlines()) <= 300
    assert max(f.end_lineno - f.lineno + 1 for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)) <= 80


def test_bad_input_is_a_clear_error_and_leaves_nothing(tmp_path, caplog):
    g = make_tiny_genome(tmp_path / "g", sizes={"chr1": 20_000, "chr2": 20_000})
    # a BigWig named "1"/"2" against a FASTA with "chr1"/"chr2"
    write_bigwig(tmp_path / "g" / "dense.bw", {"1": 20_000, "2": 20_000}, {"1": g.coverage["dense"]["chr1"]})
    rc = cli.main(["data", "--fasta", str(g.fasta), "--targets", str(g.targets), "--seq-length", "4096",
                   "--pool-width", "64", "--test-chroms", "chr2", "--out", str(tmp_path / "rec")])
    assert rc == 2
    assert "chr" in caplog.text and "dense.bw" in caplog.text
    assert not (tmp_path / "rec").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["g"]


def test_data_train_test_predict(tmp_path, caplog):
    g = make_tiny_genome(tmp_path / "g", sizes={"chr1": 40_000, "chr2": 20_000})
    rec = tmp_path / "rec"
    assert cli.main(["data", "--fasta", str(g.fasta), "--targets", str(g.targets), "--blacklist", str(g.blacklist),
                     "--seq-length", "2048", "--pool-width", "64", "--crop-bp", "256", "--stride", "1024",
                     "--test-chroms", "chr2", "--valid-fraction", "0.2", "--out", str(rec)]) == 0
    params = tmp_path / "p.json"
    params.write_text('{"train": {"batch_size": 4, "optimizer": "adam", "learning_rate": 0.002},'
                      ' "model": {"seq_length": 2048, "activation": "gelu", "norm_type": "batch",'
                      ' "trunk": [{"name": "conv_block", "filters": 8, "kernel_size": 9, "pool_size": 8},'
                      '           {"name": "conv_tower", "filters_init": 8, "filters_mult": 1.2, "repeat": 3,'
                      '            "kernel_size": 3, "pool_size": 2},'
                      '           {"name": "Cropping1D", "cropping": 4}],'
                      ' "head_tiny": {"name": "final", "units": 3, "activation": "softplus"}}}')
    run = tmp_path / "run"
    assert cli.main(["train", "--params", str(params), "--data", str(rec), "--out", str(run), "--epochs", "2"]) == 0
    log = pd.read_csv(run / "train_log.csv")
    assert list(log.epoch) == [0, 1]
    assert (run / "provenance.json").exists()
    # resuming a finished run adds nothing
    assert cli.main(["train", "--params", str(params), "--data", str(rec), "--out", str(run), "--epochs", "2"]) == 0
    assert len(pd.read_csv(run / "train_log.csv")) == 2
    assert cli.main(["test", "--model", str(run / "model"), "--data", str(rec), "--rc", "--out", str(tmp_path / "t")]) == 0
    acc = pd.read_csv(tmp_path / "t" / "acc.tsv", sep="\t")
    assert len(acc) == 3 and {"pearson_r", "r2", "pearson_r_log", "auprc"} <= set(acc.columns)
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t5000\t5100\ta\nchr2\t100\t200\tb\n")
    out = tmp_path / "p.h5"
    assert cli.main(["predict", "--model", str(run / "model"), "--bed", str(bed), "--fasta", str(g.fasta),
                     "--shifts=-1,0,1", "--out", str(out)]) == 0
    with h5py.File(out) as h5:
        assert h5["preds"].shape == (2, 24, 3)
        assert [s.decode() for s in h5["name"][:]] == ["a", "b"]
        assert h5["start"][1] == 150 - 1024  # centred; the window runs off the chromosome start
        inputs = json.loads(h5.attrs["provenance"])["inputs"]
        assert inputs["fasta"]["sha256"] == sha256(g.fasta) and inputs["bed"]["sha256"] == sha256(bed)
    # a bgzipped genome predicts the same, and nothing is written beside either FASTA
    from Bio import bgzf

    gz_dir = tmp_path / "gz"
    gz_dir.mkdir()
    with open(g.fasta, "rb") as fh, bgzf.BgzfWriter(str(gz_dir / "g.fa.gz"), "wb") as bz:
        bz.write(fh.read())
    assert cli.main(["predict", "--model", str(run / "model"), "--bed", str(bed), "--fasta", str(gz_dir / "g.fa.gz"),
                     "--shifts=-1,0,1", "--out", str(tmp_path / "p_gz.h5")]) == 0
    with h5py.File(out) as a, h5py.File(tmp_path / "p_gz.h5") as b:
        np.testing.assert_array_equal(a["preds"][:], b["preds"][:])
    assert [p.name for p in gz_dir.iterdir()] == ["g.fa.gz"]
    # sequences longer than the model's window are trimmed to their centre, and the log says so
    seq_fa = tmp_path / "seqs.fa"
    seq_fa.write_text(">short\n" + "ACGT" * 100 + "\n>long\n" + "ACGT" * 1000 + "\n")
    assert cli.main(["predict", "--model", str(run / "model"), "--fasta-seqs", str(seq_fa),
                     "--out", str(tmp_path / "seqs.h5")]) == 0
    assert "1 of 2 sequences" in caplog.text and "long (4,000 bp)" in caplog.text
    assert not (tmp_path / "seqs.fa.fai").exists()
    bw_dir = tmp_path / "bw"
    assert cli.main(["predict", "--model", str(run / "model"), "--bed", str(bed), "--fasta", str(g.fasta),
                     "--out", str(bw_dir)]) == 0
    assert sorted(p.name for p in bw_dir.glob("*.bw")) == ["dense.bw", "mean.bw", "sparse.bw"]

    # variant scores from the same model: a VCF of SNPs, a REF mismatch stops with no output file
    from genomodel import dna

    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT"]
    for chrom, pos in (("chr1", 3000), ("chr1", 3001), ("chr2", 1500)):
        ref = dna.decode(g.codes[chrom][pos - 1:pos])
        alt = "ACGT"[("ACGT".index(ref) + 1) % 4]
        lines.append(f"{chrom}\t{pos}\trs{pos}\t{ref}\t{alt}")
    vcf = tmp_path / "v.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    sad = tmp_path / "sad.h5"
    assert cli.main(["sad", "--model", str(run / "model"), "--vcf", str(vcf), "--fasta", str(g.fasta), "--rc",
                     "--out", str(sad)]) == 0
    with h5py.File(sad) as h5:
        assert h5["SAD"].shape == (3, 3) and [s.decode() for s in h5["target_ids"][:]] == ["dense", "mean", "sparse"]
        assert "model_sha256" in h5.attrs["provenance"]
    # shared windows (incremental path): the same statistics, forward strand only
    shared = tmp_path / "shared.h5"
    assert cli.main(["sad", "--model", str(run / "model"), "--vcf", str(vcf), "--fasta", str(g.fasta),
                     "--shared-windows", "--out", str(shared)]) == 0
    with h5py.File(shared) as h5:
        assert h5["SAD"].shape == (3, 3) and np.isfinite(h5["LOG2MAX"][:]).all()
        assert '"shared_windows": true' in h5.attrs["provenance"]
    # 16-bit compute and XLA passes are options; their scores follow float32's
    assert cli.main(["sad", "--model", str(run / "model"), "--vcf", str(vcf), "--fasta", str(g.fasta), "--rc",
                     "--precision", "mixed_bfloat16", "--xla", "--out", str(tmp_path / "bf16.h5")]) == 0
    with h5py.File(tmp_path / "bf16.h5") as h5, h5py.File(sad) as h5_32:
        config = json.loads(h5.attrs["provenance"])["config"]
        assert config["precision"] == "mixed_bfloat16" and config["xla"] is True
        ref_sum = np.abs(h5_32["REF"][:]).max()
        np.testing.assert_allclose(h5["REF"][:], h5_32["REF"][:], rtol=0, atol=5e-2 * ref_sum)
        assert not np.array_equal(h5["REF"][:], h5_32["REF"][:])
    # with the reverse complement, shared windows take whole passes
    assert cli.main(["sad", "--model", str(run / "model"), "--vcf", str(vcf), "--fasta", str(g.fasta),
                     "--shared-windows", "--rc", "--out", str(tmp_path / "shared_rc.h5")]) == 0
    with h5py.File(tmp_path / "shared_rc.h5") as h5:
        assert h5["SAD"].shape == (3, 3) and np.isfinite(h5["SAD"][:]).all()
    ref = dna.decode(g.codes["chr1"][3999:4000])
    wrong, alt = "ACGT"[("ACGT".index(ref) + 2) % 4], "ACGT"[("ACGT".index(ref) + 3) % 4]
    vcf.write_text("\n".join(lines[:2] + [f"chr1\t4000\trsBad\t{wrong}\t{alt}"]) + "\n")
    assert cli.main(["sad", "--model", str(run / "model"), "--vcf", str(vcf), "--fasta", str(g.fasta),
                     "--out", str(tmp_path / "bad.h5")]) == 2
    assert "rsBad" in caplog.text and not (tmp_path / "bad.h5").exists()
    # a VCF that is empty, or emptied by a filter: a clear error, and nothing left behind
    ref2 = dna.decode(g.codes["chr1"][4999:5001])
    indel = tmp_path / "indels.vcf"
    indel.write_text("\n".join(lines[:2] + [f"chr1\t5000\tdel1\t{ref2}\t{ref2[0]}"]) + "\n")
    (tmp_path / "empty.vcf").write_text("\n".join(lines[:2]) + "\n")
    for v_path, extra, says in ((indel, ["--indels", "skip"], "1 indels skipped by --indels skip"),
                                (indel, ["--indels", "skip", "--shared-windows"], "1 indels skipped"),
                                (tmp_path / "empty.vcf", [], "the VCF has no records")):
        out_h5 = tmp_path / "none.h5"
        assert cli.main(["sad", "--model", str(run / "model"), "--vcf", str(v_path), "--fasta", str(g.fasta), *extra,
                         "--out", str(out_h5)]) == 2
        assert f"{v_path}: no variant left to score" in caplog.text and says in caplog.text
        assert not out_h5.exists() and not (tmp_path / "none.h5.parts").exists()
    tfile = tmp_path / "want.txt"
    tfile.write_text("identifier\nnot_a_track\n")
    assert cli.main(["sad", "--model", str(run / "model"), "--vcf", str(tmp_path / "v.vcf"), "--fasta", str(g.fasta),
                     "--targets-file", str(tfile), "--out", str(tmp_path / "t.h5")]) == 2

    # SED needs the requested genes in the GTF
    vcf.write_text("\n".join(lines) + "\n")
    gtf = tmp_path / "g.gtf"
    gtf.write_text('chr1\tsim\ttranscript\t3100\t3400\t.\t+\t.\tgene_id "gA"; transcript_id "tA";\n')
    assert cli.main(["sad", "--model", str(run / "model"), "--vcf", str(tmp_path / "v.vcf"), "--fasta", str(g.fasta),
                     "--gtf", str(gtf), "--genes", "gA,gZ", "--out", str(tmp_path / "sed.h5")]) == 2
    assert "gZ" in caplog.text and not (tmp_path / "sed.h5").exists()
    assert cli.main(["sad", "--model", str(run / "model"), "--vcf", str(tmp_path / "v.vcf"), "--fasta", str(g.fasta),
                     "--gtf", str(gtf), "--genes", "gA", "--out", str(tmp_path / "sed.h5")]) == 0
    with h5py.File(tmp_path / "sed.h5") as h5:
        assert set(h5["sed/gene_id"][:].astype(str)) == {"gA"} and h5["sed/SED"].shape[1] == 3

    # SED in gene-centred windows: incremental and naive agree
    for flag, name in (([], "sed_fast.tsv"), (["--naive"], "sed_naive.tsv")):
        assert cli.main(["sed", "--model", str(run / "model"), "--vcf", str(tmp_path / "v.vcf"), "--fasta",
                         str(g.fasta), "--gtf", str(gtf), *flag, "--out", str(tmp_path / name)]) == 0
    fast = pd.read_csv(tmp_path / "sed_fast.tsv", sep="\t")
    naive = pd.read_csv(tmp_path / "sed_naive.tsv", sep="\t")
    assert list(fast.columns[:7]) == ["chrom", "pos", "ref", "alt", "snp", "gene_id", "n_tss_bins"]
    assert set(fast.gene_id) == {"gA"} and fast[["chrom", "pos"]].values.tolist() == [["chr1", 3000], ["chr1", 3001]]
    from genocore.scores import read_sed

    pd.testing.assert_frame_equal(read_sed(tmp_path / "sed_fast.tsv"), fast, check_dtype=False)
    assert len(fast) == 2  # the two chr1 SNPs; the chr2 one is outside gA's window
    cols = [c for c in fast.columns if c.startswith("SED_")]
    np.testing.assert_allclose(fast[cols].to_numpy(), naive[cols].to_numpy(), rtol=1e-4, atol=1e-6)
    assert (tmp_path / "sed_fast.tsv.provenance.json").exists()

    # saliency of BED regions and mutagenesis around a site: HDF5 + PNG
    assert cli.main(["saliency", "--model", str(run / "model"), "--fasta", str(g.fasta), "--bed", str(bed),
                     "--targets", "0", "--out", str(tmp_path / "sal")]) == 0
    with h5py.File(tmp_path / "sal" / "saliency.h5") as h5:
        assert h5["saliency"].shape[0] == 2
        assert set(json.loads(h5.attrs["provenance"])["inputs"]) >= {"fasta", "bed", "model.weights.h5"}
    assert (tmp_path / "sal" / "saliency.png").read_bytes()[:4] == b"\x89PNG"
    assert cli.main(["ism", "--model", str(run / "model"), "--fasta", str(g.fasta), "--site", "chr1:5,000",
                     "--width", "20", "--targets", "1", "--out", str(tmp_path / "ism")]) == 0
    with h5py.File(tmp_path / "ism" / "ism.h5") as h5:
        # the site (5,000) sits at offset width // 2 of the mutated stretch
        assert h5["ism"].shape == (20, 4, 1) and h5.attrs["start_1based"] + 10 == 5000
        assert json.loads(h5.attrs["provenance"])["inputs"]["fasta"]["sha256"] == sha256(g.fasta)
    assert (tmp_path / "ism" / "ism.png").read_bytes()[:4] == b"\x89PNG"
    assert cli.main(["ism", "--model", str(run / "model"), "--fasta", str(g.fasta), "--site", "chr1-5000",
                     "--out", str(tmp_path / "ism2")]) == 2


def test_two_genomes_split_jointly_then_train_two_heads(tmp_path, caplog):
    """`genomodel data` with two genomes and an alignment keeps every linked region pair in one split;
    `genomodel train` then trains both heads from those records."""
    from genomodel import splits
    from genomodel.io import tfrecord

    sizes = {"chr1": 40_000, "chr2": 32_000}
    human = make_tiny_genome(tmp_path / "human", seed=1, sizes=sizes)
    mouse = make_tiny_genome(tmp_path / "mouse", seed=2, sizes=sizes)
    pairs = tmp_path / "pairs.tsv"  # made-up homology: human regions aligned to mouse regions
    pairs.write_text("chr1\t0\t9000\tchr2\t8192\t17192\nchr1\t16384\t22000\tchr1\t0\t5616\n"
                     "chr2\t24576\t31000\tchr1\t32768\t39192\n")
    config = tmp_path / "data.json"
    config.write_text(json.dumps({"homology_region": 8192, "homology_min_aligned": 4000}))
    rec = tmp_path / "rec"
    common = ["data", "--seq-length", "2048", "--pool-width", "64", "--stride", "1024", "--config", str(config),
              "--valid-fraction", "0.25", "--test-fraction", "0.25", "--out", str(rec)]
    both = ["--fasta", str(human.fasta), "--targets", str(human.targets), "--genome", "human",
            "--fasta", str(mouse.fasta), "--targets", str(mouse.targets), "--genome", "mouse"]
    assert cli.main(common + both) != 0 and "--alignment" in caplog.text and not rec.exists()
    assert cli.main(common + both[:-2] + ["--alignment", str(pairs)]) != 0 and "--genome" in caplog.text
    assert cli.main(common + both + ["--alignment", str(pairs)]) == 0
    beds = [tfrecord.read_sequences_bed(rec / g).assign(genome=g) for g in ("human", "mouse")]
    windows = pd.concat(beds, ignore_index=True)
    blocks = splits.read_alignments(pairs, genome1="human", genome2="mouse")
    comp = splits.homology_components(windows, blocks, region_size=8192, min_aligned_bp=4000)
    linked = [k for k in np.unique(comp) if windows.genome[comp == k].nunique() == 2]
    assert len(linked) == 3
    for k in np.unique(comp):
        assert windows.split[comp == k].nunique() == 1
    assert set(windows.split) == {"train", "valid", "test"}
    params = tmp_path / "p.json"
    head = '{"name": "final", "units": 3, "activation": "softplus"}'
    params.write_text('{"train": {"batch_size": 4, "optimizer": "adam", "learning_rate": 0.002},'
                      ' "model": {"seq_length": 2048, "activation": "gelu", "norm_type": "batch",'
                      ' "trunk": [{"name": "conv_block", "filters": 8, "kernel_size": 9, "pool_size": 8},'
                      '           {"name": "conv_block", "filters": 8, "kernel_size": 3, "pool_size": 8}],'
                      f' "head_human": {head}, "head_mouse": {head}}}}}')
    run = tmp_path / "run"
    assert cli.main(["train", "--params", str(params), "--data", f"human={rec / 'human'}",
                     "--data", f"mouse={rec / 'mouse'}", "--out", str(run), "--epochs", "1"]) == 0
    log = pd.read_csv(run / "train_log.csv")
    assert {"valid_loss_human", "valid_loss_mouse"} <= set(log.columns)


@pytest.mark.integration
def test_training_killed_mid_run_resumes_to_the_uninterrupted_run(tmp_path):
    """genomodel train (with dropout) SIGKILLed after a seeded number of epochs and run again: it resumes
    from its checkpoint, and the log and the kept weights equal an uninterrupted run's."""
    from _kill import kill_after

    g = make_tiny_genome(tmp_path / "g", sizes={"chr1": 40_000, "chr2": 20_000})
    rec = tmp_path / "rec"
    assert cli.main(["data", "--fasta", str(g.fasta), "--targets", str(g.targets), "--seq-length", "2048",
                     "--pool-width", "64", "--crop-bp", "256", "--stride", "1024", "--test-chroms", "chr2",
                     "--valid-fraction", "0.2", "--out", str(rec)]) == 0
    params = tmp_path / "p.json"
    params.write_text('{"train": {"batch_size": 4, "optimizer": "adam", "learning_rate": 0.002, "patience": 50},'
                      ' "model": {"seq_length": 2048, "activation": "gelu", "norm_type": "batch",'
                      ' "trunk": [{"name": "conv_block", "filters": 8, "kernel_size": 9, "pool_size": 8},'
                      '           {"name": "conv_tower", "filters_init": 8, "filters_mult": 1.2, "repeat": 3,'
                      '            "kernel_size": 3, "pool_size": 2},'
                      '           {"name": "dilated_residual", "filters": 6, "rate_mult": 2, "repeat": 2,'
                      '            "dropout": 0.2},'
                      '           {"name": "Cropping1D", "cropping": 4}],'
                      ' "head_tiny": {"name": "final", "units": 3, "activation": "softplus"}}}')
    base = ["train", "--params", params, "--data", rec, "--epochs", "8"]
    killed = tmp_path / "killed"

    def epochs_logged() -> int:
        try:
            return len(pd.read_csv(killed / "train_log.csv"))
        except (FileNotFoundError, pd.errors.EmptyDataError):
            return 0

    k = int(np.random.default_rng(4).integers(2, 6))
    n_done = kill_after("genomodel", [*base, "--out", killed], epochs_logged, k)
    assert k <= n_done < 8 and not (killed / "provenance.json").exists()
    assert cli.main([*map(str, base), "--out", str(killed)]) == 0
    assert cli.main([*map(str, base), "--out", str(tmp_path / "whole")]) == 0
    a, b = pd.read_csv(killed / "train_log.csv"), pd.read_csv(tmp_path / "whole" / "train_log.csv")
    assert list(a.epoch) == list(range(8))
    for col in ("train_loss", "valid_loss"):
        np.testing.assert_array_equal(a[col], b[col])
    with h5py.File(killed / "model" / "model.weights.h5") as x, h5py.File(tmp_path / "whole" / "model" / "model.weights.h5") as y:
        def arrays(f):
            out = {}
            f.visititems(lambda name, obj: out.setdefault(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
            return out
        wa, wb = arrays(x), arrays(y)
        assert wa.keys() == wb.keys() and all(np.array_equal(wa[n], wb[n]) for n in wa)

"""Variant scores (the two-forward-pass path): definitions, REF/ALT symmetry, SED, sad.h5 layout, errors."""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from genomodel import dna
from genomodel.model.seqnn import build_model
from genomodel.predict import predict
from genocore.scores import SAD_STATS, read_sad_h5, read_sed, write_sad_h5
from genomodel.variants import score_variants
from _tiny_model import tiny_params

SEQ = 256


@pytest.fixture(scope="module")
def model():
    return build_model(tiny_params().model, seed=5).model()


@pytest.fixture(scope="module")
def genome():
    rng = np.random.default_rng(3)
    return {"chr1": rng.integers(0, 4, 2000).astype(np.uint8), "chr2": rng.integers(0, 4, 700).astype(np.uint8)}


def _variants(genome, picks):
    rows = []
    for chrom, pos, alt in picks:
        ref = dna.decode(genome[chrom][pos - 1:pos])
        rows.append((f"{chrom}_{pos}_{alt}", chrom, pos, ref, alt))
    return pd.DataFrame(rows, columns=["snp", "chrom", "pos", "ref", "alt"])


def _alt_base(genome, chrom, pos, k=1):
    return "ACGT"[(int(genome[chrom][pos - 1]) + k) % 4]


def test_scores_follow_their_definitions(model, genome):
    picks = [("chr1", 500, _alt_base(genome, "chr1", 500)), ("chr1", 500, _alt_base(genome, "chr1", 500, 2)),
             ("chr2", 60, _alt_base(genome, "chr2", 60)), ("chr1", 1990, _alt_base(genome, "chr1", 1990))]
    v = _variants(genome, picks)
    s = score_variants(model, genome, v, pseudocount=0.5)
    for i, (chrom, pos, alt) in enumerate(picks):
        start = pos - 1 - SEQ // 2
        codes = np.full(SEQ, 4, np.uint8)
        a, b = max(start, 0), min(start + SEQ, len(genome[chrom]))
        codes[a - start:b - start] = genome[chrom][a:b]
        alt_codes = codes.copy()
        alt_codes[SEQ // 2] = "ACGT".index(alt)
        ref_p, alt_p = predict(model, dna.one_hot(np.stack([codes, alt_codes]), dtype=np.float32)).astype(np.float64)
        np.testing.assert_allclose(s.stats["SAD"][i], (alt_p - ref_p).sum(0), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(s.stats["REF"][i], ref_p.sum(0), rtol=1e-5)
        np.testing.assert_allclose(s.stats["SAR"][i], np.log2(alt_p.sum(0) + 1) - np.log2(ref_p.sum(0) + 1),
                                   rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(s.stats["LOG2MAX"][i], np.abs(np.log2((alt_p + 0.5) / (ref_p + 0.5))).max(0),
                                   rtol=1e-4, atol=1e-6)


def test_swapping_ref_and_alt_negates_sad_and_sed_exactly(model, genome):
    pos = 800
    alt = _alt_base(genome, "chr1", pos)
    other = {c: s.copy() for c, s in genome.items()}
    other["chr1"][pos - 1] = "ACGT".index(alt)
    tss = pd.DataFrame({"gene_id": ["g1", "g1", "g2"], "chrom": ["chr1"] * 3, "tss": [790, 800, 850]})
    a = score_variants(model, genome, _variants(genome, [("chr1", pos, alt)]), rc=True, shifts=(-1, 0, 1), tss=tss)
    ref_base = dna.decode(genome["chr1"][pos - 1:pos])
    swapped = pd.DataFrame([("s", "chr1", pos, alt, ref_base)], columns=["snp", "chrom", "pos", "ref", "alt"])
    b = score_variants(model, other, swapped, rc=True, shifts=(-1, 0, 1), tss=tss)
    np.testing.assert_array_equal(a.stats["SAD"], -b.stats["SAD"])
    np.testing.assert_array_equal(a.stats["REF"], b.stats["ALT"])
    cols = [c for c in a.sed.columns if c.startswith("t")]
    np.testing.assert_array_equal(a.sed[cols].to_numpy(), -b.sed[cols].to_numpy())


def test_sed_sums_a_genes_tss_bins_once(model, genome):
    pos = 1000
    v = _variants(genome, [("chr1", pos, _alt_base(genome, "chr1", pos))])
    start = pos - 1 - SEQ // 2
    # 16-bp bins after 32 bp of crop: 905 and 906 share a bin, 940 is in another, 2 is outside the window
    tss = pd.DataFrame({"gene_id": ["g", "g", "g", "h", "far"], "chrom": "chr1", "tss": [905, 906, 940, 905, 2]})
    s = score_variants(model, genome, v, tss=tss)
    sed = s.sed.set_index("gene_id")
    assert set(sed.index) == {"g", "h"}
    assert sed.loc["g", "n_tss_bins"] == 2 and sed.loc["h", "n_tss_bins"] == 1
    codes = genome["chr1"][start:start + SEQ]
    alt_codes = codes.copy()
    alt_codes[SEQ // 2] = "ACGT".index(v.alt[0])
    ref_p, alt_p = predict(model, dna.one_hot(np.stack([codes, alt_codes]), dtype=np.float32)).astype(np.float64)
    bins = [(905 - start - 32) // 16, (940 - start - 32) // 16]
    np.testing.assert_allclose(sed.loc["g", ["t0", "t1", "t2"]].to_numpy(float),
                               (alt_p[bins] - ref_p[bins]).sum(0), rtol=1e-5, atol=1e-6)


def test_sad_h5_layout_round_trips(model, genome, tmp_path):
    v = _variants(genome, [("chr1", 300, _alt_base(genome, "chr1", 300)), ("chr2", 400, _alt_base(genome, "chr2", 400))])
    tss = pd.DataFrame({"gene_id": ["g", "h"], "chrom": ["chr1", "chr2"], "tss": [310, 390]})
    s = score_variants(model, genome, v, targets=np.array([2, 0]), tss=tss)
    path = write_sad_h5(tmp_path / "sad.h5", s.variants, s.stats, sed=s.sed, target_ids=["c", "a"],
                        target_labels=["C:c", "A:a"], provenance={"version": "x"})
    with h5py.File(path) as h5:
        assert {"snp", "chr", "pos", "ref_allele", "alt_allele", "target_ids", "target_labels", *SAD_STATS} <= set(h5)
        assert h5["SAD"].shape == (2, 2) and h5["SAD"].dtype == np.float16
        assert '"version"' in h5.attrs["provenance"]
    back = read_sad_h5(path)
    assert back.variants.snp.tolist() == v.snp.tolist() and back.variants.pos.tolist() == [300, 400]
    assert back.target_ids == ["c", "a"] and back.provenance == {"version": "x"}
    np.testing.assert_allclose(back.stats["SAD"], s.stats["SAD"], rtol=1e-3, atol=1e-3)
    # SED of the genes in each variant's span, matched back to the variant by chrom, pos and alleles
    sed = read_sed(path)
    assert sed[["chrom", "pos", "gene_id"]].values.tolist() == [["chr1", 300, "g"], ["chr2", 400, "h"]]
    np.testing.assert_array_equal(sed[["SED_c", "SED_a"]].to_numpy(), s.sed[["t2", "t0"]].to_numpy(np.float32))


def test_bad_variants_are_named(model, genome):
    pos = 100
    wrong = "ACGT"[(int(genome["chr1"][pos - 1]) + 1) % 4]
    v = pd.DataFrame([("rsX", "chr1", pos, wrong, "A")], columns=["snp", "chrom", "pos", "ref", "alt"])
    with pytest.raises(ValueError, match="rsX.*REF .* but the genome has"):
        score_variants(model, genome, v)
    with pytest.raises(ValueError, match="rsY.*not a SNP"):
        score_variants(model, genome, pd.DataFrame([("rsY", "chr1", 5, "AC", "A")],
                                                   columns=["snp", "chrom", "pos", "ref", "alt"]))
    with pytest.raises(ValueError, match="rsZ.*past the end"):
        score_variants(model, genome, pd.DataFrame([("rsZ", "chr2", 701, "A", "C")],
                                                   columns=["snp", "chrom", "pos", "ref", "alt"]))
    with pytest.raises(ValueError, match="chr9"):
        score_variants(model, genome, pd.DataFrame([("rsW", "chr9", 5, "A", "C")],
                                                   columns=["snp", "chrom", "pos", "ref", "alt"]))
    with pytest.raises(ValueError, match="model predicts 3 targets"):
        score_variants(model, genome, _variants(genome, [("chr1", 50, "A")]), targets=np.array([5]))


# chunked, resumable and distributed scoring ---------------------------------------------------------

@pytest.fixture(scope="module")
def saved(tmp_path_factory, genome):
    from genomodel.io.fasta import write_fasta
    from genomodel.model.seqnn import save_model

    root = tmp_path_factory.mktemp("saved")
    p = tiny_params()
    save_model(build_model(p.model, seed=5), p, root / "model")
    fasta = write_fasta(root / "g.fa", genome)
    rng = np.random.default_rng(0)
    picks = []
    for chrom in ("chr2", "chr1"):  # unsorted chromosomes; two alleles at some positions
        for pos in sorted(rng.choice(np.arange(1, len(genome[chrom]) + 1), 40, replace=False)):
            picks.append((chrom, int(pos), _alt_base(genome, chrom, int(pos))))
            if pos % 3 == 0:
                picks.append((chrom, int(pos), _alt_base(genome, chrom, int(pos), 2)))
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT"]
    for i, (c, pos, alt) in enumerate(picks):
        lines.append(f"{c}\t{pos}\tv{i}\t{dna.decode(genome[c][pos - 1:pos])}\t{alt}")
    vcf = root / "v.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    return {"model": root / "model", "fasta": fasta, "vcf": vcf, "variants": _variants(genome, picks)}


def test_chunks_keep_positions_whole(saved):
    from genomodel.variants import position_chunks

    v = saved["variants"]
    chunks = position_chunks(v, 3)
    assert np.array_equal(np.concatenate(chunks), np.arange(len(v)))
    for a, b in zip(chunks[:-1], chunks[1:]):
        assert (v.chrom[a[-1]], v.pos[a[-1]]) != (v.chrom[b[0]], v.pos[b[0]])


def test_chunked_scoring_equals_one_pass_and_resumes(saved, genome, model, tmp_path):
    from genomodel.variants import score_in_chunks

    v = saved["variants"]
    tss = pd.DataFrame({"gene_id": ["g1", "g2"], "chrom": ["chr1", "chr2"], "tss": [700, 300]})
    one = score_variants(build_model(tiny_params().model, seed=5).model(), genome, v, tss=tss, rc=True)
    kw = dict(model_dir=saved["model"], genome_name=None, fasta=saved["fasta"], variants=v,
              parts_dir=tmp_path / "parts", chunk_size=7, tss=tss, rc=True)
    a = score_in_chunks(**kw)
    # positions share model calls, and a call's batch composition moves results by float32 rounding
    for k in one.stats:
        np.testing.assert_allclose(a.stats[k], one.stats[k], rtol=1e-5, atol=1e-6)
    pd.testing.assert_frame_equal(a.sed, one.sed, check_exact=False, rtol=1e-5, atol=1e-6)
    parts = sorted((tmp_path / "parts").glob("chunk_*.npz"))
    parts[2].unlink()
    stamp = parts[0].stat().st_mtime_ns
    b = score_in_chunks(**kw, resume=True)
    assert parts[0].stat().st_mtime_ns == stamp and parts[2].exists()
    for k in one.stats:  # the same chunks give identical results
        np.testing.assert_array_equal(b.stats[k], a.stats[k])
    # parts of another run are refused, naming what differs, not silently mixed in
    with pytest.raises(ValueError, match=r"other inputs or options \(chunk size: 7 then, 5 now\)"):
        score_in_chunks(**{**kw, "chunk_size": 5}, resume=True)
    with pytest.raises(ValueError, match=r"rc: True then, False now"):
        score_in_chunks(**{**kw, "rc": False}, resume=True)
    with pytest.raises(ValueError, match=f"variants: {len(v)} then, {len(v) - 1} now"):
        score_in_chunks(**{**kw, "variants": v.iloc[1:]}, resume=True)


@pytest.mark.integration
def test_killed_run_resumes_to_identical_scores(saved, tmp_path):
    from _kill import kill_after

    base = ["sad", "--model", str(saved["model"]), "--vcf", str(saved["vcf"]), "--fasta", str(saved["fasta"]),
            "--chunk-size", "1", "--rc", "--shifts=-1,0,1"]
    out = tmp_path / "killed.h5"
    parts = Path(str(out) + ".parts")
    n_done = kill_after("genomodel", [*base, "--out", out], lambda: len(list(parts.glob("chunk_*.npz"))), 5,
                        poll=0.02)
    assert not out.exists() and 5 <= n_done, "the run ended before it could be killed mid-way"
    from genomodel import cli

    assert cli.main([*base, "--out", str(out), "--resume"]) == 0
    assert cli.main([*base, "--out", str(tmp_path / "whole.h5")]) == 0
    _assert_same_h5(out, tmp_path / "whole.h5")
    assert not parts.exists()


def _assert_same_h5(a, b):
    with h5py.File(a) as x, h5py.File(b) as y:
        assert set(x) == set(y)
        for k in x:
            if isinstance(x[k], h5py.Dataset):
                np.testing.assert_array_equal(x[k][:], y[k][:])
            else:
                for kk in x[k]:
                    np.testing.assert_array_equal(x[k][kk][:], y[k][kk][:])


@pytest.mark.integration
def test_dask_clusters_of_1_2_and_4_workers_give_the_single_process_result(saved, tmp_path):
    from genomodel import cli

    base = ["sad", "--model", str(saved["model"]), "--vcf", str(saved["vcf"]), "--fasta", str(saved["fasta"]),
            "--chunk-size", "20"]
    assert cli.main([*base, "--out", str(tmp_path / "one.h5")]) == 0
    for n in (1, 2, 4):
        assert cli.main([*base, "--workers", str(n), "--out", str(tmp_path / f"dask{n}.h5")]) == 0
        _assert_same_h5(tmp_path / "one.h5", tmp_path / f"dask{n}.h5")


def _wait_for(count, k: int, timeout: float = 300.0) -> int:
    import time

    deadline = time.time() + timeout
    while count() < k and time.time() < deadline:
        time.sleep(0.01)
    return count()


@pytest.mark.integration
def test_a_worker_killed_mid_run_does_not_change_the_scores(saved, tmp_path):
    """A real local cluster of 2 worker processes; one is SIGKILLed after a few chunks: its chunk is run
    again elsewhere (its nanny brings it back) and the scores equal the single-process run's."""
    import os
    import signal
    import threading

    from distributed import Client, LocalCluster

    from genomodel import cli

    base = ["sad", "--model", str(saved["model"]), "--vcf", str(saved["vcf"]), "--fasta", str(saved["fasta"]),
            "--chunk-size", "1", "--rc", "--shifts=-1,0,1"]
    out = tmp_path / "dask.h5"
    parts = Path(str(out) + ".parts")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        rc = {}
        run = threading.Thread(target=lambda: rc.setdefault("rc", cli.main(
            [*base, "--scheduler", cluster.scheduler_address, "--out", str(out)])))
        run.start()
        assert _wait_for(lambda: len(list(parts.glob("chunk_*.npz"))), 3) >= 3
        pid = next(iter(client.run(os.getpid).values()))
        os.kill(pid, signal.SIGKILL)
        run.join(timeout=600)
    assert rc.get("rc") == 0 and not parts.exists()
    assert cli.main([*base, "--out", str(tmp_path / "one.h5")]) == 0
    _assert_same_h5(out, tmp_path / "one.h5")


@pytest.mark.integration
def test_a_lost_scheduler_leaves_finished_chunks_that_resume_completes(saved, tmp_path):
    """Scheduler and worker as separate processes (as on a cluster); the scheduler is SIGKILLed mid-run:
    the chunks finished so far stay on disk and --resume in this process completes the same scores."""
    import signal
    import socket
    import subprocess
    import sys

    from genomodel import cli

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                  "--port", str(port), "--dashboard-address", ":0"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                               "--nworkers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = ["sad", "--model", str(saved["model"]), "--vcf", str(saved["vcf"]), "--fasta", str(saved["fasta"]),
            "--chunk-size", "1", "--rc", "--shifts=-1,0,1"]
    out = tmp_path / "lost.h5"
    parts = Path(str(out) + ".parts")
    run = subprocess.Popen([sys.executable, "-c", "import sys; from genomodel.cli import main; sys.exit(main(sys.argv[1:]))",
                            *base, "--scheduler", address, "--out", str(out)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(lambda: len(list(parts.glob("chunk_*.npz"))), 3) >= 3
        scheduler.send_signal(signal.SIGKILL)
        try:
            assert run.wait(timeout=120) != 0  # the run fails: its scheduler is gone
        except subprocess.TimeoutExpired:
            run.kill()  # a client that would wait on for a scheduler is given up on
    finally:
        for proc in (run, worker, scheduler):
            proc.kill()
            proc.wait()
    n_done = len(list(parts.glob("chunk_*.npz")))
    assert n_done >= 3 and not out.exists()
    assert cli.main([*base, "--out", str(out), "--resume"]) == 0 and not parts.exists()
    assert cli.main([*base, "--out", str(tmp_path / "one.h5")]) == 0
    _assert_same_h5(out, tmp_path / "one.h5")


def test_gene_window_sed_fast_equals_naive(model, genome):
    from genomodel.variants import sed_gene_windows

    rng = np.random.default_rng(4)
    picks = [("chr1", int(p), _alt_base(genome, "chr1", int(p))) for p in rng.choice(np.arange(700, 1100), 25, replace=False)]
    picks += [("chr2", 30, _alt_base(genome, "chr2", 30))]
    v = _variants(genome, picks)
    tss = pd.DataFrame({"gene_id": ["g1", "g1", "g2", "g3"], "chrom": ["chr1", "chr1", "chr1", "chr2"],
                        "tss": [880, 930, 1050, 20]})
    fast = sed_gene_windows(model, genome, v, tss, fast=True, batch_size=7)
    naive = sed_gene_windows(model, genome, v, tss, fast=False)
    assert len(fast) == len(naive) > 20 and set(fast.gene_id) == {"g1", "g2", "g3"}
    pd.testing.assert_frame_equal(fast[["variant", "gene_id", "n_tss_bins"]], naive[["variant", "gene_id", "n_tss_bins"]])
    cols = [c for c in fast.columns if c.startswith("t")]
    scale = np.abs(naive[cols].to_numpy()).max()
    np.testing.assert_allclose(fast[cols].to_numpy(), naive[cols].to_numpy(), rtol=1e-4, atol=1e-5 * scale)
    assert scale > 0


def test_shared_window_sad_fast_equals_naive(model, genome):
    from genomodel.variants import sad_shared_windows, shared_windows

    rng = np.random.default_rng(6)
    picks = [("chr1", int(p), _alt_base(genome, "chr1", int(p))) for p in rng.choice(np.arange(1, 2001), 30, replace=False)]
    picks += [("chr2", int(p), _alt_base(genome, "chr2", int(p))) for p in (5, 350, 699)]
    v = _variants(genome, picks)
    wins = shared_windows(v, SEQ)
    assert sorted(np.concatenate([r for _, _, r in wins]).tolist()) == list(range(len(v)))
    for chrom, start, rows in wins:
        off = v.pos.to_numpy()[rows] - 1 - start
        assert (off >= SEQ // 4).all() and (off < 3 * SEQ // 4).all()
    fast = sad_shared_windows(model, genome, v, fast=True)
    naive = sad_shared_windows(model, genome, v, fast=False)
    scale = np.abs(naive["SAD"]).max()
    assert scale > 0
    np.testing.assert_allclose(fast["SAD"], naive["SAD"], rtol=1e-4, atol=1e-5 * scale)
    np.testing.assert_allclose(fast["REF"], naive["REF"], rtol=1e-5)
    np.testing.assert_allclose(fast["SAR"], naive["SAR"], rtol=1e-4, atol=1e-5 * np.abs(naive["SAR"]).max())
    np.testing.assert_allclose(fast["LOG2MAX"], naive["LOG2MAX"], rtol=1e-4, atol=1e-6)
    assert (naive["LOG2MAX"] > 0).any()


def test_score_variants_in_shared_windows_equals_the_shared_window_passes(model, genome):
    """score_variants(shared=True) (whole passes, SED possible) gives what sad_shared_windows gives on its
    plain path for the same windows, and SED at a TSS in the window's output by hand."""
    from genomodel.predict import geometry, predict
    from genomodel.variants import _window_codes, sad_shared_windows, score_variants, shared_windows

    rng = np.random.default_rng(8)
    picks = [("chr1", int(p), _alt_base(genome, "chr1", int(p))) for p in rng.choice(np.arange(1, 2001), 25, replace=False)]
    v = _variants(genome, picks)
    ref = sad_shared_windows(model, genome, v, fast=False)
    pool, crop = geometry(model)
    chrom, start, rows = shared_windows(v, SEQ)[0]
    tss_pos = start + crop + 3 * pool + 1  # a TSS in the fourth output bin of the first window
    tss = pd.DataFrame({"gene_id": ["gX"], "chrom": ["chr1"], "tss": [tss_pos]})
    got = score_variants(model, genome, v, shared=True, tss=tss, batch_size=5)
    for stat in ("SAD", "REF", "SAR", "LOG2MAX"):
        np.testing.assert_allclose(got.stats[stat], ref[stat], rtol=1e-4, atol=1e-5 * np.abs(ref[stat]).max() + 1e-7)
    # SED of the first window's first variant, by hand
    k = int(rows[0])
    codes = _window_codes(genome, chrom, start, SEQ)
    alt = codes.copy()
    alt[v.pos[k] - 1 - start] = dna.encode(v.alt[k])[0]
    p = predict(model, dna.one_hot(np.stack([codes, alt]), dtype=np.float32))
    row = got.sed[(got.sed.variant == k) & (got.sed.gene_id == "gX")]
    assert len(row) == 1
    np.testing.assert_allclose(row[[c for c in got.sed.columns if c.startswith("t")]].to_numpy()[0],
                               p[1, 3] - p[0, 3], rtol=1e-4, atol=1e-6)


def test_windows_past_the_chromosome_ends_are_reported(saved, genome, caplog):
    """Windows filled with N beyond a chromosome's ends are counted and logged once, not silently scored."""
    from genomodel.variants import warn_windows_past_ends

    v = saved["variants"]
    length = tiny_params().model.seq_length
    expected = sum(1 for c, p in zip(v.chrom, v.pos)
                   if p - 1 - length // 2 < 0 or p - 1 - length // 2 + length > len(genome[c]))
    with caplog.at_level("WARNING"):
        n = warn_windows_past_ends(v.chrom, v.pos - 1, saved["fasta"], length, what="variants")
    assert n == expected > 0
    assert f"{expected} of {len(v)} variants have model windows ({length} bp) running past" in caplog.text


@pytest.mark.integration
def test_killed_prediction_over_regions_resumes_to_identical_predictions(saved, genome, tmp_path):
    """genomodel predict over many regions, SIGKILLed after a seeded number of finished chunks and resumed:
    the predictions equal an uninterrupted run's; a resume with other options is refused."""
    from _kill import kill_after
    from genomodel import cli

    rng = np.random.default_rng(9)
    starts = rng.integers(0, len(genome["chr1"]) - 10, size=4000)
    (tmp_path / "r.bed").write_text("".join(f"chr1\t{s}\t{s + 10}\tr{i}\n" for i, s in enumerate(starts)))
    base = ["predict", "--model", saved["model"], "--bed", tmp_path / "r.bed", "--fasta", saved["fasta"], "--rc",
            "--batch-size", "4"]
    out = tmp_path / "killed.h5"
    parts = Path(str(out) + ".parts")
    k = int(rng.integers(3, 20))
    n_done = kill_after("genomodel", [*base, "--out", out], lambda: len(list(parts.glob("chunk_*.done"))), k)
    assert k <= n_done < 63 and not out.exists()
    assert cli.main([*map(str, base), "--batch-size", "8", "--out", str(out), "--resume"]) == 2
    assert cli.main([*map(str, base), "--out", str(out), "--resume"]) == 0 and not parts.exists()
    assert cli.main([*map(str, base), "--out", str(tmp_path / "whole.h5")]) == 0
    _assert_same_h5(out, tmp_path / "whole.h5")

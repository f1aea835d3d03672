"""The SLDP pipeline against sldp 1.1.5's frozen outputs (tests/stats/fixtures/sldp_1.1.5).

Everything but the sign-flip p is deterministic and must agree to 1e-6 relative (it agrees to ~1e-11);
the sign-flip p uses this suite's generator, so it agrees within Monte Carlo error.
"""
import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stats.sldp.pipeline import GWRESULTS_COLUMNS, run

FIX = Path(__file__).parents[1] / "fixtures" / "sldp_1.1.5"
REF = json.loads((FIX / "reference.json").read_text())
RTOL = 1e-6
STATS = ("mu", "se(mu)", "z_fast", "p_fast", "rf", "h2v", "h2v/h2g", "h2g", "supp(v)/M")


def _run(background: bool, jk_blocks: int, seed: int):
    return run(bfile_chr=FIX / "refpanel" / "panel.", ld_blocks=FIX / "ldblocks.bed",
                        sumstats={t: FIX / "sumstats" / f"{t}.sumstats.gz" for t in ("planted", "bgonly")},
                        sannot_chr=[str(FIX / "annot" / "A."), str(FIX / "annot" / "M.")], alpha=[-1, 0],
                        background_sannot_chr=[str(FIX / "annot" / "BG.")] if background else (),
                        ldscores_chr=str(FIX / "ldscores") + "/", print_snps=FIX / "print_snps.txt",
                        jk_blocks=jk_blocks, seed=seed, blas_threads=1)


@pytest.fixture(scope="module")
def results():
    out = {}
    for background, names in ((True, ("planted", "bgonly")), (False, ("planted_nobg", "bgonly_nobg"))):
        r0 = REF["runs"][names[0]]
        res = _run(background, r0["jk_blocks"], r0["seed"])
        for n in names:
            out[n] = res
    return out


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


@pytest.mark.parametrize("run", sorted(REF["runs"]))
def test_gwresults_and_chunks_agree(results, run):
    ref = REF["runs"][run]
    res = results[run]
    assert list(res.table.columns) == list(GWRESULTS_COLUMNS) == ref["columns"]
    tab = res.table[res.table.pheno == ref["trait"]].set_index("annot")
    assert list(tab.index) == list(ref["annots"])
    for annot, want in ref["annots"].items():
        row = tab.loc[annot]
        for k in STATS:
            assert _rel(row[k], want[k]) < RTOL, (run, annot, k, row[k], want[k])
        ch = res.chunks[(ref["trait"], annot)]
        assert len(ch) == len(want["chunks"]["q"])
        for k in ("q", "r"):
            ref_k = np.asarray(want["chunks"][k], float)
            assert np.max(np.abs(ch[k].to_numpy() - ref_k)) < RTOL * np.max(np.abs(ref_k)), (run, annot, k)
        assert np.array_equal(ch["numsnps"].to_numpy(), np.asarray(want["chunks"]["numsnps"]))


@pytest.mark.parametrize("run", sorted(REF["runs"]))
def test_signflip_p_within_monte_carlo_error(results, run):
    ref = REF["runs"][run]
    tab = results[run].table[results[run].table.pheno == ref["trait"]].set_index("annot")
    for annot, want in ref["annots"].items():
        p, p_ref = tab.loc[annot, "p"], want["p"]
        assert np.sign(tab.loc[annot, "z"]) == np.sign(want["z"])
        if p_ref < 1e-3:
            assert p < 1e-3, (run, annot, p, p_ref)
        else:
            # both stop after 10^5 draws when p >= 0.01: binomial SD of each estimate
            sd = np.sqrt(2 * p_ref * (1 - p_ref) / 1e5)
            assert abs(p - p_ref) < 5 * sd + 1e-5, (run, annot, p, p_ref)
    assert tab.loc["ANNOT1.R", "p"] < 1e-4 if ref["trait"] == "planted" else True


def test_h2g_and_info(results):
    res = results["planted"]
    for trait, want in REF["pheno_info"].items():
        assert _rel(res.phenotypes[trait].h2g, want["h2g"]) < 1e-10
        assert _rel(res.phenotypes[trait].sigma2g, want["sigma2g"]) < 1e-10
    for name, per_chrom in REF["annot_info"].items():
        for c, want in per_chrom.items():
            got = res.chromosomes[c].info.loc[name]
            for k, v in want.items():
                assert abs(got[k] - v) <= RTOL * max(abs(v), 1), (name, c, k)


def test_rv_agrees(results):
    arr = json.load(gzip.open(FIX / "reference_arrays.json.gz", "rt"))
    res = results["planted"]
    parts = []
    for c in ("1", "6", "22"):
        d = res.chromosomes[c]
        parts.append(pd.DataFrame(d.rv[d.print_mask], columns=[n + ".R" for n in d.names],
                                  index=d.snps.SNP[d.print_mask]))
    rv = pd.concat(parts)
    assert list(rv.index) == arr["SNP"]
    for n in ("BG.R", "ANNOT1.R", "ANNOT2.R", "ANNOTM.R"):
        ref = np.asarray(arr[n], float)
        assert np.max(np.abs(rv[n].to_numpy() - ref)) < RTOL * np.max(np.abs(ref)), n

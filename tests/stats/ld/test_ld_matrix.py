import numpy as np

from stats.io.plink import read_bfile
from stats.ld.matrix import ld_matrix, r2_decay


def test_r2_decay_matches_naive_pairs():
    rng = np.random.default_rng(0)
    dos = rng.integers(0, 3, (60, 30)).astype(float)
    dos[:, 1] = dos[:, 0]
    pos = np.sort(rng.choice(100_000, 30, replace=False))
    bins = (0, 1e4, 5e4, 1e5)
    got = r2_decay(dos, pos, bins=bins)
    r = np.corrcoef(dos.T)
    for b, row in got.iterrows():
        vals = [r[i, j] ** 2 for i in range(30) for j in range(i + 1, 30)
                if bins[b] <= pos[j] - pos[i] < bins[b + 1]]
        assert row.n_pairs == len(vals)
        if vals:
            assert np.isclose(row.mean_r2, np.mean(vals))


def test_ld_matrix_is_correlation():
    dos = np.random.default_rng(1).integers(0, 3, (50, 8)).astype(float)
    np.testing.assert_allclose(ld_matrix(dos), np.corrcoef(dos.T), atol=1e-12)


def test_simulated_panel_ld_decays(tiny_world):
    dos, bim, _ = read_bfile(tiny_world / "genotypes" / "ref_panel.chr1")
    d = r2_decay(dos, bim.pos.to_numpy())
    assert d.mean_r2.iloc[0] > 3 * d.mean_r2.iloc[-1]
    assert d.mean_r2.iloc[0] > 0.05


def test_real_hapmap_panel_ld_decays(shared_data):
    prefix = shared_data / "ld_panel_hapmap2_ceu_chr20" / "hapmap_r22.chr20.CEU.hg19"
    dos, bim, _ = read_bfile(prefix)
    sel = slice(0, 3000)
    d = r2_decay(dos[:, sel], bim.pos.to_numpy()[sel])
    assert d.mean_r2.iloc[0] > 3 * d.mean_r2.iloc[-1]

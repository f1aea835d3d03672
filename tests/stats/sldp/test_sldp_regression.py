"""SLDP regression against a plain transcription of sldp 1.1.5 (weights.invert_weights, the block loop of
sldp.main, chunkstats.collapse_to_chunks / get_est / residualize / jackknife_se, preprocesspheno.esth2g).

The ``_ref_*`` functions below follow the reference's code line by line (dicts, lists, loops, one phenotype
and one annotation set at a time); the suite's vectorized functions must agree with them.
"""
import logging

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st

from stats.ld.signed_profile import signed_ld_profile, standardize_genotypes
from stats.sldp.regression import (BlockProducts, LdSvd, assign_chunks, background_coefficients, block_products,
                                   chunk_endpoints, estimate_h2g, fit_blocks, fit_sldp, invert_weights, jackknife_se,
                                   joint_estimate, ld2_svd, ld_svd, residualize, sldp_table, sum_chunks)

# -- the reference, transcribed ---------------------------------------------------------------------


def _ref_svd(x, pct=95.0):
    """Obvious version: eigen-decomposition of R_o (sldp keeps min(N, m) values, then truncates)."""
    r = x.T @ x / x.shape[0]
    w, u = np.linalg.eigh(r)
    order = np.argsort(w)[::-1]
    w, u = w[order][:min(x.shape)], u[:, order]
    k = np.argmax(np.cumsum(w) / w.sum() >= pct / 100.)
    return u[:, :k], w[:k]


def _ref_invert_weights(R, R2, sigma2g, N, x, typed=None, mode="Winv_ahat_h"):
    if typed is None:
        typed = np.isfinite(x.reshape((len(x), -1)).sum(axis=1))
    if mode == "Winv_ahat_I":
        result = x
    elif mode == "Winv_ahat_hlN":
        U = R["U"][typed, :]; svs = R["svs"]
        result = np.full(x.shape, np.nan)
        result[typed] = (U / (svs ** 2)).dot(U.T.dot(x[typed]))
    elif mode == "Winv_ahat_h":
        U = R["U"][typed, :]; svs = R["svs"]
        result = np.full(x.shape, np.nan)
        result[typed] = (U / (sigma2g * svs ** 2 + svs / N)).dot(U.T.dot(x[typed]))
    elif mode == "Winv_ahat_h2":
        U = R2["U"][typed, :]; svs = R2["svs"]
        result = np.full(x.shape, np.nan)
        result[typed] = (U / (sigma2g * svs + np.sqrt(svs) / N)).dot(U.T.dot(x[typed]))
    return result


def _ref_blocks(world, p, marginal, background, mode="Winv_ahat_h"):
    """sldp.main's block loop for phenotype p (with preprocesspheno's Winv_ahat)."""
    numerators, denominators, m_h = {}, {}, {}
    for b, blk in enumerate(world["blocks"]):
        ahat = blk["ahat"][:, p]
        typed = np.isfinite(ahat)
        if blk["svd"] is None or typed.sum() == 0:
            m_h[b] = 0
            continue
        rv_all = np.hstack([blk["rv_bg"][:, background], blk["rv"][:, marginal]])
        if (rv_all == 0).all():
            m_h[b] = 0
            continue
        m_h[b] = typed.sum()
        N = blk["n"][:, p][typed].mean()
        R = {"U": blk["svd"].u, "svs": blk["svd"].s}
        R2 = {"U": blk["svd2"].u, "svs": blk["svd2"].s}
        sigma2g = world["sigma2g"][p]
        winv_ahat = _ref_invert_weights(R, R2, sigma2g, N, ahat, mode=mode)
        winv_rv = _ref_invert_weights(R, R2, sigma2g, N, rv_all, typed=typed, mode=mode)
        numerators[b] = rv_all[typed].T.dot(winv_ahat[typed]) / 1e6
        denominators[b] = rv_all[typed].T.dot(winv_rv[typed]) / 1e6
    ldblocks = pd.DataFrame({"M_H": [m_h[b] for b in range(len(world["blocks"]))]}, dtype=float)
    return ldblocks, numerators, denominators


def _ref_collapse_to_chunks(ldblocks, numerators, denominators, numblocks):
    ldblocks = ldblocks.copy()
    ldblocks["M_H"] = ldblocks.M_H.fillna(0)
    totalM = ldblocks.M_H.sum()
    chunksize = totalM / numblocks
    avgldblocksize = totalM / (ldblocks.M_H != 0).sum()
    chunkendpoints = [0]
    currldblock = 0; currsize = 0
    while currldblock < len(ldblocks):
        while currsize <= max(1, chunksize - avgldblocksize / 2) and currldblock < len(ldblocks):
            currsize += ldblocks.iloc[currldblock].M_H
            currldblock += 1
        currsize = 0
        chunkendpoints += [currldblock]
    chunk_nums = []; chunk_denoms = []; members = []
    for i, j in zip(chunkendpoints[:-1], chunkendpoints[1:]):
        ldblock_ind = [l for l in ldblocks.iloc[i:j].index if l in numerators.keys()]
        if len(ldblock_ind) > 0:
            chunk_nums.append(sum([numerators[l] for l in ldblock_ind]))
            chunk_denoms.append(sum([denominators[l] for l in ldblock_ind]))
            members.append(ldblock_ind)
    loonumerators = []; loodenominators = []
    for i in range(len(chunk_nums)):
        loonumerators.append(sum(chunk_nums[:i] + chunk_nums[(i + 1):]))
        loodenominators.append(sum(chunk_denoms[:i] + chunk_denoms[(i + 1):]))
    return chunk_nums, chunk_denoms, loonumerators, loodenominators, chunkendpoints, members


def _ref_get_est(num, denom, k, num_background):
    ind = list(range(num_background)) + [num_background + k]
    num = num[ind]
    denom = denom[ind][:, ind]
    try:
        return np.linalg.solve(denom, num)[-1]
    except np.linalg.LinAlgError:
        return np.nan


def _ref_jackknife_se(est, loonumerators, loodenominators, k, num_background):
    m = np.ones(len(loonumerators))
    theta_notj = [_ref_get_est(nu, de, k, num_background) for nu, de in zip(loonumerators, loodenominators)]
    g = len(m)
    n = m.sum()
    h = n / m
    theta_J = g * est - ((n - m) / n * theta_notj).sum()
    tau = est * h - (h - 1) * theta_notj
    return np.sqrt(np.mean((tau - theta_J) ** 2 / (h - 1)))


def _ref_residualize(chunk_nums, chunk_denoms, num_background, k):
    mux = np.zeros(0); muy = np.zeros(0)   # the harness's patch for runs without background
    q = np.array([num[num_background + k] for num in chunk_nums])
    r = np.array([denom[num_background + k, num_background + k] for denom in chunk_denoms])
    if num_background > 0:
        num = sum(chunk_nums)
        denom = sum(chunk_denoms)
        ATA = denom[:num_background][:, :num_background]
        ATy = num[:num_background]
        ATx = denom[:num_background][:, num_background + k]
        muy = np.linalg.solve(ATA, ATy)
        mux = np.linalg.solve(ATA, ATx)
        xiaiT = np.array([d[num_background + k, :num_background] for d in chunk_denoms])
        yiaiT = np.array([nu[:num_background] for nu in chunk_nums])
        aiaiT = np.array([d[:num_background][:, :num_background] for d in chunk_denoms])
        q = q - xiaiT.dot(muy) - yiaiT.dot(mux) + aiaiT.dot(muy).dot(mux)
        r = r - 2 * xiaiT.dot(mux) + aiaiT.dot(mux).dot(mux)
    return q, r, mux, muy


def _ref_results(world, p, marginal, background, n_chunks, mode="Winv_ahat_h"):
    ldblocks, nums, dens = _ref_blocks(world, p, marginal, background, mode)
    cn, cd, ln, ld, ends, members = _ref_collapse_to_chunks(ldblocks, nums, dens, n_chunks)
    nb = len(background)
    out = []
    for k in range(len(marginal)):
        mu = _ref_get_est(sum(cn), sum(cd), k, nb)
        q, r, mux, muy = _ref_residualize(cn, cd, nb, k)
        se = _ref_jackknife_se(mu, ln, ld, k, nb)
        z_fast = np.sum(q) / np.linalg.norm(q)
        sqnorm, supp, M = world["sqnorm"][marginal[k]], world["supp"][marginal[k]], world["M"]
        h2g, sigma2g = world["h2g"][p], world["sigma2g"][p]
        rf = mu * np.sqrt(sqnorm / h2g)
        h2v_h2g = rf ** 2 - se ** 2 * sqnorm / (M * sigma2g)
        out.append(dict(mu=mu, se=se, q=q, r=r, z_fast=z_fast, p_fast=st.chi2.sf(z_fast ** 2, 1), rf=rf,
                        h2v_h2g=h2v_h2g, h2v=h2v_h2g * h2g, supp_M=supp / M, mux=mux, muy=muy))
    return out, dict(m_h=ldblocks.M_H.to_numpy(), nums=nums, dens=dens, members=members, ends=ends)


# -- a tiny world -------------------------------------------------------------------------------------

SIZES = [8, 12, 0, 10, 2, 9, 11, 7, 10, 6, 12, 9, 8, 10]
NO_PRINT, PAIR, ZERO_ANNOT, UNTYPED_P1 = 9, 4, 7, 5


def _world(seed=0, n_ref=60, p=3, k=3, nb=2):
    rng = np.random.default_rng(seed)
    blocks = []
    for b, m in enumerate(SIZES):
        lat = rng.normal(size=(2 * n_ref, m))
        for j in range(1, m):
            lat[:, j] = 0.8 * lat[:, j - 1] + 0.6 * lat[:, j]
        hap = (lat > rng.normal(0.5, 0.5, m)).astype(float)
        dos = hap[:n_ref] + hap[n_ref:]
        if b == PAIR:
            dos[:, 1] = dos[:, 0]
        x = standardize_genotypes(dos)
        reg = rng.random(m) < 0.75
        if b == PAIR:
            reg[:] = True
        if b == NO_PRINT:
            reg[:] = False
        v = rng.normal(size=(m, k)) * (rng.random((m, k)) < 0.6)
        vb = rng.normal(size=(m, nb))
        if b == ZERO_ANNOT:
            v[:] = 0
            vb[:] = 0
        rv = signed_ld_profile(x, v, rows=reg)
        rv_bg = signed_ld_profile(x, vb, rows=reg)
        mo = int(reg.sum())
        ahat = 0.01 * rv[:, [0]] + 0.004 * rv_bg[:, [0]] + rng.normal(size=(mo, p)) / np.sqrt(5000)
        ahat[:, 1] += 0.03 * rv[:, 1]
        drop = rng.random((mo, p)) < np.array([0.0, 0.1, 0.3])   # phenotypes differ in typed SNPs
        ahat[drop] = np.nan
        if b == UNTYPED_P1:
            ahat[:, 1] = np.nan
        n = np.column_stack([rng.integers(4000, 6000, mo), np.full(mo, 5000), rng.integers(1000, 3000, mo)])
        n = n.astype(float)
        blocks.append(dict(x=x, reg=reg, v=v, rv=rv, rv_bg=rv_bg, ahat=ahat, n=n,
                           svd=ld_svd(x[:, reg]) if mo else None,
                           svd2=ld2_svd(x[:, reg], x) if mo else None))
    v_all = np.vstack([blk["v"] for blk in blocks])
    return dict(blocks=blocks, sigma2g=np.array([2e-4, 5e-5, -1e-5]), h2g=np.array([0.2, 0.05, 0.03]),
                sqnorm=(v_all ** 2).sum(axis=0), supp=(v_all != 0).sum(axis=0).astype(float), M=len(v_all))


@pytest.fixture(scope="module")
def world():
    return _world()


def _products(world, *, marginal=None, background=None, phenos=None, mode="Winv_ahat_h"):
    out = []
    for blk in world["blocks"]:
        mk = slice(None) if marginal is None else marginal
        bk = slice(None) if background is None else background
        pk = slice(None) if phenos is None else phenos
        svd = blk["svd2"] if mode == "Winv_ahat_h2" else blk["svd"]
        out.append(block_products(blk["rv"][:, mk], blk["ahat"][:, pk], n=blk["n"][:, pk],
                                  sigma2g=world["sigma2g"][pk], rv_background=blk["rv_bg"][:, bk], svd=svd,
                                  weights=mode))
    return out


# -- tests --------------------------------------------------------------------------------------------

def test_svd_truncation_matches_eigendecomposition(world):
    for blk in world["blocks"]:
        if blk["svd"] is None:
            continue
        xo = blk["x"][:, blk["reg"]]
        u, s = _ref_svd(xo)
        got = blk["svd"]
        assert got.k == len(s)
        np.testing.assert_allclose(got.s, s, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got.u @ got.u.T, u @ u.T, atol=1e-8)
    assert world["blocks"][PAIR]["svd"].k == 0      # one eigenvalue holds 100%: sldp keeps none
    with pytest.raises(ValueError, match="without regression SNPs"):
        ld_svd(np.zeros((10, 0)))


def test_invert_weights_all_modes(world):
    blk = world["blocks"][0]
    R = {"U": blk["svd"].u, "svs": blk["svd"].s}
    R2 = {"U": blk["svd2"].u, "svs": blk["svd2"].s}
    x = blk["ahat"][:, 2]
    for mode in ("Winv_ahat_h", "Winv_ahat_I", "Winv_ahat_hlN", "Winv_ahat_h2"):
        want = _ref_invert_weights(R, R2, 3e-4, 2000.0, x, mode=mode)
        svd = blk["svd2"] if mode == "Winv_ahat_h2" else blk["svd"]
        got = invert_weights(svd, x, sigma2g=3e-4, n=2000.0, weights=mode)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="unknown weights"):
        invert_weights(blk["svd"], x, sigma2g=1e-4, n=1e3, weights="Winv_ahat")


@pytest.mark.parametrize("mode", ["Winv_ahat_h", "Winv_ahat_I", "Winv_ahat_hlN", "Winv_ahat_h2"])
def test_block_products_match_reference(world, mode):
    blocks = _products(world, mode=mode)
    for p in range(3):
        ldb, nums, dens = _ref_blocks(world, p, [0, 1, 2], [0, 1], mode)
        np.testing.assert_array_equal([b.m_h[p] for b in blocks], ldb.M_H.to_numpy())
        for b, blk in enumerate(blocks):
            if b not in nums:
                assert np.all(blk.num[p] == 0) and np.all(blk.den[p] == 0)
                continue
            np.testing.assert_allclose(blk.num_bg[p], nums[b][:2], rtol=1e-9, atol=1e-14)
            np.testing.assert_allclose(blk.num[p], nums[b][2:], rtol=1e-9, atol=1e-14)
            np.testing.assert_allclose(blk.den_bg[p], dens[b][:2, :2], rtol=1e-9, atol=1e-14)
            np.testing.assert_allclose(blk.den_cross[p], dens[b][:2, 2:], rtol=1e-9, atol=1e-14)
            np.testing.assert_allclose(blk.den[p], np.diag(dens[b][2:, 2:]), rtol=1e-9, atol=1e-14)
    assert blocks[NO_PRINT].reason == "no regression SNPs" and blocks[2].reason == "no regression SNPs"
    assert blocks[ZERO_ANNOT].reason == "annotations all zero"
    assert blocks[UNTYPED_P1].m_h[1] == 0 and blocks[UNTYPED_P1].m_h[0] > 0


def test_chunking_matches_collapse_to_chunks():
    rng = np.random.default_rng(7)
    for trial in range(30):
        m_h = rng.integers(0, 40, size=rng.integers(5, 60)).astype(float)
        m_h[rng.random(len(m_h)) < 0.3] = 0
        if not m_h.any():
            continue
        n_chunks = int(rng.integers(1, 20))
        nums = {b: np.array([float(b)]) for b in range(len(m_h)) if m_h[b] > 0}
        ref = _ref_collapse_to_chunks(pd.DataFrame({"M_H": m_h}), nums, nums, n_chunks)
        np.testing.assert_array_equal(chunk_endpoints(m_h, n_chunks=n_chunks), ref[4])
        lab = assign_chunks(m_h, n_chunks=n_chunks)
        for c, members in enumerate(ref[5]):
            assert sorted(np.flatnonzero(lab == c)) == members
        assert lab.max() + 1 == len(ref[5])
        assert np.all(lab[m_h == 0] == -1)
    with pytest.raises(ValueError, match="no LD block"):
        chunk_endpoints(np.zeros(4))


@pytest.mark.parametrize("background", [[0, 1], []])
def test_fit_matches_reference(world, background):
    n_chunks = 6
    blocks = _products(world, background=background)
    fit = fit_sldp(sum_chunks(blocks, n_chunks=n_chunks))
    table = sldp_table(fit, h2g=world["h2g"], sigma2g=world["sigma2g"], sqnorm=world["sqnorm"],
                       supp=world["supp"], m=world["M"], annotation_names=["a.R", "b.R", "c.R"],
                       phenotype_names=["p0", "p1", "p2"])
    for p in range(3):
        ref, _ = _ref_results(world, p, [0, 1, 2], background, n_chunks)
        c = len(ref[0]["q"])
        assert fit.n_chunks[p] == c
        for k in range(3):
            rr = ref[k]
            np.testing.assert_allclose(fit.mu[p, k], rr["mu"], rtol=1e-9)
            np.testing.assert_allclose(fit.se[p, k], rr["se"], rtol=1e-9)
            np.testing.assert_allclose(fit.q[:c, p, k], rr["q"], rtol=1e-9, atol=1e-12 * np.abs(rr["q"]).max())
            np.testing.assert_allclose(fit.r[:c, p, k], rr["r"], rtol=1e-9)
            assert np.all(fit.q[c:, p, k] == 0) and np.all(fit.r[c:, p, k] == 0)
            np.testing.assert_allclose(fit.mux[p, :, k], rr["mux"], rtol=1e-9)
            np.testing.assert_allclose(fit.muy[p], rr["muy"], rtol=1e-9)
            row = table.iloc[p * 3 + k]
            assert row.pheno == f"p{p}" and row.annot == "abc"[k] + ".R"
            for col, key in [("z_fast", "z_fast"), ("p_fast", "p_fast"), ("rf", "rf"), ("h2v/h2g", "h2v_h2g"),
                             ("h2v", "h2v"), ("supp(v)/M", "supp_M"), ("mu", "mu"), ("se(mu)", "se")]:
                np.testing.assert_allclose(row[col], rr[key], rtol=1e-8, err_msg=col)
    assert list(table.columns) == ["pheno", "annot", "z", "p", "z_fast", "p_fast", "mu", "se(mu)", "h2g", "rf",
                                   "h2v/h2g", "h2v", "supp(v)/M"]


@pytest.mark.parametrize("background", [[0, 1], []])
def test_fit_stages_match_reference(world, background):
    """fit_sldp's stages, one at a time, against get_est / residualize / jackknife_se transcribed."""
    chunks = sum_chunks(_products(world, background=background), n_chunks=6)
    muy, mux = background_coefficients(chunks)
    assert muy.shape == (3, len(background)) and mux.shape == (3, len(background), 3)
    mu = joint_estimate(chunks, muy=muy, mux=mux)
    q, r = residualize(chunks, muy=muy, mux=mux)
    se = jackknife_se(chunks, mu=mu)
    fit = fit_sldp(chunks)
    for got, want in ((muy, fit.muy), (mux, fit.mux), (mu, fit.mu), (q, fit.q), (r, fit.r), (se, fit.se)):
        np.testing.assert_array_equal(got, want)
    # batches of annotations bound memory; they change only the rounding
    np.testing.assert_allclose(residualize(chunks, muy=muy, mux=mux, batch_annotations=2)[1], r, rtol=1e-12)
    np.testing.assert_allclose(jackknife_se(chunks, mu=mu, batch_annotations=2), se, rtol=1e-12)
    assert fit.chunks is chunks
    for p in range(3):
        ldb, nums, dens = _ref_blocks(world, p, [0, 1, 2], background)
        cn, cd, ln, ld, _, _ = _ref_collapse_to_chunks(ldb, nums, dens, 6)
        c = len(cn)
        for k in range(3):
            ref_mu = _ref_get_est(sum(cn), sum(cd), k, len(background))
            ref_q, ref_r, ref_mux, ref_muy = _ref_residualize(cn, cd, len(background), k)
            np.testing.assert_allclose(mu[p, k], ref_mu, rtol=1e-9)
            np.testing.assert_allclose(mux[p, :, k], ref_mux, rtol=1e-9)
            np.testing.assert_allclose(muy[p], ref_muy, rtol=1e-9)
            np.testing.assert_allclose(q[:c, p, k], ref_q, rtol=1e-9, atol=1e-12 * np.abs(ref_q).max())
            np.testing.assert_allclose(r[:c, p, k], ref_r, rtol=1e-9)
            assert np.all(q[c:, p, k] == 0) and np.all(r[c:, p, k] == 0)
            np.testing.assert_allclose(se[p, k], _ref_jackknife_se(ref_mu, ln, ld, k, len(background)), rtol=1e-9)
    if background:
        with pytest.raises(ValueError, match="1 background names for 2"):
            background_coefficients(chunks, background_names=["bg"])


def test_many_annotations_and_phenotypes_equal_one_at_a_time(world):
    n_chunks = 20   # every block its own chunk: the sign flip can reach p < 0.01
    table, fit = fit_blocks(_products(world), h2g=world["h2g"], sigma2g=world["sigma2g"], sqnorm=world["sqnorm"],
                          supp=world["supp"], m=world["M"], annotation_names=list("abc"),
                          phenotype_names=["p0", "p1", "p2"], n_chunks=n_chunks, rng=11, n_draws=4000,
                          draw_block=1000)
    for p in range(3):
        for k in range(3):
            t1, f1 = fit_blocks(_products(world, marginal=[k], phenos=[p]), h2g=world["h2g"][p],
                              sigma2g=world["sigma2g"][p], sqnorm=world["sqnorm"][k], supp=world["supp"][k],
                              m=world["M"], annotation_names=["abc"[k]], phenotype_names=[f"p{p}"],
                              n_chunks=n_chunks, rng=11, n_draws=4000, draw_block=1000)
            c = f1.n_chunks[0]
            np.testing.assert_allclose(f1.q[:, 0, 0], fit.q[:c, p, k], rtol=1e-12, atol=1e-20)
            np.testing.assert_allclose(f1.r[:, 0, 0], fit.r[:c, p, k], rtol=1e-12)
            for col in ["mu", "se(mu)", "z_fast", "p_fast", "rf", "h2v/h2g", "h2v"]:
                np.testing.assert_allclose(t1[col].iat[0], table[col].iat[p * 3 + k], rtol=1e-11, err_msg=col)
            assert t1.p.iat[0] == table.p.iat[p * 3 + k]
            assert t1.z.iat[0] == table.z.iat[p * 3 + k]
    assert table.p.notna().all()
    # the planted effect on annotation b of phenotype 1 is found; the sign flip's smallest p is 2 / 2^C
    row = table[(table.pheno == "p1") & (table.annot == "b")].iloc[0]
    assert fit.n_chunks[1] >= 10 and row.p < 0.01 and row.z > 2.5 and row.mu > 0


def test_sum_chunks_streams_with_labels(world):
    blocks = _products(world)
    lab = assign_chunks(np.stack([b.m_h for b in blocks]), n_chunks=4)
    a = sum_chunks(iter(blocks), chunk_of_block=lab)
    b = sum_chunks(blocks, n_chunks=4)
    np.testing.assert_array_equal(a.num, b.num)
    np.testing.assert_array_equal(a.n_chunks, b.n_chunks)
    assert np.all(a.numsnps.sum(axis=0) == np.stack([bb.m_h for bb in blocks]).sum(axis=0))
    with pytest.raises(ValueError, match="blocks for"):
        sum_chunks(iter(blocks[:-1]), chunk_of_block=lab)


def test_h2g_aggregate_estimator_and_floor():
    rng = np.random.default_rng(3)
    z = rng.normal(size=400) * 1.3
    n = rng.integers(5000, 9000, 400).astype(float)
    l2 = rng.uniform(1, 100, 400)
    l2[:20] = np.nan
    z[390:] = np.nan
    ss = pd.DataFrame({"SNP": np.arange(400), "Z": z, "N": n})
    ss = ss[ss.Z.notnull() & ss.N.notnull()]
    ssld = pd.merge(ss, pd.DataFrame({"SNP": np.arange(400), "L2": l2}), on="SNP", how="left")
    meanchi2 = (ssld.Z ** 2).mean()
    meanNl2 = (ssld.N * ssld.L2).mean()
    sigma2g = (meanchi2 - 1) / meanNl2
    est = estimate_h2g(z, n, l2, m=5e6)
    assert np.isclose(est.sigma2g, sigma2g, rtol=1e-12)
    assert np.isclose(est.h2g, max(sigma2g * 5e6, 0.03), rtol=1e-12)
    assert np.isclose(est.k, 5e6 / meanNl2) and est.n_snps == 390
    low = estimate_h2g(z / 1.3, n, l2, m=1e4)
    assert low.h2g == 0.03 and low.sigma2g == low.h2g_raw / 1e4 and low.h2g_raw < 0.03


def test_all_zero_annotation_is_nan_and_logged(world, caplog):
    blocks = []
    for blk in world["blocks"]:
        rv = np.column_stack([blk["rv"][:, 0], np.zeros(len(blk["rv"]))])
        blocks.append(block_products(rv, blk["ahat"], n=blk["n"], sigma2g=world["sigma2g"],
                                     rv_background=blk["rv_bg"], svd=blk["svd"]))
    with caplog.at_level(logging.WARNING, logger="stats"):
        table, fit = fit_blocks(blocks, h2g=world["h2g"], sigma2g=world["sigma2g"], sqnorm=[1.0, 0.0], supp=[1, 0],
                              m=world["M"], annotation_names=["a", "zero"], phenotype_names=["p0", "p1", "p2"],
                              background_names=["bg0", "bg1"], n_chunks=5, rng=1, n_draws=2000, draw_block=1000)
    assert np.all(np.isnan(fit.mu[:, 1])) and np.all(np.isfinite(fit.mu[:, 0]))
    assert table.loc[table.annot == "zero", ["p", "z", "z_fast"]].isna().all().all()
    assert "undefined" in caplog.text and "zero" in caplog.text and "3 of 6" in caplog.text
    full, _ = fit_blocks(_products(world, marginal=[0]), h2g=world["h2g"], sigma2g=world["sigma2g"],
                       sqnorm=[1.0], supp=[1], m=world["M"], annotation_names=["a"],
                       phenotype_names=["p0", "p1", "p2"], n_chunks=5, signflip=False)
    np.testing.assert_allclose(table.loc[table.annot == "a", "mu"], full.mu, rtol=1e-12)


def test_collinear_background_is_named(world):
    blocks = []
    for blk in world["blocks"]:
        bg = np.column_stack([blk["rv_bg"], 2 * blk["rv_bg"][:, 0] - blk["rv_bg"][:, 1]])
        blocks.append(block_products(blk["rv"], blk["ahat"], n=blk["n"], sigma2g=world["sigma2g"],
                                     rv_background=bg, svd=blk["svd"]))
    with pytest.raises(ValueError, match=r"collinear: 'bg2' is a linear combination of \['bg0', 'bg1'\]"):
        fit_sldp(sum_chunks(blocks, n_chunks=5), background_names=["bg0", "bg1", "bg2"])
    blocks = [block_products(blk["rv"], blk["ahat"], n=blk["n"], sigma2g=world["sigma2g"],
                             rv_background=np.column_stack([blk["rv_bg"][:, 0], 0 * blk["rv_bg"][:, 0]]),
                             svd=blk["svd"]) for blk in world["blocks"]]
    with pytest.raises(ValueError, match="'dead' has a zero signed LD profile"):
        fit_sldp(sum_chunks(blocks, n_chunks=5), background_names=["live", "dead"])


def test_empty_block_and_bad_inputs(world, caplog):
    blk = world["blocks"][0]
    empty = block_products(np.zeros((0, 3)), np.zeros((0, 3)), n=np.zeros((0, 3)), sigma2g=world["sigma2g"],
                           rv_background=np.zeros((0, 2)), svd=None)
    assert empty.reason == "no regression SNPs" and np.all(empty.m_h == 0) and empty.shape == (3, 2, 3)
    with caplog.at_level(logging.INFO, logger="stats.sldp.regression"):
        sum_chunks(_products(world), n_chunks=5)
    assert "2 no regression SNPs" in caplog.text and "1 annotations all zero" in caplog.text
    rv = blk["rv"].copy()
    rv[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        block_products(rv, blk["ahat"], n=blk["n"], sigma2g=world["sigma2g"], svd=blk["svd"])
    n = blk["n"].copy()
    n[0, 0] = np.nan
    with pytest.raises(ValueError, match="sample sizes"):
        block_products(blk["rv"], blk["ahat"], n=n, sigma2g=world["sigma2g"], svd=blk["svd"])
    with pytest.raises(ValueError, match="sigma2g"):
        block_products(blk["rv"], blk["ahat"], n=blk["n"], sigma2g=[np.nan, 1, 1], svd=blk["svd"])
    with pytest.raises(ValueError, match="must match"):
        block_products(blk["rv"][1:], blk["ahat"][1:], n=blk["n"][1:], sigma2g=world["sigma2g"], svd=blk["svd"])
    with pytest.raises(ValueError, match="no chunk holds data"):
        sum_chunks([BlockProducts.empty(3, 0, 1, "no regression SNPs")], chunk_of_block=np.full((1, 3), -1))
    with pytest.raises(ValueError, match="rng"):
        fit_blocks(_products(world), h2g=0.1, sigma2g=1e-4, sqnorm=1, supp=1, m=1, annotation_names=list("abc"),
                 phenotype_names=["a", "b", "c"], n_chunks=5)
    # a phenotype-constant n works like a per-SNP column of that value
    a = block_products(blk["rv"], blk["ahat"][:, 1], n=5000.0, sigma2g=5e-5, svd=blk["svd"])
    b = block_products(blk["rv"], blk["ahat"][:, [1]], n=blk["n"][:, [1]], sigma2g=[5e-5], svd=blk["svd"])
    np.testing.assert_allclose(a.num, b.num, rtol=1e-14)
    assert isinstance(blk["svd"], LdSvd)


@pytest.mark.parametrize("n,m", [(120, 260), (150, 60), (80, 80)])
def test_ld_svd_gram_route_matches_thin_svd(n, m):
    """ld_svd's eigh of the smaller Gram matrix gives sldp's thin-SVD numbers: the same kept count,
    the eigenvalues and U diag(f(s)) U^T (invariant to signs / rotations in repeated eigenvalues),
    also with a monomorphic and a duplicated SNP (zero eigenvalues)."""
    rng = np.random.default_rng(n + m)
    z = rng.standard_normal((n, m)).cumsum(axis=1) * 0.3 + rng.standard_normal((n, m))
    g = (z > 0).astype(float) + (np.roll(z, 1, axis=0) > 0.5)
    g[:, 3] = 1.0
    g[:, 9] = g[:, 8]
    x = standardize_genotypes(g)
    for pct in (50.0, 95.0, 99.9):
        got = ld_svd(x, spectrum_percent=pct)
        u, sv, _ = np.linalg.svd(x.T, full_matrices=False)
        s = sv ** 2 / n
        k = int(np.argmax(np.cumsum(s) / s.sum() >= pct / 100))
        assert got.k == k and got.u.shape == (m, k)
        np.testing.assert_allclose(got.s, s[:k], rtol=1e-12)
        d = 1.0 / (1e-4 * s[:k] ** 2 + s[:k] / 5e4)
        want = (u[:, :k] * d) @ u[:, :k].T
        np.testing.assert_allclose((got.u * d) @ got.u.T, want, rtol=0, atol=1e-10 * np.abs(want).max())
        np.testing.assert_allclose(got.u.T @ got.u, np.eye(k), atol=1e-10)


def test_h2g_refused_from_a_handful_of_snps():
    from stats.sldp.regression import H2G_MIN_SNPS, estimate_h2g

    rng = np.random.default_rng(0)
    z, n, l2 = rng.normal(0, 2, 4), np.full(4, 1e5), rng.uniform(1, 50, 4)
    with pytest.raises(ValueError, match=r"too few SNPs to estimate h2g \(n = 4 "):
        estimate_h2g(z, n, l2, m=1e6)
    k = H2G_MIN_SNPS
    l2_some = np.r_[rng.uniform(1, 50, k - 1), np.full(5, np.nan)]  # SNPs without an LD score do not count
    with pytest.raises(ValueError, match=f"n = {k - 1} "):
        estimate_h2g(rng.normal(0, 2, k + 4), np.full(k + 4, 1e5), l2_some, m=1e6)
    assert estimate_h2g(rng.normal(0, 2, k), np.full(k, 1e5), rng.uniform(1, 50, k), m=1e6).n_snps == k

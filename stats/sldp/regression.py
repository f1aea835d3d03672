"""Signed LD profile (SLDP) regression, the numerical core of sldp 1.1.5 (Reshef et al. 2018).

Pipeline (every step mirrors a function of the reference, named below; the agreement is tested against
its frozen numbers in ``tests/stats/fixtures/sldp_1.1.5``):

1. per LD block, once for all annotations and phenotypes: the truncated eigen-decomposition
   ``R_o ~ U diag(s) U^T`` of the LD among the block's regression SNPs (:func:`ld_svd`,
   ``preprocessrefpanel``; :func:`ld2_svd` for the ``R^2`` variant);
2. per phenotype: heritability by the aggregate estimator (:func:`estimate_h2g`,
   ``preprocesspheno.esth2g``) and ``alpha_hat = Z / sqrt(N)``;
3. per block: the weighted numerators and denominators over ``[background..., v]`` for all
   annotations and all phenotypes at once (:func:`block_products`; ``weights.invert_weights`` and the
   block loop of ``sldp.main``), scaled by ``1e-6`` as sldp does;
4. blocks are merged into ~300 chunks of contiguous blocks (:func:`assign_chunks`,
   ``chunkstats.collapse_to_chunks``) and summed (:func:`sum_chunks`);
5. the estimate, the residualized per-chunk ``q`` and ``r``, and the jackknife SE (:func:`fit_sldp`:
   :func:`background_coefficients`, :func:`joint_estimate`, :func:`residualize`, :func:`jackknife_se`;
   ``chunkstats.get_est``, ``residualize``, ``jackknife_se``);
6. the fast p-value, sign-flip p-value (:mod:`stats.sldp.signflip`) and ``rf``, ``h2v/h2g``, ``h2v``,
   ``supp(v)/M`` (:func:`sldp_table`).

How the work is shared. The weights are ``W^-1 = U diag(d) U^T`` with ``d`` a function of the
phenotype (``sigma2g``, the block's mean ``N``) and of ``s`` only. With ``A = U_t^T RV_t`` (``k x K``)
and ``B = U_t^T alpha_hat_t`` (``k x P``), where ``t`` are the block's typed SNPs, the block numerator
is ``A^T (d * B)`` and the denominator ``A^T diag(d) A``: ``U``, ``s`` are phenotype-independent,
``A`` is computed once per block for every phenotype with the same typed SNPs (phenotypes are grouped
by typed set), and each phenotype costs only the ``k``-sized diagonal. A block with more regression
SNPs than panel individuals keeps ``U`` as its factors (:class:`GramLdSvd`): ``A`` and ``B`` then come
from one product of all their columns with the block's genotypes, while they are fewer than ``k``.
Only the parts of the denominator the regression uses are kept: background x background, background x annotation and the
annotation diagonal (the estimate for annotation ``v`` uses ``[background..., v]`` only). The
estimate is obtained through the Schur complement, so ``Dbb^-1`` per phenotype and chunk is shared by
all annotations.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from genocore.workspace import thread_array
from stats.ld.moments import genotype_counts, standardize_counts, standardized_gram, standardized_product
from stats.sldp.ld_eigen import keep_count, leading_eigenpairs
from stats.sldp.signflip import DRAW_BLOCK, N_DRAWS, STOP_P, fast_z, signflip_test

logger = logging.getLogger(__name__)

#: Weight modes of ``sldp.weights.invert_weights`` supported here.
WEIGHTS = ("Winv_ahat_h", "Winv_ahat_I", "Winv_ahat_hlN", "Winv_ahat_h2")
#: sldp divides every block numerator and denominator by 1e6 (``sldp.main``); q and r carry it.
BLOCK_DIVISOR = 1e6
#: The floor sldp puts on the aggregate h2g estimate (``preprocesspheno``).
H2G_FLOOR = 0.03
#: Fewest SNPs (with Z, N and an LD score) from which h2g is estimated: below, mean chi^2 is noise.
H2G_MIN_SNPS = 20


# -- 1. LD eigen-decomposition per block ---------------------------------------------------------------

@dataclass(frozen=True)
class LdSvd:
    """Truncated eigen-decomposition of a block's LD among regression SNPs, ``R_o ~ u diag(s) u^T``.

    Attributes
    ----------
    u : ndarray, float64, shape (m, k)
        Leading eigenvectors (rows follow the block's regression SNPs).
    s : ndarray, float64, shape (k,)
        Their eigenvalues (of ``R_o``, i.e. squared singular values of ``X_o`` over ``n_ref``; for
        :func:`ld2_svd` the singular values of ``R^2_o``).
    """

    u: np.ndarray
    s: np.ndarray

    @property
    def m(self) -> int:
        return self.u.shape[0]

    @property
    def k(self) -> int:
        return self.s.shape[0]

    @property
    def factored(self) -> bool:
        """Whether ``u`` is kept as factors that cost more to multiply by many columns than ``u`` itself."""
        return False

    def project(self, y: np.ndarray) -> np.ndarray:
        """``u^T y`` for ``y`` of shape (m, c): shape (k, c)."""
        return self.u.T @ y


class GramLdSvd(LdSvd):
    """:class:`LdSvd` of a block with at least as many regression SNPs as individuals, kept as the factors
    of ``u = X_o^T V_k diag(w_k)^-1/2`` (``V_k``, ``w_k``: leading eigenpairs of ``X_o X_o^T``).

    Forming ``u`` costs ``2 m n_ref k`` flops per block and forming ``V_k`` another ``2 n_ref^2 k``
    (together 40% of a full-rank block's time); the factors are the int8 genotypes and ``V_k`` as LAPACK
    leaves it (:class:`stats.sldp.ld_eigen.LeadingVectors`), about ``n_ref (n_ref / 2 + k) 8 + m n_ref``
    bytes against ``u``'s ``8 m k``. ``u^T y = w_k^-1/2 V_k^T (X_o y)`` standardizes the genotypes again,
    exactly as the decomposition did, inside the product (:func:`stats.ld.moments.standardized_product`),
    which is cheaper than ``u`` while ``y`` has fewer columns than ``k`` (:func:`block_products` decides).
    ``u`` is formed on first use and kept.

    Parameters
    ----------
    s : ndarray, float64, shape (k,)
        Kept eigenvalues of ``R_o``.
    vectors : LeadingVectors, shape (n_ref, k)
        ``V_k``.
    w : ndarray, float64, shape (k,)
        Kept eigenvalues of ``X_o X_o^T`` (``n_ref s``).
    g : ndarray, int8, shape (n_ref, m)
        The regression SNPs' allele counts.
    counts : ndarray, int, shape (m, 3)
        Their :func:`stats.ld.moments.genotype_counts`.
    """

    def __init__(self, s: np.ndarray, vectors, w: np.ndarray, g: np.ndarray, counts: np.ndarray):
        fields = (("s", s), ("vectors", vectors), ("scale", 1.0 / np.sqrt(w)), ("g", np.asfortranarray(g)),
                  ("counts", counts), ("_u", None))
        for name, value in fields:
            object.__setattr__(self, name, value)  # frozen like LdSvd

    def __repr__(self) -> str:
        return f"GramLdSvd(m={self.m}, k={self.k}, n_ref={self.g.shape[0]})"

    @property
    def u(self) -> np.ndarray:
        if self._u is None:
            v = self.vectors.dense()
            v *= self.scale
            object.__setattr__(self, "_u", np.ascontiguousarray(self._x().T @ v))
        return self._u

    @property
    def m(self) -> int:
        return self.g.shape[1]

    @property
    def factored(self) -> bool:
        return self._u is None

    def project(self, y: np.ndarray) -> np.ndarray:
        if self._u is not None:
            return self._u.T @ y
        z = self.vectors.t_dot(standardized_product(self.g, y, counts=self.counts))
        z *= self.scale[:, None]
        return z

    def _x(self) -> np.ndarray:
        """``X_o`` in this thread's kept array (used up by the caller before the thread's next use)."""
        return standardize_counts(self.g, out=thread_array("sldp.gram_svd_x", self.g.shape, order="F"),
                                  counts=self.counts)


def _truncate(u: np.ndarray, s: np.ndarray, spectrum_percent: float) -> LdSvd:
    k = keep_count(s, spectrum_percent)
    return LdSvd(np.ascontiguousarray(u[:, :k]), np.ascontiguousarray(s[:k]))


def ld_svd(x_reg: np.ndarray, *, spectrum_percent: float = 95.0,
           duplicates: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
           factors: tuple[np.ndarray, np.ndarray] | None = None) -> LdSvd:
    """Truncated eigen-decomposition of ``R_o = X_o^T X_o / n_ref`` (``preprocessrefpanel``'s ``.R.npz``).

    sldp takes the thin SVD of ``X_o^T``; eigenvalues ``s = sv^2 / n_ref``; keeps
    ``k = argmax(cumsum(s)/sum(s) >= p/100)`` leading eigenvectors (so the one crossing the threshold is
    dropped, and a block whose first eigenvalue holds ``p``% keeps none). The same numbers are computed
    here from the symmetric eigen-decomposition (LAPACK ``syevd``) of the smaller Gram matrix: for
    ``m >= n_ref`` of ``X_o X_o^T`` (``n_ref x n_ref``), whose eigenvalues are the ``min(n_ref, m)``
    squared singular values and whose eigenvectors ``v`` give the left singular vectors
    ``u = X_o^T v / sv``; for ``m < n_ref`` of ``X_o^T X_o`` directly. This is about 3x faster than the
    SVD; the kept eigenvalues and ``u diag(.) u^T`` agree with it to rounding (eigenvectors are defined up
    to sign, and to rotation within a repeated eigenvalue, which ``u diag(f(s)) u^T`` does not see). The
    Gram route loses relative precision only for eigenvalues near ``eps * s_max``, far beyond the cut;
    tiny negative rounding of zero eigenvalues is set to 0. A rank-deficient Gram matrix goes through its
    pivoted Cholesky factor instead (:mod:`stats.sldp.ld_eigen`; the same numbers to rounding, about 3x
    faster again in a coalescent block). SNPs with identical genotypes (``duplicates``) enter the Gram
    matrix once, weighted by their number: ``X_o X_o^T = X_d C X_d^T``, and their rows of ``u`` are equal.
    Falls back to the SVD of ``X_o^T`` (and then of ``X_o^T X_o``, as sldp does) when LAPACK fails.

    Parameters
    ----------
    x_reg : ndarray, float, shape (n_ref, m)
        Standardized genotypes of the block's regression (print) SNPs.
    spectrum_percent : float
        sldp's ``--spectrum-percent`` (default 95).
    duplicates : (first, inverse, counts), optional
        Groups of identical columns of ``x_reg`` (:func:`stats.ld.moments.identical_columns`).
    factors : (g_reg, counts), optional
        The int8 allele counts that ``x_reg`` standardizes (``standardize_counts(g_reg, counts=counts)``);
        when given and ``m >= n_ref``, a :class:`GramLdSvd` is returned (``u`` formed on use).

    Returns
    -------
    LdSvd
    """
    x = np.asarray(x_reg, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] == 0 or x.shape[0] == 0:
        raise ValueError(f"x_reg must be (n_ref, m) with n_ref, m > 0, got shape {x.shape}; a block "
                         "without regression SNPs has no SVD (pass svd=None to block_products)")
    n_ref, m = x.shape
    try:
        if duplicates is not None and len(duplicates[0]) < m:
            first, inverse, counts = duplicates
            merged = _ld_eigh(x[:, first] * np.sqrt(np.asarray(counts, dtype=np.float64)), spectrum_percent,
                              factors=factors)
            # the factors hold every SNP's genotypes: u = X_o^T V_k w^-1/2 needs no unmerging
            return merged if isinstance(merged, GramLdSvd) else LdSvd(_unmerged(merged.u, counts, inverse), merged.s)
        return _ld_eigh(x, spectrum_percent, factors=factors)
    except np.linalg.LinAlgError:
        logger.warning("eigen-decomposition of the Gram matrix failed; using the SVD of X_o")
    try:
        u, sv, _ = np.linalg.svd(x.T, full_matrices=False)
        s = sv ** 2 / n_ref
    except np.linalg.LinAlgError:
        logger.warning("SVD of X_o failed; using the SVD of X_o^T X_o (as sldp does)")
        u, s, _ = np.linalg.svd(x.T @ x)
        s = s / n_ref
    return _truncate(u, s, spectrum_percent)


def ld_svd_counts(g_reg: np.ndarray, *, spectrum_percent: float = 95.0,
                  duplicates: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                  x_reg: np.ndarray | Callable[[], np.ndarray] | None = None,
                  counts: np.ndarray | None = None) -> LdSvd:
    """:func:`ld_svd` of ``standardize_counts(g_reg)``, from the int8 allele counts where that is cheaper.

    When no call is missing and the block's distinct regression SNPs are fewer than the individuals, the
    decomposed Gram matrix is ``X_o^T X_o`` and is formed from integer products
    (:func:`stats.ld.moments.standardized_gram`: exact before the final scaling, so the same numbers to
    rounding, in half the time and without a float64 copy of the SNPs). Otherwise the standardized
    genotypes go through :func:`ld_svd`.

    Parameters
    ----------
    g_reg : ndarray, int8, shape (n_ref, m)
        Allele counts of the block's regression SNPs (``MISSING_INT8`` where missing).
    spectrum_percent : float
    duplicates : (first, inverse, counts), optional
        Groups of identical columns of ``g_reg`` (:func:`stats.ld.moments.identical_columns`).
    x_reg : ndarray, float64, shape (n_ref, m), or a callable returning it, optional
        ``standardize_counts(g_reg)`` when the caller has it already (needed only on the second route,
        so a callable is called only there).
    counts : ndarray, int, shape (m, 3), optional
        :func:`stats.ld.moments.genotype_counts` of ``g_reg`` when known already.

    Returns
    -------
    LdSvd
    """
    g_reg = np.asarray(g_reg)
    n_ref, m = g_reg.shape
    first, inverse, sizes = duplicates if duplicates is not None else (np.arange(m), None, np.ones(m, np.int64))
    if 0 < len(first) < n_ref:
        gram = standardized_gram(g_reg[:, first], weights=sizes, counts=None if counts is None else counts[first])
        if gram is not None:
            try:
                w, u, k = leading_eigenpairs(gram, spectrum_percent=spectrum_percent)
            except np.linalg.LinAlgError:
                pass                                 # ld_svd below falls back to the SVD
            else:
                return LdSvd(_unmerged(u, sizes, inverse), np.ascontiguousarray(w[:k] / n_ref))
    x = standardize_counts(g_reg, counts=counts) if x_reg is None else x_reg() if callable(x_reg) else x_reg
    factors = (g_reg, genotype_counts(g_reg) if counts is None else np.asarray(counts))
    return ld_svd(x, spectrum_percent=spectrum_percent, duplicates=duplicates, factors=factors)


def _unmerged(u_merged: np.ndarray, sizes, inverse: np.ndarray | None) -> np.ndarray:
    """Rows of ``u`` for every SNP from the decomposition of the merged, weighted SNPs: the eigenvectors
    of ``(X_d C^1/2)^T (X_d C^1/2)`` are ``C^1/2`` times the distinct rows of ``u``."""
    u = u_merged / np.sqrt(np.asarray(sizes, dtype=np.float64))[:, None]
    return np.ascontiguousarray(u if inverse is None else u[inverse])


def _ld_eigh(x: np.ndarray, spectrum_percent: float, *, factors: tuple[np.ndarray, np.ndarray] | None = None) -> LdSvd:
    """:func:`ld_svd` through the leading eigenpairs of the smaller Gram matrix (see there and
    :func:`stats.sldp.ld_eigen.leading_eigenpairs`); a :class:`GramLdSvd` of ``factors`` when given and
    the Gram matrix is ``X X^T``."""
    n_ref, m = x.shape
    wide = m >= n_ref
    side = n_ref if wide else m
    # numpy uses syrk: exactly symmetric; into this thread's kept array (decomposed from a copy)
    g = np.matmul(*((x, x.T) if wide else (x.T, x)), out=thread_array("ld_svd.gram", (side, side)))
    if wide and factors is not None:
        w, vectors, k = leading_eigenpairs(g, spectrum_percent=spectrum_percent, reflectors=True)
        return GramLdSvd(np.ascontiguousarray(w[:k] / n_ref), vectors, w[:k], *factors)
    w, vk, k = leading_eigenpairs(g, spectrum_percent=spectrum_percent)
    s = w / n_ref
    if wide:
        u = x.T @ vk
        u /= np.sqrt(w[:k])
    else:
        u = np.ascontiguousarray(vk)
    return LdSvd(u, np.ascontiguousarray(s[:k]))


def ld2_svd(x_reg: np.ndarray, x_block: np.ndarray, *, spectrum_percent: float = 95.0) -> LdSvd:
    """Truncated SVD of ``(R^2)_o = X_o^T (X X^T) X_o / n_ref^2`` (``preprocessrefpanel``'s ``.R2.npz``),
    used by the ``Winv_ahat_h2`` weights. ``X`` holds every reference SNP of the block.

    Parameters
    ----------
    x_reg : ndarray, float, shape (n_ref, m)
        Standardized genotypes of the block's regression SNPs.
    x_block : ndarray, float, shape (n_ref, m_b)
        Standardized genotypes of all the block's reference SNPs.
    spectrum_percent : float

    Returns
    -------
    LdSvd
        ``s`` are singular values of ``(R^2)_o``.
    """
    xo = np.asarray(x_reg, dtype=np.float64)
    xb = np.asarray(x_block, dtype=np.float64)
    if xo.ndim != 2 or xb.ndim != 2 or xo.shape[0] != xb.shape[0] or xo.shape[1] == 0:
        raise ValueError(f"x_reg {xo.shape} and x_block {xb.shape} must be (n_ref, m) and (n_ref, m_b), m > 0")
    r2 = xo.T.dot(xb.dot(xb.T)).dot(xo) / xb.shape[0] ** 2
    u, s, _ = np.linalg.svd(r2)
    return _truncate(u, s, spectrum_percent)


# -- 2. heritability -------------------------------------------------------------------------------

@dataclass(frozen=True)
class H2gEstimate:
    """Aggregate heritability estimate of ``preprocesspheno.esth2g``.

    Attributes
    ----------
    h2g : float
        ``max(M sigma2g, floor)`` -- the floored value sldp reports and uses for ``rf``, ``h2v``.
    sigma2g : float
        ``(mean chi^2 - 1) / mean(N l)``, NOT floored: sldp uses it in the weights and in ``h2v/h2g``.
    h2g_raw : float
        ``M sigma2g`` before the floor.
    mean_chi2 : float
    k : float
        ``M / mean(N l)`` (``h2g = k (mean chi^2 - 1)``).
    n_snps : int
        SNPs used for ``mean chi^2``.
    """

    h2g: float
    sigma2g: float
    h2g_raw: float
    mean_chi2: float
    k: float
    n_snps: int


def estimate_h2g(z: np.ndarray, n: np.ndarray, l2: np.ndarray, *, m: float,
                 floor: float = H2G_FLOOR) -> H2gEstimate:
    """Heritability by sldp's aggregate estimator, ``h2g = M (mean chi^2 - 1) / mean(N l)``.

    Use the phenotype's SNPs that are regression (print) SNPs; SNPs with a missing ``z`` or ``n`` are
    dropped (as sldp drops them on reading), ``mean chi^2`` is over all the others and ``mean(N l)``
    over those that have an LD score (pandas' NaN-skipping mean after sldp's left merge).

    Parameters
    ----------
    z, n : ndarray, float, shape (n_snps,)
        Z-scores and sample sizes.
    l2 : ndarray, float, shape (n_snps,)
        LD scores (``.l2.ldscore.gz`` ``L2``); NaN where a SNP has none.
    m : float
        Number of SNPs behind the LD scores: sldp sums ``.l2.M_5_50`` over chromosomes 1..22
        (``.l2.M`` with ``-no-M-5-50``).
    floor : float
        Lower bound of the reported ``h2g`` (0.03 in sldp); ``sigma2g`` is not floored.

    Returns
    -------
    H2gEstimate
    """
    z = np.asarray(z, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    l2 = np.asarray(l2, dtype=np.float64)
    if not (z.shape == n.shape == l2.shape) or z.ndim != 1:
        raise ValueError(f"z {z.shape}, n {n.shape} and l2 {l2.shape} must be 1-D of one length")
    ok = np.isfinite(z) & np.isfinite(n)
    if (~ok).any():
        logger.info("h2g: %d of %d SNPs dropped for a missing Z or N", int((~ok).sum()), len(z))
    z, n, l2 = z[ok], n[ok], l2[ok]
    nl = n * l2
    has_l = np.isfinite(nl)
    if not has_l.any():
        raise ValueError("no SNP has both sumstats and an LD score: cannot estimate h2g")
    if int(has_l.sum()) < H2G_MIN_SNPS:
        raise ValueError(f"too few SNPs to estimate h2g (n = {int(has_l.sum())} with Z, N and an LD score; at least "
                         f"{H2G_MIN_SNPS} needed): check that the sumstats, the panel and the LD scores share SNP "
                         "IDs and genome build")
    if (~has_l).any():
        logger.info("h2g: %d of %d SNPs have no LD score (left out of mean(N l) only)",
                    int((~has_l).sum()), len(z))
    mean_chi2 = float(np.mean(z ** 2))
    mean_nl = float(np.mean(nl[has_l]))
    sigma2g = (mean_chi2 - 1) / mean_nl
    h2g_raw = sigma2g * m
    h2g = max(h2g_raw, floor)
    if h2g_raw < floor:
        logger.warning("h2g estimate %.4g is below the floor; reporting h2g = %g but keeping sigma2g = %.4g "
                       "(unfloored, as sldp does)", h2g_raw, floor, sigma2g)
    return H2gEstimate(h2g=float(h2g), sigma2g=float(sigma2g), h2g_raw=float(h2g_raw), mean_chi2=mean_chi2,
                       k=float(m / mean_nl), n_snps=int(len(z)))


def alpha_hat(z: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Marginal per-normalized-genotype effects ``Z / sqrt(N)`` (``preprocesspheno``), any shape."""
    return np.asarray(z, dtype=np.float64) / np.sqrt(np.asarray(n, dtype=np.float64))


# -- 3. weights and block products -------------------------------------------------------------------

def _check_weights(weights: str) -> None:
    if weights not in WEIGHTS:
        raise ValueError(f"unknown weights {weights!r}; choose one of {WEIGHTS}")


def weight_diagonal(s: np.ndarray, *, sigma2g, n, weights: str = "Winv_ahat_h") -> np.ndarray:
    """The diagonal ``d`` of ``W^-1 = U diag(d) U^T`` (``weights.invert_weights``).

    * ``Winv_ahat_h``: ``1 / (sigma2g s^2 + s / N)`` (``s`` from :func:`ld_svd`), sldp's default;
    * ``Winv_ahat_hlN``: ``1 / s^2`` (large-N approximation);
    * ``Winv_ahat_h2``: ``1 / (sigma2g s + sqrt(s) / N)`` (``s`` from :func:`ld2_svd`).

    Parameters
    ----------
    s : ndarray, float, shape (k,)
    sigma2g, n : float or ndarray, shape (P,)
        Per-SNP heritability and the block's mean sample size, per phenotype.
    weights : str

    Returns
    -------
    ndarray, float64, shape (k,) for scalar inputs, else (k, P)
    """
    _check_weights(weights)
    s = np.asarray(s, dtype=np.float64)
    sig = np.asarray(sigma2g, dtype=np.float64)
    nn = np.asarray(n, dtype=np.float64)
    scalar = sig.ndim == 0 and nn.ndim == 0
    sig, nn = np.broadcast_arrays(np.atleast_1d(sig), np.atleast_1d(nn))
    sc = s[:, None]
    if weights == "Winv_ahat_h":
        d = 1.0 / (sig[None, :] * sc ** 2 + sc / nn[None, :])
    elif weights == "Winv_ahat_hlN":
        d = np.broadcast_to(1.0 / sc ** 2, (len(s), len(sig))).copy()
    elif weights == "Winv_ahat_h2":
        d = 1.0 / (sig[None, :] * sc + np.sqrt(sc) / nn[None, :])
    else:
        raise ValueError("Winv_ahat_I has no eigen-decomposition")
    return d[:, 0] if scalar else d


def invert_weights(svd: LdSvd | None, x: np.ndarray, *, sigma2g: float, n: float,
                   weights: str = "Winv_ahat_h", typed: np.ndarray | None = None) -> np.ndarray:
    """``W^-1 x`` on the typed SNPs of a block, NaN elsewhere: ``sldp.weights.invert_weights`` for one
    phenotype (what ``preprocesspheno`` writes as ``Winv_ahat_h`` / ``Winv_ahat_I`` in ``.pss.gz``).

    Parameters
    ----------
    svd : LdSvd or None
        Of the block's regression SNPs (``None`` only for ``Winv_ahat_I``); use the :func:`ld2_svd`
        decomposition for ``Winv_ahat_h2``.
    x : ndarray, float, shape (m,) or (m, c)
    sigma2g, n : float
        Per-SNP heritability and the block's mean sample size over typed SNPs.
    weights : str
    typed : ndarray of bool, shape (m,), optional
        Default: rows where ``x`` is finite (as sldp).

    Returns
    -------
    ndarray, float64, shape of ``x``
    """
    _check_weights(weights)
    x = np.asarray(x, dtype=np.float64)
    if typed is None:
        typed = np.isfinite(x.reshape((len(x), -1)).sum(axis=1))
    typed = np.asarray(typed, dtype=bool)
    if weights == "Winv_ahat_I":
        return x.copy()
    if svd is None:
        raise ValueError(f"{weights} weights need the block's eigen-decomposition")
    u = svd.u[typed]
    d = weight_diagonal(svd.s, sigma2g=sigma2g, n=n, weights=weights)
    out = np.full(x.shape, np.nan)
    xt = x[typed]
    out[typed] = (u * d).dot(u.T.dot(xt))
    return out


@dataclass
class BlockProducts:
    """The regression's numerators and denominators of one LD block (over ``BLOCK_DIVISOR``).

    ``P`` phenotypes, ``nb`` background annotations, ``K`` annotations under test.

    Attributes
    ----------
    m_h : ndarray, int64, shape (P,)
        Typed regression SNPs of the block per phenotype -- sldp's ``M_H``, the size used to form
        chunks; 0 when the block is left out (then every product is 0).
    num_bg : ndarray, shape (P, nb)
        ``RV_bg^T W^-1 alpha_hat``.
    num : ndarray, shape (P, K)
        ``RV^T W^-1 alpha_hat``.
    den_bg : ndarray, shape (P, nb, nb)
        ``RV_bg^T W^-1 RV_bg``.
    den_cross : ndarray, shape (P, nb, K)
        ``RV_bg^T W^-1 RV``.
    den : ndarray, shape (P, K)
        Diagonal of ``RV^T W^-1 RV``.
    reason : str or None
        Why the block is left out for every phenotype (``"no regression SNPs"``,
        ``"annotations all zero"``), else None.
    k : int
        Eigenvectors kept (0: the block counts in ``M_H`` but adds nothing, as in sldp).
    """

    m_h: np.ndarray
    num_bg: np.ndarray
    num: np.ndarray
    den_bg: np.ndarray
    den_cross: np.ndarray
    den: np.ndarray
    reason: str | None = None
    k: int = 0

    @property
    def shape(self) -> tuple[int, int, int]:
        """(P, nb, K)."""
        return self.num.shape[0], self.num_bg.shape[1], self.num.shape[1]

    @classmethod
    def empty(cls, p: int, nb: int, kk: int, reason: str | None = None) -> "BlockProducts":
        return cls(m_h=np.zeros(p, np.int64), num_bg=np.zeros((p, nb)), num=np.zeros((p, kk)),
                   den_bg=np.zeros((p, nb, nb)), den_cross=np.zeros((p, nb, kk)), den=np.zeros((p, kk)),
                   reason=reason)


def _col_groups(mask: np.ndarray) -> list[np.ndarray]:
    """Indices of identical columns of a boolean matrix, one array per distinct column."""
    if mask.shape[1] == 1:
        return [np.array([0])]
    packed = np.packbits(mask, axis=0)
    _, inv = np.unique(packed.T, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    return [np.flatnonzero(inv == g) for g in range(inv.max() + 1)]


def block_products(rv: np.ndarray, ahat: np.ndarray, *, n, sigma2g, rv_background: np.ndarray | None = None,
                   svd: LdSvd | None = None, weights: str = "Winv_ahat_h",
                   divisor: float = BLOCK_DIVISOR) -> BlockProducts:
    """Numerators and denominators of one LD block for many annotations and phenotypes.

    Mirrors the block loop of ``sldp.main``: ``W^-1 alpha_hat`` and ``W^-1 RV`` on the block's typed
    SNPs with the block's mean ``N``, then ``num = RV_t^T W^-1 alpha_hat_t / 1e6`` and
    ``den = RV_t^T W^-1 RV_t / 1e6``. The block is left out (``m_h = 0``) when it has no regression
    SNPs or no SVD, when a phenotype has no typed SNP in it, or when every annotation passed here
    (background and tested together, as sldp checks all annotations of one run at once) is 0 on every
    regression SNP of the block.

    Parameters
    ----------
    rv : ndarray, float, shape (m, K)
        Signed LD profiles of the annotations under test at the block's regression SNPs.
    ahat : ndarray, float, shape (m,) or (m, P)
        ``Z / sqrt(N)`` per phenotype; NaN marks an untyped SNP.
    n : float or ndarray, shape (m,) or (m, P)
        Per-SNP sample sizes (a scalar: the same everywhere); the block's ``N`` of a phenotype is
        their mean over its typed SNPs, as in sldp.
    sigma2g : float or ndarray, shape (P,)
        Per-SNP heritability of each phenotype (unfloored, :class:`H2gEstimate`).
    rv_background : ndarray, float, shape (m, nb), optional
        Profiles of background annotations.
    svd : LdSvd, optional
        :func:`ld_svd` of the block (:func:`ld2_svd` for ``Winv_ahat_h2``); not needed for
        ``Winv_ahat_I``. ``None`` with another mode leaves the block out (sldp: no ``.R.npz``).
    weights : str
        One of :data:`WEIGHTS`.
    divisor : float
        Every product is divided by it (sldp: 1e6).

    Returns
    -------
    BlockProducts

    Raises
    ------
    ValueError
        For non-finite profiles, non-finite ``n`` or ``sigma2g`` on typed SNPs, or an SVD whose rows
        do not match the regression SNPs.
    """
    _check_weights(weights)
    rv, bg, ah, sig = _block_arrays(rv, ahat, rv_background, sigma2g)
    (m, kk), nb, p = rv.shape, bg.shape[1], ah.shape[1]
    if m == 0:
        return BlockProducts.empty(p, nb, kk, "no regression SNPs")
    if weights != "Winv_ahat_I":
        if svd is None:
            return BlockProducts.empty(p, nb, kk, "no regression SNPs")
        if svd.m != m:
            raise ValueError(f"regression weights dimension ({svd.m} SNPs in the SVD) must match the "
                             f"block's regression SNPs ({m})")
    if not (np.any(rv != 0) or np.any(bg != 0)):
        return BlockProducts.empty(p, nb, kk, "annotations all zero")
    typed = np.isfinite(ah)
    n_block = _block_n(n, typed)
    out = BlockProducts.empty(p, nb, kk)
    out.m_h = typed.sum(axis=0).astype(np.int64)
    out.k = m if weights == "Winv_ahat_I" else svd.k
    groups = [grp for grp in _col_groups(typed) if typed[:, grp[0]].any()]
    if weights != "Winv_ahat_I" and svd.k == 0:
        return out  # U has no column: every product is 0, the block still counts in M_H
    cache: dict = {}  # U^T RV over all regression SNPs, shared by the phenotype groups (computed on demand)
    projected = _factored_projections(svd, rv, bg, ah, typed, groups) if weights != "Winv_ahat_I" else None
    for i, grp in enumerate(groups):
        t = typed[:, grp[0]]
        if weights == "Winv_ahat_I":
            a_v, a_b, b = rv[t], bg[t], ah[np.ix_(t, grp)]
            d = np.ones((int(t.sum()), len(grp)))
        else:
            if projected is not None:
                a_v, a_b, b = projected[i]
            else:
                a_v, a_b = _projected_profiles(svd, rv, bg, t, cache)
                b = svd.u[t].T @ ah[np.ix_(t, grp)]
            d = weight_diagonal(svd.s, sigma2g=sig[grp], n=n_block[grp], weights=weights)
        _store_products(out, grp, a_v, a_b, b, d, divisor)
    return out


def _block_arrays(rv, ahat, rv_background, sigma2g) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`block_products`' inputs as float64 ``rv (m, K)``, ``bg (m, nb)``, ``ahat (m, P)`` and
    ``sigma2g (P,)``, checked for shapes and finiteness."""
    rv = np.asarray(rv, dtype=np.float64)
    if rv.ndim == 1:
        rv = rv[:, None]
    if rv.ndim != 2:
        raise ValueError(f"rv must be (m, K), got shape {rv.shape}")
    m = rv.shape[0]
    bg = np.zeros((m, 0)) if rv_background is None else np.asarray(rv_background, dtype=np.float64)
    if bg.ndim == 1:
        bg = bg[:, None]
    if bg.shape[0] != m:
        raise ValueError(f"rv_background has {bg.shape[0]} rows, rv has {m}")
    ah = np.asarray(ahat, dtype=np.float64)
    if ah.ndim == 1:
        ah = ah[:, None]
    if ah.ndim != 2 or ah.shape[0] != m:
        raise ValueError(f"ahat must be (m, P) with m = {m}, got shape {ah.shape}")
    if not np.all(np.isfinite(rv)) or not np.all(np.isfinite(bg)):
        raise ValueError("signed LD profiles must be finite (sldp: 'There should be no nans in the "
                         "postprocessed annotation')")
    sig = np.broadcast_to(np.asarray(sigma2g, dtype=np.float64), (ah.shape[1],))
    if not np.all(np.isfinite(sig)):
        raise ValueError("sigma2g must be finite")
    return rv, bg, ah, sig


def _block_n(n, typed: np.ndarray) -> np.ndarray:
    """The block's N per phenotype: the mean of the per-SNP N over its typed SNPs (sldp:
    ``meta_t.N.mean()``); ``n`` a scalar or of shape (m,), (m, 1) or (m, P), ``typed`` (m, P)."""
    m, p = typed.shape
    nn = np.asarray(n, dtype=np.float64)
    if nn.ndim not in (0, 1, 2) or (nn.ndim >= 1 and nn.shape[0] != m) or (nn.ndim == 2 and nn.shape[1] not in (1, p)):
        raise ValueError(f"n must be a scalar or of shape ({m},) or ({m}, {p}), got {nn.shape}")
    nsnp = np.broadcast_to(nn.reshape((m, -1)) if nn.ndim else nn, (m, p))
    if np.any(typed & ~np.isfinite(nsnp)):
        raise ValueError("sample sizes must be finite on typed SNPs")
    cnt = typed.sum(axis=0)
    return np.where(typed, nsnp, 0.0).sum(axis=0) / np.maximum(cnt, 1)


def _projected_profiles(svd: LdSvd, rv: np.ndarray, bg: np.ndarray, t: np.ndarray,
                        cache: dict) -> tuple[np.ndarray, np.ndarray]:
    """``U_t^T RV_t`` and ``U_t^T RV_bg,t`` on the typed SNPs ``t`` of a phenotype group."""
    untyped = ~t
    n_untyped = int(untyped.sum())
    if n_untyped == 0 or n_untyped < rv.shape[0] // 2:
        # U_t^T RV_t = U^T RV - U_u^T RV_u: the big product is done once per block
        if "full" not in cache:
            cache["full"] = (svd.u.T @ rv, svd.u.T @ bg)
        full = cache["full"]
        uu = svd.u[untyped]
        return (full[0] - uu.T @ rv[untyped], full[1] - uu.T @ bg[untyped]) if n_untyped else full
    ut = svd.u[t]
    return ut.T @ rv[t], ut.T @ bg[t]


def _factored_projections(svd: LdSvd, rv: np.ndarray, bg: np.ndarray, ah: np.ndarray, typed: np.ndarray,
                          groups: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
    """``(U_t^T RV_t, U_t^T RV_bg,t, U_t^T alpha_hat_t)`` of every phenotype group from one
    :meth:`LdSvd.project` of a factored ``svd`` (:class:`GramLdSvd`), untyped rows as zeros; None when
    ``svd`` is not factored or the columns outnumber its eigenvectors (then forming ``U`` costs less)."""
    if not svd.factored:
        return None
    kk, nb = rv.shape[1], bg.shape[1]
    full = [grp for grp in groups if typed[:, grp[0]].all()]
    n_cols = (kk + nb) * (len(groups) - len(full) + (1 if full else 0)) + sum(len(grp) for grp in groups)
    if n_cols > svd.k:
        return None
    profiles = np.hstack([rv, bg])
    y = [profiles] if full else []
    pieces = []                                      # (profile piece, alpha_hat piece) of each group
    for grp in groups:
        t = typed[:, grp[0]]
        at = 0 if t.all() else len(y)
        if not t.all():
            y.append(np.where(t[:, None], profiles, 0.0))
        y.append(np.where(t[:, None], ah[:, grp], 0.0))
        pieces.append((at, len(y) - 1))
    widths = np.cumsum([0] + [p.shape[1] for p in y])
    z = svd.project(np.hstack(y))
    out = []
    for at, b in pieces:
        a = z[:, widths[at]:widths[at + 1]]
        out.append((a[:, :kk], a[:, kk:], z[:, widths[b]:widths[b + 1]]))
    return out


def _store_products(out: BlockProducts, grp: np.ndarray, a_v: np.ndarray, a_b: np.ndarray, b: np.ndarray,
                    d: np.ndarray, divisor: float) -> None:
    """Numerators and denominators of the phenotypes ``grp`` from the projected profiles ``a_v (k, K)``,
    ``a_b (k, nb)``, projected ``alpha_hat`` ``b (k, Pg)`` and weight diagonals ``d (k, Pg)``."""
    nb, kk = a_b.shape[1], a_v.shape[1]
    db = d * b                                   # (k, Pg)
    out.num[grp] = (a_v.T @ db).T / divisor
    out.den[grp] = ((a_v * a_v).T @ d).T / divisor
    if nb:
        out.num_bg[grp] = (a_b.T @ db).T / divisor
        wb = (a_b[:, :, None] * d[:, None, :]).reshape(a_b.shape[0], nb * len(grp))  # (k, nb*Pg)
        out.den_cross[grp] = (wb.T @ a_v).reshape(nb, len(grp), kk).transpose(1, 0, 2) / divisor
        out.den_bg[grp] = np.einsum("ja,jp,jb->pab", a_b, d, a_b) / divisor


# -- 4. chunks -------------------------------------------------------------------------------------

def chunk_endpoints(m_h: np.ndarray, *, n_chunks: int = 300) -> np.ndarray:
    """Block indices where sldp's chunks start and end (``chunkstats.collapse_to_chunks``).

    Walking the blocks in order (all of them, left-out ones with size 0), a chunk takes blocks while
    its size is ``<= max(1, total/n_chunks - mean_size/2)``, ``mean_size`` being the mean size of the
    blocks with ``m_h > 0``; the block that crosses the threshold closes the chunk.

    Parameters
    ----------
    m_h : ndarray, int, shape (n_blocks,)
        Block sizes (typed regression SNPs), in the LD-block file's order, 0 for blocks left out.
    n_chunks : int
        sldp's ``--jk-blocks`` (default 300).

    Returns
    -------
    ndarray, int64, shape (n_endpoints,)
        ``[0, e_1, ..., n_blocks]``; chunk ``i`` spans blocks ``e_i:e_{i+1}`` (chunks without any
        block of positive size are later dropped).
    """
    m_h = np.asarray(m_h, dtype=np.float64)
    if m_h.ndim != 1:
        raise ValueError("m_h must be 1-D")
    m_h = np.where(np.isnan(m_h), 0.0, m_h)
    total = m_h.sum()
    n_pos = int((m_h != 0).sum())
    if n_pos == 0:
        raise ValueError("no LD block has typed regression SNPs and a non-zero annotation")
    chunksize = total / n_chunks
    avg = total / n_pos
    thresh = max(1, chunksize - avg / 2)
    ends = [0]
    cur, size, nblk = 0, 0.0, len(m_h)
    while cur < nblk:
        while size <= thresh and cur < nblk:
            size += m_h[cur]
            cur += 1
        size = 0.0
        ends.append(cur)
    return np.asarray(ends, dtype=np.int64)


def assign_chunks(m_h: np.ndarray, *, n_chunks: int = 300) -> np.ndarray:
    """Chunk of every block, per phenotype: sldp's ``collapse_to_chunks`` as labels.

    Parameters
    ----------
    m_h : ndarray, int, shape (n_blocks,) or (n_blocks, P)
        Block sizes per phenotype (:attr:`BlockProducts.m_h` stacked), LD-block file order.
    n_chunks : int

    Returns
    -------
    ndarray, int64, same shape
        ``0..C_p-1`` numbering the chunks that hold at least one block of positive size, in order;
        -1 for blocks with ``m_h == 0`` (they add nothing).
    """
    mh = np.asarray(m_h)
    flat = mh.ndim == 1
    mh2 = mh[:, None] if flat else mh
    out = np.full(mh2.shape, -1, dtype=np.int64)
    cache: dict[bytes, np.ndarray] = {}
    for j in range(mh2.shape[1]):
        col = np.asarray(mh2[:, j], dtype=np.float64)
        key = col.tobytes()
        if key not in cache:
            ends = chunk_endpoints(col, n_chunks=n_chunks)
            lab = np.full(len(col), -1, dtype=np.int64)
            c = 0
            for i0, i1 in zip(ends[:-1], ends[1:]):
                pos = np.flatnonzero(col[i0:i1] > 0)
                if len(pos):
                    lab[i0 + pos] = c
                    c += 1
            cache[key] = lab
        out[:, j] = cache[key]
    return out[:, 0] if flat else out


@dataclass
class ChunkStats:
    """Block products summed within chunks; phenotype ``p`` uses chunks ``0..n_chunks[p]-1``, the
    rest are zero padding (so phenotypes with different chunkings share one array).

    Attributes
    ----------
    num_bg : (C, P, nb); num : (C, P, K); den_bg : (C, P, nb, nb); den_cross : (C, P, nb, K);
    den : (C, P, K)
        As in :class:`BlockProducts`.
    n_chunks : ndarray, int64, shape (P,)
    first_block, last_block : ndarray, int64, shape (C, P)
        First and last block (indices into the block sequence) of each chunk that holds data
        (sldp's ``ldblock_begin`` and ``ldblock_end - 1`` up to the block numbering); -1 in padding.
    numsnps : ndarray, int64, shape (C, P)
        Sum of ``m_h`` over the chunk's blocks.
    """

    num_bg: np.ndarray
    num: np.ndarray
    den_bg: np.ndarray
    den_cross: np.ndarray
    den: np.ndarray
    n_chunks: np.ndarray
    first_block: np.ndarray
    last_block: np.ndarray
    numsnps: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        """Boolean (C, P): chunk c exists for phenotype p."""
        return np.arange(self.num.shape[0])[:, None] < self.n_chunks[None, :]


def sum_chunks(blocks: Iterable[BlockProducts], *, chunk_of_block: np.ndarray | None = None,
               n_chunks: int = 300) -> ChunkStats:
    """Sum block products within chunks of contiguous blocks.

    Parameters
    ----------
    blocks : iterable of BlockProducts
        Every LD block of the LD-block file (after dropping the MHC), in file order; blocks that were
        not processed must still be passed (``BlockProducts.empty``) or be absent from
        ``chunk_of_block`` -- they only matter through their size 0.
    chunk_of_block : ndarray, int, shape (n_blocks, P), optional
        From :func:`assign_chunks`. Given it, ``blocks`` is consumed as a stream (bounded memory);
        otherwise it is materialized to read the sizes first.
    n_chunks : int
        Used when ``chunk_of_block`` is not given.

    Returns
    -------
    ChunkStats
    """
    if chunk_of_block is None:
        blocks = list(blocks)
        if not blocks:
            raise ValueError("no LD blocks")
        chunk_of_block = assign_chunks(np.stack([b.m_h for b in blocks]), n_chunks=n_chunks)
        _log_left_out(blocks)
    lab = np.asarray(chunk_of_block)
    if lab.ndim == 1:
        lab = lab[:, None]
    n_blocks, p = lab.shape
    nch = lab.max(axis=0) + 1
    c_max = int(nch.max()) if len(nch) else 0
    if c_max == 0:
        raise ValueError("no chunk holds data: every LD block was left out")
    acc = None
    first = np.full((c_max, p), -1, np.int64)
    last = np.full((c_max, p), -1, np.int64)
    numsnps = np.zeros((c_max, p), np.int64)
    cols = np.arange(p)
    i = -1
    for i, b in enumerate(blocks):
        if i >= n_blocks:
            raise ValueError(f"more blocks than rows of chunk_of_block ({n_blocks})")
        pp, nb, kk = b.shape
        if pp != p:
            raise ValueError(f"block {i} has {pp} phenotypes, expected {p}")
        if acc is None:
            acc = dict(num_bg=np.zeros((c_max, p, nb)), num=np.zeros((c_max, p, kk)),
                       den_bg=np.zeros((c_max, p, nb, nb)), den_cross=np.zeros((c_max, p, nb, kk)),
                       den=np.zeros((c_max, p, kk)))
        elif acc["num"].shape[2] != kk or acc["num_bg"].shape[2] != nb:
            raise ValueError(f"block {i} has {nb} background and {kk} annotations; earlier blocks differ")
        c = lab[i]
        sel = c >= 0
        if np.any(sel & (b.m_h == 0)):
            raise ValueError(f"block {i} is assigned to a chunk but has m_h = 0")
        if not sel.any():
            continue
        ci, pi = c[sel], cols[sel]
        for name in acc:
            acc[name][ci, pi] += getattr(b, name)[pi]
        first[ci, pi] = np.where(first[ci, pi] < 0, i, first[ci, pi])
        last[ci, pi] = i
        numsnps[ci, pi] += b.m_h[pi]
    if i + 1 != n_blocks:
        raise ValueError(f"{i + 1} blocks for {n_blocks} rows of chunk_of_block")
    return ChunkStats(n_chunks=nch.astype(np.int64), first_block=first, last_block=last, numsnps=numsnps, **acc)


def _log_left_out(blocks: Sequence[BlockProducts]) -> None:
    reasons: dict[str, int] = {}
    for b in blocks:
        if b.reason is not None:
            reasons[b.reason] = reasons.get(b.reason, 0) + 1
    n_untyped = sum(int(b.reason is None and np.any(b.m_h == 0)) for b in blocks)
    n_k0 = sum(int(b.reason is None and b.k == 0 and np.any(b.m_h > 0)) for b in blocks)
    msg = ", ".join(f"{v} {k}" for k, v in sorted(reasons.items()))
    logger.info("SLDP: %d LD blocks; left out for every phenotype: %s; %d more lack typed SNPs for some "
                "phenotype; %d keep no eigenvector (counted in M_H, contribute 0)", len(blocks), msg or "none",
                n_untyped, n_k0)


# -- 5. estimate, residualization, jackknife -----------------------------------------------------------

@dataclass
class SldpFit:
    """Results of :func:`fit_sldp` for ``P`` phenotypes x ``K`` annotations.

    Attributes
    ----------
    mu : ndarray, shape (P, K)
        Joint-fit coefficient of each annotation (with the background), ``chunkstats.get_est``.
    se : ndarray, shape (P, K)
        Jackknife SE over chunks (``chunkstats.jackknife_se``).
    q, r : ndarray, shape (C, P, K)
        Per-chunk numerator and denominator after residualizing the background
        (``chunkstats.residualize``), zero in padded chunks; carry sldp's 1e-6 scale.
    n_chunks : ndarray, int64, shape (P,)
    muy : ndarray, shape (P, nb)
        Background coefficients of the GWAS signal.
    mux : ndarray, shape (P, nb, K)
        Background coefficients of each annotation's profile.
    chunks : ChunkStats, optional
        The chunk sums the fit was computed from (first and last block, size of each chunk).
    z_fast, p_fast : ndarray, shape (P, K)
        sldp's fast p-value from ``q`` (:func:`stats.sldp.signflip.fast_z`).
    """

    mu: np.ndarray
    se: np.ndarray
    q: np.ndarray
    r: np.ndarray
    n_chunks: np.ndarray
    muy: np.ndarray
    mux: np.ndarray
    chunks: ChunkStats | None = None
    z_fast: np.ndarray = field(init=False)
    p_fast: np.ndarray = field(init=False)

    def __post_init__(self):
        self.z_fast, self.p_fast = fast_z(self.q)


def _check_background(den_bg_tot: np.ndarray, names: Sequence[str], rtol: float = 1e-10) -> None:
    """Raise naming background annotations whose weighted profiles are (near) linear combinations of
    earlier ones (modified Gram-Schmidt in the ``RV^T W^-1 RV`` inner product), per phenotype."""
    p, nb, _ = den_bg_tot.shape
    for j in range(p):
        g = den_bg_tot[j]
        if not np.all(np.isfinite(g)):
            raise ValueError("background denominators are not finite")
        # pivot-free Cholesky with checks
        ll = np.zeros((nb, nb))
        for a in range(nb):
            resid = g[a, a] - ll[a, :a] @ ll[a, :a]
            if g[a, a] <= 0 or resid <= rtol * g[a, a]:
                if g[a, a] <= 0:
                    raise ValueError(f"background annotation {names[a]!r} has a zero signed LD profile on "
                                     f"every typed SNP (phenotype {j}); drop it")
                coef = np.linalg.lstsq(g[:a, :a], g[:a, a], rcond=None)[0] if a else np.zeros(0)
                partners = [names[i] for i in np.flatnonzero(np.abs(coef) > 1e-8 * max(1.0, np.abs(coef).max()))]
                raise ValueError(f"background annotations are collinear: {names[a]!r} is a linear "
                                 f"combination of {partners} (phenotype {j}); drop one of them")
            ll[a, a] = np.sqrt(resid)
            for b in range(a + 1, nb):
                ll[b, a] = (g[b, a] - ll[b, :a] @ ll[a, :a]) / ll[a, a]


def _solve_stack(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched solve; systems LAPACK calls singular give NaN (``get_est`` returns NaN on LinAlgError)."""
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        out = np.full(b.shape, np.nan)
        for idx in np.ndindex(a.shape[:-2]):
            try:
                out[idx] = np.linalg.solve(a[idx], b[idx])
            except np.linalg.LinAlgError:
                pass
        return out


def fit_sldp(chunks: ChunkStats, *, background_names: Sequence[str] | None = None,
             annotation_names: Sequence[str] | None = None, batch_annotations: int = 512) -> SldpFit:
    """Estimate, residualized chunk statistics and jackknife SE for every (phenotype, annotation).

    :func:`background_coefficients`, then :func:`joint_estimate`, :func:`residualize` and
    :func:`jackknife_se` (sldp's ``chunkstats.get_est``, ``residualize``, ``jackknife_se``).

    Parameters
    ----------
    chunks : ChunkStats
    background_names : sequence of str, optional
        For error messages about collinear background annotations.
    annotation_names : sequence of str, optional
        For the log of annotations whose estimate is undefined.
    batch_annotations : int
        Annotations per batch in the jackknife (bounds memory at ``C * P * nb * batch`` floats).

    Returns
    -------
    SldpFit

    Raises
    ------
    ValueError
        When background annotations are collinear (naming them) or one is zero everywhere.
    """
    muy, mux = background_coefficients(chunks, background_names=background_names)
    mu = joint_estimate(chunks, muy=muy, mux=mux)
    q, r = residualize(chunks, muy=muy, mux=mux, batch_annotations=batch_annotations)
    se = jackknife_se(chunks, mu=mu, batch_annotations=batch_annotations)
    _log_undefined(mu, se, chunks.n_chunks, annotation_names)
    return SldpFit(mu=mu, se=se, q=q, r=r, n_chunks=chunks.n_chunks.copy(), muy=muy, mux=mux, chunks=chunks)


def background_coefficients(chunks: ChunkStats, *,
                            background_names: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Genome-wide background coefficients ``muy = Dbb^-1 n_bg`` (of the GWAS signal) and
    ``mux = Dbb^-1 c`` (of each annotation's profile), ``Dbb``, ``n_bg``, ``c`` summed over all chunks
    (``chunkstats.residualize``).

    Parameters
    ----------
    chunks : ChunkStats
    background_names : sequence of str, optional
        For error messages (default ``background0``, ...).

    Returns
    -------
    muy : ndarray, shape (P, nb)
    mux : ndarray, shape (P, nb, K)

    Raises
    ------
    ValueError
        When background annotations are collinear (naming them) or one is zero everywhere.
    """
    _, p, nb = chunks.num_bg.shape
    kk = chunks.num.shape[2]
    bnames = list(background_names) if background_names is not None else [f"background{i}" for i in range(nb)]
    if len(bnames) != nb:
        raise ValueError(f"{len(bnames)} background names for {nb} background annotations")
    if not nb:
        return np.zeros((p, 0)), np.zeros((p, 0, kk))
    den_bg, num_bg = chunks.den_bg.sum(axis=0), chunks.num_bg.sum(axis=0)
    _check_background(den_bg, bnames)
    muy = np.linalg.solve(den_bg, num_bg[..., None])[..., 0]                          # (P, nb)
    mux = np.linalg.solve(den_bg, chunks.den_cross.sum(axis=0))                       # (P, nb, K)
    return muy, mux


def joint_estimate(chunks: ChunkStats, *, muy: np.ndarray, mux: np.ndarray) -> np.ndarray:
    """``mu = solve(D, n)[-1]`` with ``D``, ``n`` summed over all chunks and restricted to
    ``[background..., v]`` (``chunkstats.get_est``), computed through the Schur complement as
    ``(n_v - c.muy) / (d_vv - c.mux)`` (identical in exact arithmetic; ``Dbb^-1`` is shared by all
    annotations).

    Parameters
    ----------
    chunks : ChunkStats
    muy, mux : ndarray, shapes (P, nb) and (P, nb, K)
        :func:`background_coefficients`.

    Returns
    -------
    ndarray, shape (P, K)
        NaN where the Schur complement is 0 (profile zero on every typed SNP, or collinear with the
        background).
    """
    num, den, cross = chunks.num.sum(axis=0), chunks.den.sum(axis=0), chunks.den_cross.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        schur_num = num - np.einsum("pbk,pb->pk", cross, muy)
        schur_den = den - np.einsum("pbk,pbk->pk", cross, mux)
        return np.where(schur_den != 0, schur_num / np.where(schur_den != 0, schur_den, 1.0), np.nan)


def residualize(chunks: ChunkStats, *, muy: np.ndarray, mux: np.ndarray,
                batch_annotations: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Per-chunk numerator and denominator with the background projected out (``chunkstats.residualize``):
    ``q_c = n_v,c - x_c.muy - y_c.mux + mux^T A_c muy`` and ``r_c = d_vv,c - 2 x_c.mux + mux^T A_c mux``.

    Parameters
    ----------
    chunks : ChunkStats
    muy, mux : ndarray, shapes (P, nb) and (P, nb, K)
        Genome-wide coefficients (:func:`background_coefficients`).
    batch_annotations : int
        Annotations per batch (bounds memory at ``C * P * nb * nb * batch`` floats).

    Returns
    -------
    q, r : ndarray, shape (C, P, K)
        Zero in padded chunks; in sldp's 1e-6 units.
    """
    kk, nb = chunks.num.shape[2], chunks.num_bg.shape[2]
    q = chunks.num.copy()
    r = chunks.den.copy()
    if nb:
        a_muy = np.einsum("cpab,pb->cpa", chunks.den_bg, muy)                        # (C, P, nb)
        q -= np.einsum("cpbk,pb->cpk", chunks.den_cross, muy)
        q -= np.einsum("cpb,pbk->cpk", chunks.num_bg, mux)
        q += np.einsum("cpa,pak->cpk", a_muy, mux)
        r -= 2 * np.einsum("cpbk,pbk->cpk", chunks.den_cross, mux)
        for lo in range(0, kk, batch_annotations):
            hi = min(kk, lo + batch_annotations)
            a_mux = np.einsum("cpab,pbk->cpak", chunks.den_bg, mux[:, :, lo:hi])
            r[:, :, lo:hi] += np.einsum("cpak,pak->cpk", a_mux, mux[:, :, lo:hi])
    valid = chunks.valid
    q[~valid] = 0.0
    r[~valid] = 0.0
    return q, r


def jackknife_se(chunks: ChunkStats, *, mu: np.ndarray, batch_annotations: int = 512) -> np.ndarray:
    """Jackknife SE over chunks from leave-one-chunk-out estimates (``chunkstats.jackknife_se``, equal
    weights): ``se = sqrt(mean((tau - theta_J)^2 / (g - 1)))``, ``tau = g mu - (g-1) theta_-c``,
    ``theta_J = g mu - (g-1)/g sum theta_-c``, ``g`` the phenotype's number of chunks.

    Parameters
    ----------
    chunks : ChunkStats
    mu : ndarray, shape (P, K)
        Estimates on all chunks (:func:`joint_estimate`).
    batch_annotations : int
        Annotations per batch (bounds memory at ``C * P * nb * batch`` floats).

    Returns
    -------
    ndarray, shape (P, K)
        NaN where a leave-one-chunk-out system is singular or a phenotype has fewer than 2 chunks.
    """
    c_max, p, nb = chunks.num_bg.shape
    kk = chunks.num.shape[2]
    valid = chunks.valid                                    # (C, P)
    g = chunks.n_chunks.astype(np.float64)                  # (P,)
    tot = {name: getattr(chunks, name).sum(axis=0) for name in ("num_bg", "num", "den_bg", "den_cross", "den")}
    se = np.full((p, kk), np.nan)
    loo_bg = tot["den_bg"][None] - chunks.den_bg                                       # (C, P, nb, nb)
    loo_nbg = tot["num_bg"][None] - chunks.num_bg                                      # (C, P, nb)
    muy_loo = _solve_stack(loo_bg, loo_nbg[..., None])[..., 0] if nb else np.zeros((c_max, p, 0))
    for lo in range(0, kk, batch_annotations):
        hi = min(kk, lo + batch_annotations)
        l_num = tot["num"][None, :, lo:hi] - chunks.num[:, :, lo:hi]
        l_den = tot["den"][None, :, lo:hi] - chunks.den[:, :, lo:hi]
        with np.errstate(invalid="ignore", divide="ignore"):
            if nb:
                l_cross = tot["den_cross"][None, :, :, lo:hi] - chunks.den_cross[:, :, :, lo:hi]
                mux_loo = _solve_stack(loo_bg, l_cross)                               # (C, P, nb, k)
                sn = l_num - np.einsum("cpbk,cpb->cpk", l_cross, muy_loo)
                sd = l_den - np.einsum("cpbk,cpbk->cpk", l_cross, mux_loo)
            else:
                sn, sd = l_num, l_den
            theta = np.where(sd != 0, sn / np.where(sd != 0, sd, 1.0), np.nan)         # (C, P, k)
            theta = np.where(valid[:, :, None], theta, 0.0)
            est = mu[:, lo:hi]
            gg = g[:, None]
            theta_j = gg * est - ((gg - 1) / gg * theta.sum(axis=0))
            tau = est[None] * gg[None] - (gg[None] - 1) * theta
            dev = np.where(valid[:, :, None], (tau - theta_j[None]) ** 2 / (gg[None] - 1), 0.0)
            se[:, lo:hi] = np.sqrt(dev.sum(axis=0) / gg)
    return se


def _log_undefined(mu: np.ndarray, se: np.ndarray, n_chunks: np.ndarray,
                   annotation_names: Sequence[str] | None) -> None:
    bad = ~np.isfinite(mu)
    if bad.any():
        kk = mu.shape[1]
        names = list(annotation_names) if annotation_names is not None else [f"annotation{i}" for i in range(kk)]
        which = sorted({names[k] for k in np.flatnonzero(bad.any(axis=0))})
        logger.warning("SLDP: %d of %d (phenotype, annotation) estimates are undefined (profile zero on every "
                       "typed SNP, or collinear with the background), reported as NaN: %s",
                       int(bad.sum()), bad.size, which[:10])
    lost = np.isfinite(mu) & ~np.isfinite(se)
    if lost.any():
        logger.warning("SLDP: %d (phenotype, annotation) pairs have a finite estimate but an undefined jackknife SE "
                       "(a leave-one-chunk-out system is singular, e.g. a background annotation non-zero in one "
                       "chunk only); sldp reports NaN there too", int(lost.sum()))
    if np.any(n_chunks < 2):
        logger.warning("SLDP: a phenotype has fewer than 2 chunks; its jackknife SE is undefined")


# -- 6. the results table --------------------------------------------------------------------------

def sldp_table(fit: SldpFit, *, h2g, sigma2g, sqnorm, supp, m, annotation_names: Sequence[str],
               phenotype_names: Sequence[str], p: np.ndarray | None = None,
               z: np.ndarray | None = None) -> pd.DataFrame:
    """sldp's ``.gwresults`` rows, one per (phenotype, annotation), phenotype-major.

    ``rf = mu sqrt(sqnorm / h2g)``; ``h2v/h2g = rf^2 - se^2 sqnorm / (M sigma2g)``;
    ``h2v = h2v/h2g * h2g``; ``supp(v)/M = supp / M``, with ``h2g`` floored and ``sigma2g`` unfloored
    (:class:`H2gEstimate`) and ``sqnorm``, ``supp``, ``M`` the genome-wide ``.info`` numbers of each
    annotation (:func:`stats.ld.signed_profile.annotation_info`, summed over chromosomes; all SNPs, not 5-50).

    Parameters
    ----------
    fit : SldpFit
    h2g, sigma2g : float or ndarray, shape (P,)
    sqnorm, supp, m : float or ndarray, shape (K,)
    annotation_names : sequence of str, length K
        sldp reports the profile's column name (``name.R``); pass what the report should show.
    phenotype_names : sequence of str, length P
    p, z : ndarray, shape (P, K), optional
        Sign-flip p-values and z-scores (:func:`stats.sldp.signflip.signflip_test`); NaN columns otherwise.

    Returns
    -------
    DataFrame with columns ``pheno annot z p z_fast p_fast mu se(mu) h2g rf h2v/h2g h2v supp(v)/M``.
    """
    pp, kk = fit.mu.shape
    if len(annotation_names) != kk or len(phenotype_names) != pp:
        raise ValueError(f"{len(annotation_names)} annotation and {len(phenotype_names)} phenotype names for "
                         f"a {pp} x {kk} fit")
    h2g = np.broadcast_to(np.asarray(h2g, dtype=np.float64), (pp,))[:, None]
    sigma2g = np.broadcast_to(np.asarray(sigma2g, dtype=np.float64), (pp,))[:, None]
    sqnorm = np.broadcast_to(np.asarray(sqnorm, dtype=np.float64), (kk,))[None, :]
    supp = np.broadcast_to(np.asarray(supp, dtype=np.float64), (kk,))[None, :]
    m = np.broadcast_to(np.asarray(m, dtype=np.float64), (kk,))[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        rf = fit.mu * np.sqrt(sqnorm / h2g)
        h2v_h2g = rf ** 2 - fit.se ** 2 * sqnorm / (m * sigma2g)
        h2v = h2v_h2g * h2g
    nan = np.full((pp, kk), np.nan)
    cols = {
        "pheno": np.repeat(np.asarray(phenotype_names, dtype=object), kk),
        "annot": np.tile(np.asarray(annotation_names, dtype=object), pp),
        "z": (nan if z is None else np.asarray(z)).ravel(),
        "p": (nan if p is None else np.asarray(p)).ravel(),
        "z_fast": fit.z_fast.ravel(), "p_fast": fit.p_fast.ravel(),
        "mu": fit.mu.ravel(), "se(mu)": fit.se.ravel(),
        "h2g": np.broadcast_to(h2g, (pp, kk)).ravel(),
        "rf": rf.ravel(), "h2v/h2g": h2v_h2g.ravel(), "h2v": h2v.ravel(),
        "supp(v)/M": np.broadcast_to(supp / m, (pp, kk)).ravel(),
    }
    return pd.DataFrame(cols)


def fit_blocks(blocks: Sequence[BlockProducts], *, h2g, sigma2g, sqnorm, supp, m,
             annotation_names: Sequence[str], phenotype_names: Sequence[str],
             background_names: Sequence[str] | None = None, n_chunks: int = 300, signflip: bool = True,
             rng: np.random.Generator | int | None = None, n_draws: int = N_DRAWS,
             draw_block: int = DRAW_BLOCK, stop_p: float = STOP_P) -> tuple[pd.DataFrame, SldpFit]:
    """Chunks, fit, p-values and the results table in one call (steps 4-6): :func:`sum_chunks`,
    :func:`fit_sldp`, :func:`stats.sldp.signflip.signflip_test` and :func:`sldp_table`.

    Parameters
    ----------
    blocks : sequence of BlockProducts
        Every LD block in file order (:func:`block_products`).
    h2g, sigma2g, sqnorm, supp, m, annotation_names, phenotype_names
        As in :func:`sldp_table`.
    background_names : sequence of str, optional
    n_chunks : int
        sldp's ``--jk-blocks``.
    signflip : bool
        Compute sign-flip p-values (sldp's default); needs ``rng``.
    rng : numpy Generator or int seed
    n_draws, draw_block, stop_p
        Sign-flip schedule (:func:`stats.sldp.signflip.signflip_test`; sldp: 10^6, 10^5, 0.01).

    Returns
    -------
    table : DataFrame
    fit : SldpFit
        With its :class:`ChunkStats` (``fit.chunks``).
    """
    chunks = sum_chunks(blocks, n_chunks=n_chunks)
    fit = fit_sldp(chunks, background_names=background_names, annotation_names=annotation_names)
    p = z = None
    if signflip:
        if rng is None:
            raise ValueError("sign flipping needs rng (a numpy Generator or an int seed)")
        res = signflip_test(fit.q, rng=rng, n_draws=n_draws, block=draw_block, stop_p=stop_p)
        p, z = res.p, res.z
    table = sldp_table(fit, h2g=h2g, sigma2g=sigma2g, sqnorm=sqnorm, supp=supp, m=m,
                       annotation_names=annotation_names, phenotype_names=phenotype_names, p=p, z=z)
    return table, fit


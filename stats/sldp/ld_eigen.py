"""Leading eigenpairs of a block's LD Gram matrix, exactly, and faster when the block is rank-deficient.

sldp keeps the ``k`` leading eigenvectors of a block's LD that hold ``spectrum_percent`` of its trace
(:func:`stats.sldp.regression.ld_svd`), computed here from the smaller Gram matrix ``G`` (``n x n``).
When the block's individuals carry only a few hundred distinct haplotypes, as in a coalescent world,
``G`` has a rank ``r`` well below ``n`` (about 500 of 1,000), and a full symmetric eigen-decomposition
(LAPACK ``syevd``, ``O(n^3)``) spends most of its time on the null space. The **low-rank route**
instead factorizes ``G = L L^T`` by pivoted Cholesky (``pstrf``), stopped at the numerical rank, and
decomposes the ``r x r`` matrix ``L^T L``: its eigenvalues are the non-zero eigenvalues of ``G``, and
``L z / sqrt(w)`` are the eigenvectors of ``G`` (a quarter of the time in such a block).

The route is exact in the sense ``syevd`` is: it is taken only when what the factorization leaves out
(a positive semi-definite Schur complement, whose norm is at most its trace) is below ``syevd``'s own
backward error, ``n * eps * lambda_max``; the eigenvalues and ``V_k diag(f) V_k^T`` then agree with a
full decomposition to rounding (tested). Every other matrix goes through ``syevd``'s own steps, with
only the kept eigenvectors back-transformed (:func:`symmetric_leading`), or none of them: a caller that
only multiplies a few columns by ``V_k^T`` keeps the Householder reflectors instead
(:class:`LeadingVectors`). Which route a block takes depends only on the block, so results do not
depend on threads or workers.

LAPACK is reached through SciPy's Cython LAPACK table and called by ctypes, which releases the GIL,
so blocks decompose in parallel threads; each thread keeps its work arrays between blocks.
"""
from __future__ import annotations

import ctypes
import functools
from dataclasses import dataclass

import numpy as np

from genocore.workspace import kept_array, thread_array

#: Use the low-rank route only when the numerical rank is at most this share of the matrix order: a
#: factorization that reaches near-full rank costs a third of a tridiagonalization and saves nothing.
LOW_RANK_MAX_SHARE = 0.8

_P = ctypes.c_void_p


@functools.lru_cache(maxsize=None)
def _lapack(name: str, n_args: int):
    """SciPy's Cython LAPACK routine ``name`` (Fortran calling convention: every argument a pointer)."""
    from scipy.linalg import cython_lapack

    capsule = cython_lapack.__pyx_capi__[name]
    # private prototypes: setting restype on ctypes.pythonapi's functions would change them process-wide
    get_name = ctypes.PYFUNCTYPE(ctypes.c_char_p, ctypes.py_object)(("PyCapsule_GetName", ctypes.pythonapi))
    get_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
        ("PyCapsule_GetPointer", ctypes.pythonapi))
    address = get_pointer(capsule, get_name(capsule))
    return ctypes.CFUNCTYPE(None, *([_P] * n_args))(address)


def _int(v: int) -> ctypes.c_int:
    return ctypes.c_int(int(v))


def _ptr(x) -> ctypes.c_void_p:
    if isinstance(x, np.ndarray):
        return ctypes.c_void_p(x.ctypes.data)
    return ctypes.cast(ctypes.byref(x), ctypes.c_void_p)


def _call(name: str, *args) -> None:
    info = ctypes.c_int(0)
    _lapack(name, len(args) + 1)(*[_ptr(a) for a in args], _ptr(info))
    if info.value < 0:
        raise ValueError(f"LAPACK {name}: argument {-info.value} is invalid")
    if info.value > 0 and name != "dpstrf":  # pstrf: info 1 means rank-deficient, which is the point
        raise np.linalg.LinAlgError(f"LAPACK {name} failed (info {info.value})")


def _c(ch: str) -> ctypes.c_char:
    return ctypes.c_char(ch.encode())


def pivoted_cholesky(g: np.ndarray) -> tuple[np.ndarray, int]:
    """``G = L L^T`` by LAPACK's pivoted Cholesky (``pstrf``), stopped at the numerical rank.

    Parameters
    ----------
    g : ndarray, float64, shape (n, n)
        Symmetric positive semi-definite; not modified.

    Returns
    -------
    l : ndarray, float64, shape (n, r)
        Rows in the order of ``g`` (the pivoting undone), so that ``l @ l.T`` approximates ``g``.
    r : int
        The rank at which ``pstrf`` stopped: every remaining pivot was below ``n * eps * max(diag(g))``.
    """
    f, rows, r = _pivoted_factor(g)
    l = np.empty((g.shape[0], r))
    l[rows] = f.T
    return l, r


def _pivoted_factor(g: np.ndarray, *, rank_only: bool = False) -> tuple[np.ndarray | None, np.ndarray, int]:
    """:func:`pivoted_cholesky` as ``pstrf`` leaves it: ``f`` (r x n, upper trapezoidal; None with
    ``rank_only``) and ``rows`` with ``L[rows] = f^T``."""
    n = g.shape[0]
    a = np.array(g, dtype=np.float64, order="C", copy=True)
    piv = np.zeros(n, dtype=np.intc)
    rank = ctypes.c_int(0)
    _call("dpstrf", _c("L"), _int(n), a, _int(n), piv, rank, ctypes.c_double(-1.0), np.empty(2 * n))
    r = rank.value
    # Fortran's lower triangle is C's upper: row j of `a` holds column j of L from its diagonal on.
    return None if rank_only else np.triu(a[:r]), piv - 1, r


def keep_count(w_desc: np.ndarray, spectrum_percent: float) -> int:
    """sldp's ``k = argmax(cumsum(s)/sum(s) >= p/100)`` for eigenvalues in descending order: the
    eigenvector that crosses the threshold is not kept, and ``k = 0`` when the first one alone does
    (or when they sum to 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.cumsum(w_desc) / w_desc.sum()
    return int(np.argmax(frac >= spectrum_percent / 100.0))


@dataclass(frozen=True, eq=False)
class LeadingVectors:
    """The ``k`` leading eigenvectors ``V_k`` of an ``n x n`` symmetric matrix as LAPACK leaves them:
    ``V_k = Q Z_k``, with ``Q`` the product of ``sytrd``'s Householder reflectors (kept packed, ``n^2 / 2``
    numbers) and ``Z_k`` the tridiagonal matrix's eigenvectors. Multiplying a few columns by ``V_k^T``
    this way (``opmtr``, then ``Z_k^T``) costs far less than forming ``V_k`` (``ormtr`` on ``k`` columns,
    a sixth of a full-rank block's decomposition).

    Attributes
    ----------
    z : ndarray, float64, shape (n, k)
        ``Z_k`` (Fortran order); ``V_k`` itself when ``packed`` is None.
    packed : ndarray, float64, shape (n (n + 1) / 2,) or None
        The reflectors in LAPACK's packed lower storage (``sptrd``'s layout).
    tau : ndarray, float64, shape (n - 1,) or None
    """

    z: np.ndarray
    packed: np.ndarray | None = None
    tau: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.z.shape

    def t_dot(self, y: np.ndarray) -> np.ndarray:
        """``V_k^T y`` for ``y`` of shape (n, c): shape (k, c)."""
        if self.packed is None:
            return self.z.T @ y
        return self.z.T @ self._apply(np.array(y, dtype=np.float64, order="F"), "T")

    def dense(self) -> np.ndarray:
        """``V_k``, shape (n, k), Fortran order (a new array)."""
        if self.packed is None:
            return np.array(self.z, order="F")
        return self._apply(np.array(self.z, order="F"), "N")

    def _apply(self, c: np.ndarray, trans: str) -> np.ndarray:
        """``Q c`` (``trans`` N) or ``Q^T c`` (T), in place on the Fortran-order ``c``."""
        n, cols = c.shape
        if n > 1 and cols:
            _call("dopmtr", _c("L"), _c("L"), _c(trans), _int(n), _int(cols), self.packed, self.tau, c, _int(n),
                  np.empty(cols))
        return c


def leading_eigenpairs(g: np.ndarray, *, spectrum_percent: float = 95.0, reflectors: bool = False):
    """Eigenvalues of a positive semi-definite Gram matrix and its leading eigenvectors, up to sldp's
    truncation (:func:`keep_count`): by the low-rank route when it applies, else by ``syevd``.

    Parameters
    ----------
    g : ndarray, float64, shape (n, n)
        Symmetric positive semi-definite (``X X^T`` or ``X^T X``); not modified.
    spectrum_percent : float
    reflectors : bool
        Return the eigenvectors as :class:`LeadingVectors` (``syevd``'s route keeps ``Q`` as reflectors).

    Returns
    -------
    w : ndarray, float64, shape (n,)
        All eigenvalues, descending, negative rounding set to 0 (the low-rank route returns exact zeros
        past the rank).
    v : ndarray, float64, shape (n, k), or LeadingVectors
        The ``k`` leading eigenvectors (orthonormal columns, each defined up to sign).
    k : int
    """
    g = np.asarray(g, dtype=np.float64)
    n = g.shape[0]
    if g.ndim != 2 or g.shape[1] != n:
        raise ValueError(f"g must be square, got shape {g.shape}")
    low = _low_rank(g, spectrum_percent) if _maybe_low_rank(g) else None
    if low is not None:
        return (low[0], LeadingVectors(low[1]), low[2]) if reflectors else low
    return symmetric_leading(g, spectrum_percent=spectrum_percent, reflectors=reflectors)


def symmetric_leading(g: np.ndarray, *, spectrum_percent: float = 95.0, reflectors: bool = False):
    """All eigenvalues of a symmetric matrix and its ``k`` leading eigenvectors (:func:`keep_count`), by
    the steps of LAPACK's ``syevd`` with the last one cut short.

    ``syevd`` tridiagonalizes (``sytrd``), solves the tridiagonal problem by divide and conquer
    (``stedc``) and multiplies every eigenvector by the Householder reflectors (``ormtr``). The same calls
    are made here, but ``ormtr`` is given only the ``k`` eigenvectors that sldp keeps: the eigenvalues are
    ``syevd``'s bytes, the kept eigenvectors its numbers to rounding, and a block that keeps half its
    eigenvectors is decomposed in 85% of the time (75% when it keeps a tenth).

    Parameters
    ----------
    g : ndarray, float64, shape (n, n)
        Exactly symmetric (one triangle is read); not modified.
    spectrum_percent : float
    reflectors : bool
        Skip ``ormtr``: return the eigenvectors as :class:`LeadingVectors` (``Q`` packed, ``Z_k``).

    Returns
    -------
    w : ndarray, float64, shape (n,)
        Eigenvalues, descending, negative rounding set to 0.
    v : ndarray, float64, shape (n, k), or LeadingVectors
        Leading eigenvectors, orthonormal columns, each defined up to sign.
    k : int

    Raises
    ------
    numpy.linalg.LinAlgError
        When the divide-and-conquer step fails to converge.
    """
    n = g.shape[0]
    if n == 0:
        return np.zeros(0), LeadingVectors(np.zeros((0, 0))) if reflectors else np.zeros((0, 0)), 0
    a, z, work = _buffers(n)
    # LAPACK reads the C-order bytes as g^T (= g), so these are the calls numpy's eigh makes
    np.copyto(a, g)
    d, e, tau = np.empty(n), np.empty(max(n - 1, 1)), np.empty(max(n - 1, 1))
    lwork = _sytrd_lwork(n)
    _call("dsytrd", _c("L"), _int(n), a, _int(n), d, e, tau, work, _int(lwork))
    lwork, liwork = 1 + 4 * n + n * n, 3 + 5 * n
    _call("dstedc", _c("I"), _int(n), d, e, z, _int(n), work, _int(lwork), np.empty(liwork, dtype=np.intc),
          _int(liwork))
    w = np.maximum(d[::-1], 0.0)                     # descending; rounding below 0 -> 0
    k = keep_count(w, spectrum_percent)
    v = kept_array((n, k), order="F")                # outlives the call: pre-faulted memory
    np.copyto(v, z[:, ::-1][:, :k])
    if reflectors:
        # Fortran's lower triangle is C's upper: row-major upper = LAPACK's packed lower storage
        flat = _upper_flat(n)
        packed = np.take(a, flat, out=kept_array(len(flat)), mode="clip")  # flat is in range
        return w, LeadingVectors(v, packed, tau[:n - 1].copy()), k
    if k:
        query = np.empty(1)
        _call("dormtr", _c("L"), _c("L"), _c("N"), _int(n), _int(k), a, _int(n), tau, v, _int(n), query, _int(-1))
        lwork = max(int(query[0]), k)
        _call("dormtr", _c("L"), _c("L"), _c("N"), _int(n), _int(k), a, _int(n), tau, v, _int(n),
              work if lwork <= len(work) else np.empty(lwork), _int(lwork))
    return w, v, k


@functools.lru_cache(maxsize=4)
def _upper_flat(n: int) -> np.ndarray:
    """Flat indices of the upper triangle of a C-order ``n x n`` array, row by row."""
    return np.flatnonzero(np.triu(np.ones((n, n), dtype=bool)))


def _buffers(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """This thread's work arrays for an ``n x n`` decomposition: a copy of the matrix, the tridiagonal
    eigenvectors and LAPACK's workspace (:mod:`genocore.workspace`)."""
    return (thread_array("ld_eigen.matrix", (n, n)), thread_array("ld_eigen.vectors", (n, n), order="F"),
            thread_array("ld_eigen.work", max(1 + 4 * n + n * n, _sytrd_lwork(n))))


@functools.lru_cache(maxsize=None)
def _sytrd_lwork(n: int) -> int:
    query = np.empty(1)
    one = np.empty(1)
    _call("dsytrd", _c("L"), _int(n), np.empty((1, 1)), _int(n), one, one, one, query, _int(-1))
    return max(int(query[0]), 1)


def _maybe_low_rank(g: np.ndarray) -> bool:
    """Whether a principal submatrix of half the order (every other row) is already rank-deficient: a
    test that costs an eighth of a factorization of ``g`` and keeps full-rank blocks from paying for one."""
    n = g.shape[0]
    if n < 8:
        return False
    half = g[::2, ::2]
    return _pivoted_factor(half, rank_only=True)[2] < half.shape[0]


def _low_rank(g: np.ndarray, spectrum_percent: float):
    """The low-rank route, or None when ``g``'s rank is above ``LOW_RANK_MAX_SHARE`` of its order or the
    factorization leaves out more than a full decomposition's backward error."""
    n = g.shape[0]
    f, rows, r = _pivoted_factor(g)                  # L[rows] = f^T
    if r == 0 or r > LOW_RANK_MAX_SHARE * n:
        return None
    w, z, k = symmetric_leading(f @ f.T, spectrum_percent=spectrum_percent)  # L^T L; numpy uses syrk
    w = np.concatenate([w, np.zeros(n - r)])         # the cut is the same: the tail adds 0
    # what pstrf leaves out is a positive semi-definite Schur complement S, and ||S||_2 <= trace(S):
    # within syevd's own backward error, the eigenpairs are those of g
    left_out = float(np.sum(np.maximum(np.diag(g)[rows] - np.einsum("ij,ij->j", f, f), 0.0)))
    if not left_out <= n * np.finfo(np.float64).eps * w[0]:
        return None
    v = np.empty((n, k))
    v[rows] = f.T @ z
    v /= np.sqrt(w[:k])
    return w, v, k

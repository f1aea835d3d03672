"""Work arrays kept by each thread between calls.

Block-by-block kernels allocate the same large temporaries again and again (a standardized LD block, a
LAPACK workspace). Fresh pages of tens of MB per block can cost more than the arithmetic they hold,
more so when two threads fault pages in at once, so such arrays are kept per thread, grown when a larger
one is asked for, and freed with their thread or by :func:`release`.
"""
from __future__ import annotations

import threading

import numpy as np

_local = threading.local()


def thread_array(key: str, shape, *, dtype=np.float64, order: str = "C") -> np.ndarray:
    """An uninitialized array of ``shape`` over this thread's buffer ``key``, reused between calls.

    The same ``key`` returns views of the same memory until it has to grow, so a caller must be done
    with the previous array before asking for the next one under the same key.

    Parameters
    ----------
    key : str
        The buffer's name (one per array alive at once).
    shape : int or tuple of int
    dtype : numpy dtype
    order : {"C", "F"}

    Returns
    -------
    ndarray, of ``shape`` and ``dtype``
    """
    shape = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    held = _local.__dict__.setdefault("buffers", {})
    buf = held.get(key)
    if buf is None or buf.nbytes < nbytes:
        buf = held[key] = np.empty(max(nbytes, 1), dtype=np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape, order=order)


def release(*keys: str) -> None:
    """Free this thread's buffers ``keys`` (all of them when none is named)."""
    held = _local.__dict__.get("buffers", {})
    for key in keys or list(held):
        held.pop(key, None)

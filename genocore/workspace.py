"""Work arrays kept by each thread between calls.

Block-by-block kernels allocate the same large temporaries again and again (a standardized LD block, a
LAPACK workspace). Fresh pages of tens of MB per block can cost more than the arithmetic they hold,
more so when two threads fault pages in at once, so such arrays are kept per thread, grown when a larger
one is asked for, and freed with their thread or by :func:`release`.
"""
from __future__ import annotations

import mmap
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
    """Free this thread's buffers ``keys`` (all of them when none is named), and its :func:`kept_array`
    chunk (its arrays stay valid)."""
    held = _local.__dict__.get("buffers", {})
    for key in keys or list(held):
        held.pop(key, None)
    if not keys:
        _local.__dict__.pop("chunk", None)


#: Size of the pre-faulted chunks :func:`kept_array` carves arrays from.
KEPT_CHUNK_BYTES = 64 << 20


def kept_array(shape, *, dtype=np.float64, order: str = "C") -> np.ndarray:
    """An uninitialized array for results that outlive the call making them (e.g. one LD block's
    decomposition, kept for the regression), carved from this thread's pre-faulted memory.

    Touching fresh pages one fault at a time costs about 5 microseconds a page on a virtual machine,
    more than the arithmetic that fills them; a chunk of ``KEPT_CHUNK_BYTES`` mapped with its pages
    populated at once (``MAP_POPULATE``) costs a fifth of that. A chunk is freed when the last array
    carved from it is. Where the platform has no ``MAP_POPULATE``, this is ``numpy.empty``.

    Parameters
    ----------
    shape : int or tuple of int
    dtype : numpy dtype
    order : {"C", "F"}

    Returns
    -------
    ndarray, of ``shape`` and ``dtype``, 64-byte aligned
    """
    shape = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    populate = getattr(mmap, "MAP_POPULATE", None)
    if populate is None or nbytes == 0:
        return np.empty(shape, dtype=dtype, order=order)
    size = -(-nbytes // 64) * 64
    if size > KEPT_CHUNK_BYTES // 4:                  # large: a mapping of its own
        return _populated(size)[:nbytes].view(dtype).reshape(shape, order=order)
    chunk, used = _local.__dict__.get("chunk", (None, 0))
    if chunk is None or used + size > len(chunk):
        chunk, used = _populated(KEPT_CHUNK_BYTES), 0
    _local.chunk = (chunk, used + size)
    return chunk[used:used + nbytes].view(dtype).reshape(shape, order=order)


def _populated(nbytes: int) -> np.ndarray:
    """``nbytes`` of private anonymous memory with every page mapped at once, as bytes."""
    mm = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE)
    return np.frombuffer(mm, dtype=np.uint8)

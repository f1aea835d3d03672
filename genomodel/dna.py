"""DNA encodings: base codes, one-hot by lookup table, reverse complement.

Bases are coded A=0, C=1, G=2, T=3 and anything else (N, IUPAC codes) = 4. Every conversion is a
table lookup over the bytes of the sequence, never a per-base Python loop.
"""
from __future__ import annotations

import numpy as np

BASES = "ACGT"
N_CODE = 4

_CODE_TABLE = np.full(256, N_CODE, dtype=np.uint8)
for _i, _b in enumerate(BASES):
    _CODE_TABLE[ord(_b)] = _i
    _CODE_TABLE[ord(_b.lower())] = _i

_LETTERS = np.frombuffer(b"ACGTN", dtype=np.uint8)
# complement of codes: A<->T, C<->G, N stays N
_COMPLEMENT_CODE = np.array([3, 2, 1, 0, 4], dtype=np.uint8)
_ONE_HOT_TABLE = np.vstack([np.eye(4, dtype=np.uint8), np.zeros((1, 4), dtype=np.uint8)])


def encode(seq: str | bytes | np.ndarray) -> np.ndarray:
    """Base codes of a sequence.

    Parameters
    ----------
    seq : str, bytes or ndarray of uint8 (ASCII)
        The sequence, any case.

    Returns
    -------
    codes : ndarray, uint8, shape (length,)
        0..3 for A, C, G, T; 4 for anything else.
    """
    if isinstance(seq, str):
        seq = seq.encode("ascii")
    raw = np.frombuffer(seq, dtype=np.uint8) if isinstance(seq, bytes) else np.asarray(seq, np.uint8)
    return _CODE_TABLE[raw]


def decode(codes: np.ndarray) -> str:
    """The upper-case string of base codes (4 -> N)."""
    return _LETTERS[np.asarray(codes, dtype=np.uint8)].tobytes().decode("ascii")


def one_hot(codes: np.ndarray, dtype=np.uint8) -> np.ndarray:
    """One-hot encoding of base codes; N is all zeros.

    Parameters
    ----------
    codes : ndarray, uint8, shape (..., length)

    Returns
    -------
    ndarray, shape (..., length, 4)
    """
    return _ONE_HOT_TABLE[np.asarray(codes, dtype=np.uint8)].astype(dtype, copy=False)


def complement_codes(codes: np.ndarray) -> np.ndarray:
    """Complement of base codes, position by position."""
    return _COMPLEMENT_CODE[np.asarray(codes, dtype=np.uint8)]


def reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of base codes along the last axis."""
    return complement_codes(codes)[..., ::-1]

"""Target subsets: which of a model's output tracks a command scores."""
from __future__ import annotations

import numpy as np
import pandas as pd


def read_target_subset(path, target_ids) -> np.ndarray:
    """Indices of the targets a targets.txt-like table names, in the table's order.

    Parameters
    ----------
    path : path-like
        Tab-separated table with an ``identifier`` column (basenji's targets.txt has one).
    target_ids : sequence of str
        The model's target identifiers, in output order.

    Returns
    -------
    ndarray, int, shape (n_listed,)
        Output index of each listed identifier.

    Raises
    ------
    ValueError
        An identifier that is not one of the model's targets.
    """
    ids = list(target_ids)
    want = pd.read_csv(path, sep="\t")["identifier"].astype(str).tolist()
    missing = [t for t in want if t not in ids]
    if missing:
        raise ValueError(f"{path}: targets {missing[:5]} are not among the model's {len(ids)} "
                         f"targets (e.g. {ids[:3]}); the model was trained on another target list")
    return np.array([ids.index(t) for t in want])

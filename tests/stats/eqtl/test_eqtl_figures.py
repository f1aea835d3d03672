"""Quantile-enrichment figures: one tissue, and the multi-panel figure."""
from __future__ import annotations

import numpy as np
import pytest

from stats.eqtl.figures import panel_figure, tissue_figure
from stats.eqtl.regression import covariate_regression


def test_tissue_and_panel_figures(tmp_path, covreg_data):
    rng = np.random.default_rng(5)
    results = {}
    for tissue, groups in (("A", None), ("B", np.arange(400) % 9)):
        chi2, l2, s, tss, sig = covreg_data(rng)
        results[tissue] = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, tissue=tissue, n_boot=10,
                                               rng=rng, groups=groups)
    p1 = tissue_figure(results["A"], tmp_path / "a.png")
    p2 = panel_figure(results, tmp_path / "panel.png")
    p3 = panel_figure(list(results.values()), tmp_path / "panel_list.png", ncols=1)
    assert p1.read_bytes()[:4] == b"\x89PNG" and p2.stat().st_size > 1000 and p3.stat().st_size > 1000
    with pytest.raises(ValueError, match="no results"):
        panel_figure([], tmp_path / "none.png")

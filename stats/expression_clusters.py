"""Gene-expression cluster comparison (Basenji 2018, Fig. 3C and Supp. Fig. 5).

Observed and predicted genes x samples matrices (e.g. CAGE expression per gene and cell type) are
quantile-normalized across samples, the most variable genes of the observed matrix are kept, and on
bootstrap samples of those genes a Gaussian mixture with ``k`` components is fitted to the rows of
the observed and of the predicted matrix. The adjusted Rand index (ARI) between the two labelings
says how far the predictions reproduce the observed co-expression structure. The paper's p-value
that the ARI distribution lies above 0 is the normal tail ``P(N(mean, sd) <= 0)`` of the bootstrap
ARIs; an optional permutation null (gene correspondence shuffled) gives a calibrated alternative.

Paper defaults: 2,000 genes, bootstrap samples of 1,000 genes, 10 mixture components.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

logger = logging.getLogger(__name__)

__all__ = ["quantile_normalize", "most_variable_genes", "adjusted_rand_index", "gmm_labels",
           "ClusterComparison", "compare_clusters", "cluster_order", "cluster_heatmaps"]


def _as_matrix(x, name: str) -> np.ndarray:
    a = np.asarray(x.to_numpy() if isinstance(x, pd.DataFrame) else x, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-d genes x samples matrix, got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} holds {int(np.sum(~np.isfinite(a)))} non-finite values (NaN/inf); "
                         "drop or impute them first")
    return a


def quantile_normalize(x) -> np.ndarray:
    """Quantile-normalize the columns (samples) of a genes x samples matrix.

    Every column is given the same distribution: the mean across columns of the column-wise sorted
    values. A value of rank ``r`` (0-based) in its column becomes that mean distribution's ``r``-th
    value; tied values get the average rank and the reference is linearly interpolated between
    neighbouring quantiles (as preprocessCore's ``normalize.quantiles`` does for two-way ties).

    Parameters
    ----------
    x : array_like or DataFrame, float64, shape (n_genes, n_samples)

    Returns
    -------
    ndarray, float64, shape (n_genes, n_samples)
    """
    a = _as_matrix(x, "x")
    ref = np.sort(a, axis=0).mean(axis=1)
    ranks = sps.rankdata(a, axis=0, method="average") - 1.0
    grid = np.arange(a.shape[0], dtype=np.float64)
    return np.column_stack([np.interp(ranks[:, j], grid, ref) for j in range(a.shape[1])])


def most_variable_genes(x, *, n_genes: int = 2000) -> np.ndarray:
    """Row indices of the ``n_genes`` rows with the largest variance across samples.

    Parameters
    ----------
    x : array_like, float64, shape (n_genes_total, n_samples)
    n_genes : int
        How many to keep. Fewer rows than that is an error.

    Returns
    -------
    ndarray, int64, shape (n_genes,)
        Indices in order of decreasing variance (ties by row order).
    """
    a = _as_matrix(x, "x")
    if n_genes < 1:
        raise ValueError(f"n_genes must be >= 1, got {n_genes}")
    if a.shape[0] < n_genes:
        raise ValueError(f"fewer genes than requested: the matrix has {a.shape[0]} rows, n_genes={n_genes}")
    var = a.var(axis=1)
    order = np.argsort(-var, kind="stable")[:n_genes]
    n_const = int(np.sum(var[order] <= 0))
    if n_const:
        raise ValueError(f"{n_const} of the {n_genes} most variable genes are constant across samples "
                         f"(only {int(np.sum(var > 0))} rows vary); lower n_genes or drop constant rows")
    return order.astype(np.int64)


def adjusted_rand_index(a, b) -> float:
    """Adjusted Rand index between two labelings (Hubert & Arabie 1985).

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Cluster labels (any hashable values).

    Returns
    -------
    float
        1 for identical partitions, expectation 0 under random labelings with fixed cluster sizes.
    """
    from sklearn.metrics import adjusted_rand_score

    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"labelings must be 1-d of equal length, got {a.shape} and {b.shape}")
    return float(adjusted_rand_score(a, b))


def gmm_labels(x, *, n_components: int = 10, random_state: int = 0, covariance_type: str = "full",
               n_init: int = 1, max_iter: int = 200) -> np.ndarray:
    """Fit a Gaussian mixture to the rows of ``x`` and return each row's most likely component.

    Parameters
    ----------
    x : array_like, float64, shape (n_rows, n_samples)
    n_components : int
    random_state : int
        Seed of scikit-learn's initialisation (derive it from a Generator).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}

    Returns
    -------
    ndarray, int64, shape (n_rows,)
    """
    from sklearn.mixture import GaussianMixture

    a = _as_matrix(x, "x")
    if a.shape[0] < n_components:
        raise ValueError(f"{a.shape[0]} rows cannot be fitted with {n_components} mixture components")
    gm = GaussianMixture(n_components=n_components, covariance_type=covariance_type, n_init=n_init,
                         max_iter=max_iter, random_state=int(random_state))
    return gm.fit_predict(a).astype(np.int64)


@dataclass(frozen=True)
class ClusterComparison:
    """Result of :func:`compare_clusters`.

    Attributes
    ----------
    ari : ndarray, float64, shape (n_bootstrap,)
        ARI between observed and predicted GMM labels per bootstrap sample.
    mean, sd : float
        Mean and SD (ddof=1) of ``ari``.
    z, p_value : float
        ``mean / sd`` and its one-sided normal p-value ``P(N(mean, sd) <= 0)`` (the paper's test).
    genes : ndarray, int64, shape (n_genes,)
        Rows of the input kept as the most variable observed genes.
    null_ari : ndarray, float64, shape (n_permutations,) or None
        Mean ARI with the gene correspondence shuffled, per permutation.
    p_permutation : float or None
        ``(1 + #(null_ari >= mean)) / (1 + n_permutations)``.
    params : dict
    """

    ari: np.ndarray
    mean: float
    sd: float
    z: float
    p_value: float
    genes: np.ndarray
    null_ari: np.ndarray | None = None
    p_permutation: float | None = None
    params: dict = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """One-row table: mean, sd, z, p_value, n_bootstrap, p_permutation, null mean/sd and parameters."""
        row = {"ari_mean": self.mean, "ari_sd": self.sd, "z": self.z, "p_value": self.p_value,
               "n_bootstrap": len(self.ari)}
        if self.null_ari is not None:
            row.update(null_ari_mean=float(self.null_ari.mean()), null_ari_sd=float(self.null_ari.std(ddof=1))
                       if len(self.null_ari) > 1 else np.nan, n_permutations=len(self.null_ari),
                       p_permutation=self.p_permutation)
        row.update(self.params)
        return pd.DataFrame([row])


def _seeds(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2**31 - 1, size=n)


def compare_clusters(observed, predicted, *, n_genes: int = 2000, sample_size: int = 1000,
                     n_components: int = 10, n_bootstrap: int = 100, replace: bool = False,
                     normalize: bool = True, covariance_type: str = "full", n_permutations: int = 0,
                     blas_threads: int | None = 1,
                     rng: np.random.Generator | int | None = None) -> ClusterComparison:
    """Bootstrap comparison of GMM clusterings of observed and predicted expression.

    Parameters
    ----------
    observed, predicted : array_like or DataFrame, float64, shape (n_genes_total, n_samples)
        Rows are the same genes in the same order (DataFrames are aligned on their index and columns).
    n_genes : int
        Keep the ``n_genes`` most variable genes of the (normalized) observed matrix.
    sample_size : int
        Genes per bootstrap sample (at most ``n_genes`` when ``replace`` is False).
    n_components : int
        Mixture components.
    n_bootstrap : int
        Bootstrap samples (>= 2, for the SD).
    replace : bool
        Draw the genes of a bootstrap sample with replacement. Off by default: a gene drawn twice
        is two identical rows, always clustered together in both labelings, which biases the ARI
        upwards (about +0.02 for 150 of 300 genes and 4 components with no shared structure).
    normalize : bool
        Quantile-normalize each matrix across its samples first.
    covariance_type : str
        Passed to ``sklearn.mixture.GaussianMixture``.
    n_permutations : int
        With > 0, a permutation null: the predicted genes are shuffled against the observed ones
        (one permutation of all ``n_genes`` per null draw), the same bootstrap gene sets are
        re-clustered and the mean ARI recorded. Costs ``n_permutations * n_bootstrap`` extra fits.
    blas_threads : int or None
        BLAS/OpenMP threads during the fits (via threadpoolctl, restored afterwards). Many small
        fits run several times faster on one thread; None leaves the thread pools alone.
    rng : numpy.random.Generator or int
        Source of all randomness (bootstrap draws, permutations, scikit-learn seeds).

    Returns
    -------
    ClusterComparison
    """
    rng = np.random.default_rng(rng)
    obs, pred, genes = _selected_matrices(observed, predicted, n_genes=n_genes, sample_size=sample_size,
                                          n_components=n_components, n_bootstrap=n_bootstrap, replace=replace,
                                          normalize=normalize)
    logger.info("cluster comparison: %d genes x %d samples, %d bootstrap samples of %d, k=%d",
                n_genes, obs.shape[1], n_bootstrap, sample_size, n_components)

    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=blas_threads):
        ari, obs_labels, null, draws = _bootstrap_fits(obs, pred, rng, n_genes=n_genes, sample_size=sample_size,
                                                       replace=replace, n_bootstrap=n_bootstrap,
                                                       n_permutations=n_permutations, n_components=n_components,
                                                       covariance_type=covariance_type)
    mean, sd = float(ari.mean()), float(ari.std(ddof=1))
    if sd > 0:
        z = mean / sd
    else:
        z = np.inf * np.sign(mean) if mean != 0 else 0.0
    p = float(sps.norm.sf(z))
    p_perm = None if null is None else float((1 + np.sum(null >= mean)) / (1 + n_permutations))
    params = {"n_genes": n_genes, "sample_size": sample_size, "n_components": n_components,
              "replace": replace, "normalize": normalize, "covariance_type": covariance_type}
    return ClusterComparison(ari=ari, mean=mean, sd=sd, z=float(z), p_value=p, genes=genes,
                             null_ari=null, p_permutation=p_perm, params=params)


def _selected_matrices(observed, predicted, *, n_genes: int, sample_size: int, n_components: int,
                       n_bootstrap: int, replace: bool, normalize: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check the inputs of :func:`compare_clusters`, normalize, and keep the most variable genes.

    Parameters
    ----------
    observed, predicted : array_like or DataFrame, shape (n_genes_total, n_samples)
        DataFrames with different gene indexes are reduced to their shared genes.
    n_genes, sample_size, n_components, n_bootstrap, replace, normalize
        As in :func:`compare_clusters`.

    Returns
    -------
    obs, pred : ndarray, float64, shape (n_genes, n_samples)
        The selected rows (of the quantile-normalized matrices when ``normalize``).
    genes : ndarray, int64, shape (n_genes,)
        Their rows in the (aligned) inputs.

    Raises
    ------
    ValueError
        For matrices of different gene counts, impossible bootstrap settings, or selected genes
        that are constant in the predicted matrix.
    """
    if isinstance(observed, pd.DataFrame) and isinstance(predicted, pd.DataFrame):
        if not observed.index.equals(predicted.index):
            common = observed.index.intersection(predicted.index)
            logger.info("aligning observed (%d genes) and predicted (%d genes) on %d shared genes",
                        len(observed), len(predicted), len(common))
            observed, predicted = observed.loc[common], predicted.loc[common]
    obs, pred = _as_matrix(observed, "observed"), _as_matrix(predicted, "predicted")
    if obs.shape[0] != pred.shape[0]:
        raise ValueError(f"observed has {obs.shape[0]} genes and predicted {pred.shape[0]}; rows must match")
    if n_bootstrap < 2:
        raise ValueError(f"n_bootstrap must be >= 2 for an SD, got {n_bootstrap}")
    if not replace and sample_size > n_genes:
        raise ValueError(f"sample_size {sample_size} > n_genes {n_genes} without replacement")
    if sample_size < n_components:
        raise ValueError(f"sample_size {sample_size} < n_components {n_components}")
    if normalize:
        obs, pred = quantile_normalize(obs), quantile_normalize(pred)
    genes = most_variable_genes(obs, n_genes=n_genes)
    obs, pred = obs[genes], pred[genes]
    n_const = int(np.sum(pred.var(axis=1) <= 0))
    if n_const:
        raise ValueError(f"{n_const} of the selected genes are constant across samples in the predicted matrix")
    return obs, pred, genes


def _bootstrap_fits(obs, pred, rng, *, n_genes, sample_size, replace, n_bootstrap, n_permutations,
                    n_components, covariance_type):
    kw = dict(n_components=n_components, covariance_type=covariance_type)
    draws = [rng.choice(n_genes, size=sample_size, replace=replace) for _ in range(n_bootstrap)]
    seeds = _seeds(rng, 2 * n_bootstrap)
    obs_labels, ari = [], np.empty(n_bootstrap)
    for b, idx in enumerate(draws):
        lo = gmm_labels(obs[idx], random_state=seeds[2 * b], **kw)
        lp = gmm_labels(pred[idx], random_state=seeds[2 * b + 1], **kw)
        obs_labels.append(lo)
        ari[b] = adjusted_rand_index(lo, lp)
    null = None
    if n_permutations > 0:
        null = np.empty(n_permutations)
        for j in range(n_permutations):
            perm = rng.permutation(n_genes)
            pseeds = _seeds(rng, n_bootstrap)
            null[j] = np.mean([adjusted_rand_index(obs_labels[b],
                                                   gmm_labels(pred[perm[idx]], random_state=pseeds[b], **kw))
                               for b, idx in enumerate(draws)])
    return ari, obs_labels, null, draws


def cluster_order(x, *, axis: int = 0, method: str = "average", metric: str = "correlation") -> np.ndarray:
    """Leaf order of a hierarchical clustering of the rows (``axis=0``) or columns (``axis=1``).

    Parameters
    ----------
    x : array_like, float64, shape (n_genes, n_samples)
    method, metric : str
        Passed to ``scipy.cluster.hierarchy.linkage`` (rows with zero variance cannot use
        ``metric='correlation'``; use 'euclidean' then).

    Returns
    -------
    ndarray, int64, shape (x.shape[axis],)
    """
    from scipy.cluster import hierarchy

    a = _as_matrix(x, "x")
    a = a if axis == 0 else a.T
    if a.shape[0] < 2:
        return np.arange(a.shape[0], dtype=np.int64)
    if metric == "correlation" and np.any(a.std(axis=1) == 0):
        raise ValueError("constant rows cannot be clustered with metric='correlation'; drop them or use 'euclidean'")
    link = hierarchy.linkage(a, method=method, metric=metric, optimal_ordering=False)
    return hierarchy.leaves_list(link).astype(np.int64)


def cluster_heatmaps(observed, predicted, *, path=None, sample_names=None, method: str = "average",
                     metric: str = "correlation", standardize_rows: bool = True, dpi: int = 100):
    """Heatmaps of observed, predicted, and predicted in the observed ordering (Basenji Supp. Fig. 5).

    Genes and samples are ordered by hierarchical clustering of each matrix; the third panel shows
    the predicted matrix with the observed matrix's gene and sample order.

    Parameters
    ----------
    observed, predicted : array_like, float64, shape (n_genes, n_samples)
        Typically quantile-normalized and restricted to the most variable genes.
    path : path-like, optional
        Write a PNG there (atomically, via :func:`genocore.figures.save_png`).
    sample_names : sequence of str, length n_samples, optional
    standardize_rows : bool
        Show each gene centred and scaled to unit SD (colour scale -2.5..2.5).

    Returns
    -------
    fig : matplotlib.figure.Figure
    orders : dict
        ``obs_genes``, ``obs_samples``, ``pred_genes``, ``pred_samples`` (int64 index arrays).
    """
    from matplotlib.figure import Figure

    if sample_names is None and isinstance(observed, pd.DataFrame):
        sample_names = [str(c) for c in observed.columns]
    obs, pred = _as_matrix(observed, "observed"), _as_matrix(predicted, "predicted")
    if obs.shape != pred.shape:
        raise ValueError(f"observed {obs.shape} and predicted {pred.shape} differ in shape")
    orders = {"obs_genes": cluster_order(obs, axis=0, method=method, metric=metric),
              "obs_samples": cluster_order(obs, axis=1, method=method, metric=metric),
              "pred_genes": cluster_order(pred, axis=0, method=method, metric=metric),
              "pred_samples": cluster_order(pred, axis=1, method=method, metric=metric)}

    def show(a):
        if not standardize_rows:
            return a
        sd = a.std(axis=1, keepdims=True)
        return np.divide(a - a.mean(axis=1, keepdims=True), sd, out=np.zeros_like(a), where=sd > 0)

    panels = [("observed", show(obs)[np.ix_(orders["obs_genes"], orders["obs_samples"])], orders["obs_samples"]),
              ("predicted", show(pred)[np.ix_(orders["pred_genes"], orders["pred_samples"])], orders["pred_samples"]),
              ("predicted, observed order", show(pred)[np.ix_(orders["obs_genes"], orders["obs_samples"])],
               orders["obs_samples"])]
    fig = Figure(figsize=(12, 6))
    axes = fig.subplots(1, 3)
    vmax = 2.5 if standardize_rows else None
    for ax, (title, mat, cols) in zip(axes, panels):
        im = ax.imshow(mat, aspect="auto", interpolation="nearest", cmap="RdBu_r",
                       vmin=-vmax if vmax else None, vmax=vmax)
        ax.set_title(title)
        ax.set_ylabel("genes")
        ax.set_yticks([])
        if sample_names is not None and len(cols) <= 60:
            ax.set_xticks(range(len(cols)))
            ax.set_xticklabels([sample_names[c] for c in cols], rotation=90, fontsize=6)
        else:
            ax.set_xlabel("samples")
            ax.set_xticks([])
    fig.colorbar(im, ax=list(axes), shrink=0.6)
    if path is not None:
        from genocore.figures import save_png

        save_png(fig, path, dpi=dpi)
    return fig, orders


# -- files in, an output folder out -----------------------------------------------------------------

def read_expression(path, *, what: str = "expression") -> pd.DataFrame:
    """A genes x samples expression TSV (``gene_id`` + one numeric column per sample).

    Returns
    -------
    DataFrame, float64, shape (n_genes, n_samples), index ``gene_id``.

    Raises
    ------
    ValueError
        Naming the file (and line, gene and sample): duplicated genes, fewer than 2 samples, a
        non-numeric, missing or infinite value.
    """
    from stats.io.tables import numeric, read_tsv

    df = read_tsv(path, what, required=("gene_id",), dtype={"gene_id": str})
    if df.gene_id.duplicated().any():
        raise ValueError(f"{what} {path}: duplicate gene_id {df.gene_id[df.gene_id.duplicated()].iloc[0]!r}")
    samples = [c for c in df.columns if c != "gene_id"]
    if len(samples) < 2:
        raise ValueError(f"{what} {path}: needs gene_id and at least 2 sample columns, has {list(df.columns)}")
    df = numeric(df, samples, path=path, what=what)
    bad = ~np.isfinite(df[samples].to_numpy())
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"{what} {path}, line {i + 2}: gene {df.gene_id.iloc[i]!r}, sample {samples[j]!r} is "
                         "missing or not finite")
    return df.set_index("gene_id")[samples]


def join_expression(observed: pd.DataFrame, predicted: pd.DataFrame, *,
                    what: str = "observed / predicted") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Observed and predicted expression on their shared genes, predicted's samples in observed's order.

    Raises
    ------
    ValueError
        When the two have different samples.
    """
    if set(observed.columns) != set(predicted.columns):
        only_o = sorted(set(observed.columns) - set(predicted.columns))
        only_p = sorted(set(predicted.columns) - set(observed.columns))
        raise ValueError(f"{what} have different samples (only observed: {only_o[:5]}, only predicted: "
                         f"{only_p[:5]})")
    genes = observed.index.intersection(predicted.index)
    if len(genes) < len(observed) or len(genes) < len(predicted):
        logger.info("joined on gene_id: %d shared genes (observed %d, predicted %d)", len(genes), len(observed),
                    len(predicted))
    return observed.loc[genes], predicted.loc[genes, list(observed.columns)]


def comparison_outputs(result: ClusterComparison, observed: pd.DataFrame, predicted: pd.DataFrame, *,
                       normalize: bool = True):
    """The output folder of a comparison: ``summary.tsv``, ``ari.tsv`` (bootstrap and permutation
    ARIs) and ``heatmap.png`` (the kept genes, clustered).

    Parameters
    ----------
    result : ClusterComparison
    observed, predicted : DataFrame, shape (n_genes, n_samples)
        The joined inputs of :func:`compare_clusters`.
    normalize : bool
        Whether the comparison quantile-normalized them (the heatmap shows what was compared).

    Returns
    -------
    genocore.outputs.OutputFolder
    """
    from genocore.outputs import OutputFolder

    o, p = observed.to_numpy(np.float64), predicted.to_numpy(np.float64)
    if normalize:
        o, p = quantile_normalize(o), quantile_normalize(p)
    ari = pd.DataFrame({"kind": "bootstrap", "replicate": np.arange(len(result.ari)), "ari": result.ari})
    if result.null_ari is not None:
        ari = pd.concat([ari, pd.DataFrame({"kind": "permutation", "replicate": np.arange(len(result.null_ari)),
                                            "ari": result.null_ari})], ignore_index=True)
    summary = result.summary().assign(n_genes_input=len(observed), n_samples=observed.shape[1])

    def heatmap(path):
        cluster_heatmaps(o[result.genes], p[result.genes], path=path, sample_names=list(observed.columns))

    return OutputFolder(tables={"summary.tsv": summary, "ari.tsv": ari}, figures={"heatmap.png": heatmap})

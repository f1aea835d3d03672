"""GWAS-catalog SNP classifiers from variant scores (Basenji 2018, Supp. Fig. 8).

Per SNP a feature vector (e.g. the max over 128-bp bins of |log2((alt + c) / (ref + c))| per target,
the ``LOG2MAX`` statistic of a basenji-layout ``sad.h5``), optionally joined with external columns
(e.g. DeepSEA scores) by SNP id; standardized, reduced by PCA to 200 components (fewer when there are
fewer features or training SNPs) and fed to an L2-penalized logistic regression. AUROC comes from
cross-validation grouped by chromosome, with a DeLong confidence interval; two feature sets are
compared on the same SNPs by DeLong's paired test or a paired bootstrap.

Inference. DeLong and the bootstrap treat the pooled out-of-fold scores as a fixed score, but the
folds are correlated (each model is trained on the other folds' SNPs), so on cross-validated scores
their SEs, CIs and p-values are descriptive only (anti-conservative under the null: 17.5% of DeLong
p-values below 0.05 in ``validation/stats_null_calibration_clusters_classifiers.py``). The calibrated
tests are label permutations that refit every fold: labels are permuted within chromosome (so every
fold keeps its class counts and the grouping is kept), ``p = (1 + #{AUC* >= AUC}) / (1 + N)``
(:func:`evaluate_classifier` with ``n_permutations``), and for two feature sets the same permutations
refit both and give the null of the AUROC difference (:func:`compare_feature_sets`,
``method='permutation'``).

DeLong's variance uses the fast midrank algorithm of Sun & Xu (2014, IEEE Signal Process. Lett.
21:1389); the tests check it against the direct U-statistic computation of DeLong et al. (1988).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

logger = logging.getLogger(__name__)

__all__ = ["features_from_sad_h5", "features_from_frame", "join_features", "auroc", "delong",
           "auroc_ci", "delong_test", "paired_bootstrap", "cross_validated_scores", "ClassifierResult",
           "evaluate_classifier", "compare_feature_sets", "permute_within_groups", "permutation_null",
           "roc_figure", "maf_matched_negatives"]

DESCRIPTIVE = "descriptive (cross-validated scores; folds correlated)"


# ----------------------------------------------------------------------------------------------- features
def features_from_sad_h5(path, *, stat: str = "LOG2MAX", absolute: bool = True,
                         target_names: str = "target_ids") -> pd.DataFrame:
    """Per-SNP features from one statistic of a basenji-layout ``sad.h5``.

    Parameters
    ----------
    path : path-like
        HDF5 with ``snp`` and a dataset ``stat`` of shape (n_variants, n_targets).
    stat : str
        'LOG2MAX' (max |log2 ratio| per target), 'SAD', 'SAR', ...
    absolute : bool
        Take |value| (LOG2MAX is already non-negative).
    target_names : {'target_ids', 'target_labels'}
        Which dataset names the columns.

    Returns
    -------
    DataFrame, float64, shape (n_variants, n_targets), indexed by ``snp``.
    """
    from genocore.scores import read_sad_h5

    scores = read_sad_h5(path, stats=[stat], dtype=np.float64)  # KeyError naming the statistic if absent
    x = scores.stats[stat]
    names = {"target_ids": scores.target_ids, "target_labels": scores.target_labels}.get(target_names)
    names = np.array(names if names is not None else [f"t{j}" for j in range(x.shape[1])])
    snps = scores.variants["snp"].to_numpy()
    df = pd.DataFrame(np.abs(x) if absolute else x, index=pd.Index(snps, name="snp"), columns=names)
    return _check_unique(df, str(path))


def features_from_frame(df: pd.DataFrame, *, snp_col: str = "snp", columns=None,
                        absolute: bool = False) -> pd.DataFrame:
    """Feature matrix from a table of per-SNP scores.

    Parameters
    ----------
    df : DataFrame with ``snp_col`` and numeric score columns.
    columns : sequence of str, optional
        Score columns to use; by default every numeric column but ``snp_col``.
    absolute : bool
        Take |value| (e.g. signed effects -> magnitudes).

    Returns
    -------
    DataFrame, float64, shape (n_snps, n_features), indexed by ``snp``.
    """
    if snp_col not in df.columns:
        raise KeyError(f"no {snp_col!r} column; columns are {list(df.columns)}")
    if columns is None:
        columns = [c for c in df.columns if c != snp_col and pd.api.types.is_numeric_dtype(df[c])]
    if not columns:
        raise ValueError("no numeric feature columns")
    x = df.set_index(snp_col)[list(columns)].astype(np.float64)
    x.index.name = "snp"
    return _check_unique(np.abs(x) if absolute else x, "feature table")


def _check_unique(df: pd.DataFrame, what: str) -> pd.DataFrame:
    dup = df.index.duplicated()
    if dup.any():
        raise ValueError(f"{what}: {int(dup.sum())} duplicated SNP ids (e.g. {df.index[dup][0]!r})")
    return df


def join_features(base: pd.DataFrame, external: pd.DataFrame, *, how: str = "inner",
                  suffix: str = "_ext") -> pd.DataFrame:
    """Join external per-SNP feature columns (e.g. DeepSEA scores) onto ``base`` by SNP id.

    Parameters
    ----------
    base, external : DataFrame indexed by SNP id
    how : {'inner', 'left'}
        'left' keeps every base SNP and fails if any lacks external features.

    Returns
    -------
    DataFrame, shape (n_snps, n_base + n_external)
    """
    _check_unique(external, "external features")
    clash = set(base.columns) & set(external.columns)
    if clash:
        external = external.rename(columns={c: f"{c}{suffix}" for c in clash})
    out = base.join(external, how="inner" if how == "inner" else "left")
    missing = len(base) - len(out.dropna())
    if how == "left" and missing:
        raise ValueError(f"{missing} of {len(base)} SNPs lack external features")
    logger.info("joined %d external columns: %d of %d SNPs kept", external.shape[1], len(out), len(base))
    return out


# ----------------------------------------------------------------------------------------------- AUROC
def _labels(y) -> np.ndarray:
    y = np.asarray(y)
    u = np.unique(y)
    if len(u) != 2:
        raise ValueError(f"labels must have exactly two classes, got {len(u)} ({u[:5].tolist()})")
    if not set(u.tolist()) <= {0, 1, False, True}:
        raise ValueError(f"labels must be 0/1 (or bool), got {u.tolist()}")
    return y.astype(bool)


def _midrank_components(y: np.ndarray, scores: np.ndarray):
    """Sun & Xu's fast DeLong: AUCs and the structural components from midranks.

    scores : (n_predictors, n) ; returns aucs (k,), v10 (k, m), v01 (k, n_neg).
    """
    pos, neg = scores[:, y], scores[:, ~y]
    m, n = pos.shape[1], neg.shape[1]
    tx = sps.rankdata(pos, axis=1)
    ty = sps.rankdata(neg, axis=1)
    tz = sps.rankdata(np.hstack([pos, neg]), axis=1)
    aucs = (tz[:, :m].sum(axis=1) / m - (m + 1) / 2) / n
    v10 = (tz[:, :m] - tx) / n           # per positive: share of negatives below (ties 1/2)
    v01 = 1.0 - (tz[:, m:] - ty) / m     # per negative: share of positives above (ties 1/2)
    return aucs, v10, v01


def auroc(y, score) -> float:
    """Area under the ROC curve, the Mann-Whitney probability P(score_pos > score_neg) + P(tie)/2.

    Parameters
    ----------
    y : array_like, 0/1 or bool, shape (n,)
    score : array_like, float64, shape (n,)
    """
    y = _labels(y)
    s = np.asarray(score, dtype=np.float64)[None, :]
    return float(_midrank_components(y, s)[0][0])


def delong(y, scores) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of one or more predictors and DeLong's covariance matrix (fast midrank algorithm).

    Parameters
    ----------
    y : array_like, 0/1 or bool, shape (n,)
    scores : array_like, float64, shape (n,) or (n_predictors, n)

    Returns
    -------
    aucs : ndarray, float64, shape (n_predictors,)
    cov : ndarray, float64, shape (n_predictors, n_predictors)
        ``S10 / m + S01 / n`` with S10, S01 the covariances (ddof=1) of the structural components
        over the m positives and n negatives.
    """
    y = _labels(y)
    s = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    if s.shape[1] != len(y):
        raise ValueError(f"scores have {s.shape[1]} columns for {len(y)} labels")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores hold non-finite values")
    aucs, v10, v01 = _midrank_components(y, s)
    m, n = v10.shape[1], v01.shape[1]
    if m < 2 or n < 2:
        raise ValueError(f"DeLong needs at least 2 positives and 2 negatives, got {m} and {n}")
    cov = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return aucs, cov


def auroc_ci(y, score, *, level: float = 0.95) -> dict:
    """AUROC with DeLong's standard error, a normal confidence interval (clipped to [0, 1]) and the
    two-sided p-value against AUROC = 0.5.

    Returns
    -------
    dict with ``auc``, ``se``, ``ci_low``, ``ci_high``, ``z``, ``p_value``, ``n_pos``, ``n_neg``.
    """
    y = _labels(y)
    aucs, cov = delong(y, score)
    auc, se = float(aucs[0]), float(np.sqrt(max(cov[0, 0], 0.0)))
    q = sps.norm.isf((1 - level) / 2)
    z = (auc - 0.5) / se if se > 0 else (0.0 if auc == 0.5 else np.inf * np.sign(auc - 0.5))
    return {"auc": auc, "se": se, "ci_low": float(max(0.0, auc - q * se)), "ci_high": float(min(1.0, auc + q * se)),
            "z": float(z), "p_value": float(2 * sps.norm.sf(abs(z))), "n_pos": int(y.sum()),
            "n_neg": int((~y).sum())}


def delong_test(y, score_a, score_b, *, level: float = 0.95) -> dict:
    """DeLong's paired test that two predictors of the same SNPs have equal AUROC.

    Returns
    -------
    dict with ``auc_a``, ``auc_b``, ``diff`` (a - b), ``se``, ``ci_low``, ``ci_high``, ``z``,
    ``p_value`` (two-sided).
    """
    aucs, cov = delong(y, np.vstack([np.asarray(score_a, float), np.asarray(score_b, float)]))
    diff = float(aucs[0] - aucs[1])
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    se = float(np.sqrt(max(var, 0.0)))
    z = diff / se if se > 0 else (0.0 if diff == 0 else np.inf * np.sign(diff))
    q = sps.norm.isf((1 - level) / 2)
    return {"auc_a": float(aucs[0]), "auc_b": float(aucs[1]), "diff": diff, "se": se,
            "ci_low": diff - q * se, "ci_high": diff + q * se, "z": float(z),
            "p_value": float(2 * sps.norm.sf(abs(z)))}


def paired_bootstrap(y, score_a, score_b, *, n_bootstrap: int = 2000, level: float = 0.95,
                     rng: np.random.Generator | int | None = None) -> dict:
    """Paired, class-stratified bootstrap of the AUROC difference of two predictors.

    Positives and negatives are resampled separately (so every replicate has both classes), the same
    rows for both predictors.

    Returns
    -------
    dict with ``auc_a``, ``auc_b``, ``diff``, ``se`` (bootstrap SD), percentile ``ci_low``/``ci_high``
    and ``p_value``: two-sided, ``min(1, 2 * min(share(diff* <= 0), share(diff* >= 0)))``.
    """
    rng = np.random.default_rng(rng)
    y = _labels(y)
    s = np.vstack([np.asarray(score_a, float), np.asarray(score_b, float)])
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    aucs = _midrank_components(y, s)[0]
    yb = np.concatenate([np.ones(len(pos), bool), np.zeros(len(neg), bool)])
    diffs = np.empty(n_bootstrap)
    for b in range(n_bootstrap):
        idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        a = _midrank_components(yb, s[:, idx])[0]
        diffs[b] = a[0] - a[1]
    lo, hi = np.quantile(diffs, [(1 - level) / 2, 1 - (1 - level) / 2])
    p = min(1.0, 2 * min(np.mean(diffs <= 0), np.mean(diffs >= 0)))
    return {"auc_a": float(aucs[0]), "auc_b": float(aucs[1]), "diff": float(aucs[0] - aucs[1]),
            "se": float(diffs.std(ddof=1)), "ci_low": float(lo), "ci_high": float(hi), "p_value": float(p)}


# ----------------------------------------------------------------------------------------------- models
def _pipeline(n_features: int, n_train: int, *, n_components: int, C: float, random_state: int):
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    k = int(min(n_components, n_features, n_train - 1))
    steps = [StandardScaler()]
    if k >= 1:
        steps.append(PCA(n_components=k, svd_solver="full", random_state=random_state))
    steps.append(LogisticRegression(C=C, l1_ratio=0, solver="lbfgs", max_iter=1000))
    return make_pipeline(*steps), k


def cross_validated_scores(x, y, groups, *, n_components: int = 200, C: float = 1.0,
                           n_splits: int | None = None, blas_threads: int | None = 1,
                           rng: np.random.Generator | int | None = None):
    """Out-of-fold probabilities of a standardize -> PCA -> L2 logistic regression classifier, with
    folds grouped by chromosome.

    Parameters
    ----------
    x : array_like, float64, shape (n_snps, n_features)
    y : array_like, 0/1, shape (n_snps,)
    groups : array_like, shape (n_snps,)
        Chromosome (or any group) per SNP; a group is never split between training and test.
    n_components : int
        PCA components, capped at the number of features and of training SNPs - 1.
    C : float
        Inverse L2 penalty of the logistic regression.
    n_splits : int, optional
        ``GroupKFold`` with this many folds; by default one fold per group (leave one chromosome out).
    blas_threads : int or None
        BLAS/OpenMP threads during the fits (threadpoolctl, restored afterwards); None leaves them.
    rng : numpy.random.Generator or int
        Seeds scikit-learn (PCA is deterministic with the full solver; kept for solvers that are not).

    Returns
    -------
    scores : ndarray, float64, shape (n_snps,)
        P(positive) from the model that did not see that SNP's group.
    folds : ndarray, int64, shape (n_snps,)
        Fold of each SNP.
    n_components_used : list of int
        PCA components per fold.
    """
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

    rng = np.random.default_rng(rng)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be 2-d (n_snps, n_features), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x holds {int(np.sum(~np.isfinite(x)))} non-finite values")
    yb = _labels(y)
    groups = np.asarray(groups)
    if len(yb) != x.shape[0] or len(groups) != x.shape[0]:
        raise ValueError(f"x has {x.shape[0]} rows, y {len(yb)}, groups {len(groups)}")
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise ValueError("cross-validation grouped by chromosome needs at least 2 groups")
    const = x.std(axis=0) == 0
    if const.all():
        raise ValueError("every feature is constant")
    if const.any():
        logger.warning("%d constant feature columns carry no information", int(const.sum()))
    splitter = LeaveOneGroupOut() if n_splits is None else GroupKFold(n_splits=n_splits)
    scores, folds, used = np.full(len(yb), np.nan), np.full(len(yb), -1, np.int64), []
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=blas_threads):
        for f, (tr, te) in enumerate(splitter.split(x, yb, groups)):
            if len(np.unique(yb[tr])) < 2:
                raise ValueError(f"fold {f}: training SNPs hold a single class; use fewer folds or more groups")
            model, k = _pipeline(x.shape[1], len(tr), n_components=n_components, C=C,
                                 random_state=int(rng.integers(0, 2**31 - 1)))
            model.fit(x[tr], yb[tr])
            scores[te] = model.predict_proba(x[te])[:, 1]
            folds[te] = f
            used.append(k)
    logger.info("%d folds over %d groups; PCA components per fold: %s", len(used), n_groups, sorted(set(used)))
    return scores, folds, used


@dataclass(frozen=True)
class ClassifierResult:
    """Result of :func:`evaluate_classifier`.

    Attributes
    ----------
    scores : Series, float64, indexed by SNP
        Out-of-fold P(positive).
    labels : Series, int64, indexed by SNP
    auc, se, ci_low, ci_high, p_value : float
        Pooled out-of-fold AUROC, DeLong SE and CI, p-value against 0.5 (two-sided). Descriptive:
        DeLong treats the cross-validated scores as fixed, which they are not (see the module notes).
    fold_auc : DataFrame
        Per-fold ``fold``, ``groups``, ``n_pos``, ``n_neg``, ``auc`` (NaN for a fold with one class).
    params : dict
    null_auc : ndarray, float64, shape (n_permutations,) or None
        Pooled out-of-fold AUROC with labels permuted within chromosome, every fold refitted.
    p_permutation : float or None
        One-sided permutation p-value ``(1 + #{null_auc >= auc}) / (1 + n_permutations)``; calibrated.
    """

    scores: pd.Series
    labels: pd.Series
    auc: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    fold_auc: pd.DataFrame
    params: dict = field(default_factory=dict)
    null_auc: np.ndarray | None = None
    p_permutation: float | None = None

    def summary(self) -> dict:
        """One row: AUROC, the descriptive DeLong SE/CI/p (``delong_kind`` says so), the permutation
        p-value and null mean/SD when permutations were run (NaN otherwise), counts and parameters."""
        null = self.null_auc
        return {"auc": self.auc, "se": self.se, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "p_value": self.p_value, "delong_kind": DESCRIPTIVE,
                "p_permutation": np.nan if self.p_permutation is None else self.p_permutation,
                "n_permutations": 0 if null is None else len(null),
                "null_auc_mean": float(null.mean()) if null is not None else np.nan,
                "null_auc_sd": float(null.std(ddof=1)) if null is not None and len(null) > 1 else np.nan,
                "n_pos": int(self.labels.sum()), "n_neg": int((self.labels == 0).sum()), **self.params}


def permute_within_groups(y, groups, *, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Permute labels within each group (chromosome), so every group keeps its class counts.

    Parameters
    ----------
    y : array_like, shape (n,)
    groups : array_like, shape (n,)
    rng : numpy.random.Generator or int

    Returns
    -------
    ndarray, same dtype as ``y``, shape (n,)
    """
    rng = np.random.default_rng(rng)
    y = np.asarray(y)
    groups = np.asarray(groups)
    if len(y) != len(groups):
        raise ValueError(f"{len(y)} labels and {len(groups)} groups")
    out = y.copy()
    for idx in pd.Series(np.arange(len(y))).groupby(groups, sort=True).indices.values():
        out[idx] = y[idx[rng.permutation(len(idx))]]
    return out


def permutation_null(xs, y, groups, *, n_permutations: int, n_components: int = 200, C: float = 1.0,
                     n_splits: int | None = None, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Pooled cross-validated AUROCs of one or more feature matrices on within-group permuted labels.

    Every permutation refits every fold of every feature matrix on the same permuted labels (so the
    null of a difference between two matrices is paired).

    Parameters
    ----------
    xs : sequence of array_like, float64, shape (n_snps, n_features_i)
    y : array_like, 0/1, shape (n_snps,)
    groups : array_like, shape (n_snps,)
        Chromosome per SNP: the CV groups, and the blocks within which labels are permuted.
    n_permutations : int
    n_components, C, n_splits
        As :func:`cross_validated_scores`.
    rng : numpy.random.Generator or int

    Returns
    -------
    ndarray, float64, shape (n_permutations, len(xs))
    """
    rng = np.random.default_rng(rng)
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be >= 1, got {n_permutations}")
    y = _labels(y).astype(np.int64)
    null = np.empty((n_permutations, len(xs)))
    for j in range(n_permutations):
        yp = permute_within_groups(y, groups, rng=rng)
        for i, x in enumerate(xs):
            s, _, _ = cross_validated_scores(x, yp, groups, n_components=n_components, C=C, n_splits=n_splits,
                                             rng=rng)
            null[j, i] = auroc(yp, s)
    return null


def evaluate_classifier(features: pd.DataFrame, labels: pd.Series, chrom: pd.Series, *,
                        n_components: int = 200, C: float = 1.0, n_splits: int | None = None,
                        level: float = 0.95, n_permutations: int = 0,
                        rng: np.random.Generator | int | None = None) -> ClassifierResult:
    """Cross-validated AUROC of a feature set for SNP labels, folds grouped by chromosome.

    Parameters
    ----------
    features : DataFrame, float64, shape (n_snps, n_features), indexed by SNP id
    labels : Series, 0/1, indexed by SNP id
    chrom : Series, indexed by SNP id
        SNPs present in all three are used (the count dropped is logged).
    n_components, C, n_splits
        As :func:`cross_validated_scores`.
    level : float
        Level of the (descriptive) DeLong CI.
    n_permutations : int
        With > 0, a permutation test: labels permuted within chromosome, every fold refitted, the
        pooled AUROC recorded; ``p_permutation = (1 + #{AUC* >= AUC}) / (1 + n_permutations)``
        (one-sided, calibrated). Costs ``n_permutations`` times the cross-validation.
    rng : numpy.random.Generator or int
        Source of the permutations and scikit-learn seeds.

    Returns
    -------
    ClassifierResult

    Notes
    -----
    The DeLong SE treats the pooled out-of-fold scores as a fixed score. Cross-validation folds are
    correlated (each fold's model is trained on the other folds' data), so under the null the
    pooled AUROC varies more than that SE says: in
    ``validation/stats_null_calibration_clusters_classifiers.py`` (300 SNPs, 5 chromosomes) the
    null SD was 0.050 against a DeLong SE of about 0.036 and 17.5% of p-values fell below 0.05.
    Treat ``p_value``/CI as descriptive; the label-permutation test (``n_permutations``), which
    refits the folds, is calibrated.
    """
    rng = np.random.default_rng(rng)
    snps = features.index.intersection(labels.index).intersection(chrom.index)
    if len(snps) < len(labels):
        logger.info("%d of %d labelled SNPs have features", len(snps), len(labels))
    if len(snps) == 0:
        raise ValueError("no SNP has features, a label and a chromosome")
    x, y, g = features.loc[snps], labels.loc[snps].astype(int), chrom.loc[snps]
    s, folds, used = cross_validated_scores(x.to_numpy(np.float64), y.to_numpy(), g.to_numpy(),
                                            n_components=n_components, C=C, n_splits=n_splits, rng=rng)
    ci = auroc_ci(y.to_numpy(), s, level=level)
    rows = []
    gv, yv = g.to_numpy(), y.to_numpy()
    for f in np.unique(folds):
        sel = folds == f
        ok = 0 < yv[sel].sum() < sel.sum()
        rows.append({"fold": int(f), "groups": ",".join(map(str, np.unique(gv[sel]))), "n_pos": int(yv[sel].sum()),
                     "n_neg": int((yv[sel] == 0).sum()), "auc": auroc(yv[sel], s[sel]) if ok else np.nan})
    params = {"n_features": features.shape[1], "n_components": int(max(used)), "C": C,
              "cv": "leave-one-group-out" if n_splits is None else f"group-{n_splits}-fold"}
    null, p_perm = None, None
    if n_permutations > 0:
        null = permutation_null([x.to_numpy(np.float64)], yv, gv, n_permutations=n_permutations,
                                n_components=n_components, C=C, n_splits=n_splits, rng=rng)[:, 0]
        p_perm = float((1 + np.sum(null >= ci["auc"])) / (1 + n_permutations))
        logger.info("AUROC %.3f; permutation null mean %.3f, p = %.3g (%d permutations)", ci["auc"],
                    null.mean(), p_perm, n_permutations)
    return ClassifierResult(scores=pd.Series(s, index=snps, name="score"), labels=y, auc=ci["auc"], se=ci["se"],
                            ci_low=ci["ci_low"], ci_high=ci["ci_high"], p_value=ci["p_value"],
                            fold_auc=pd.DataFrame(rows), params=params, null_auc=null, p_permutation=p_perm)


def compare_feature_sets(feature_sets: dict, labels: pd.Series, chrom: pd.Series, *, method: str = "delong",
                         n_bootstrap: int = 2000, n_permutations: int = 0,
                         rng: np.random.Generator | int | None = None, **kwargs):
    """Evaluate several feature sets on the SNPs they share and compare every pair.

    Parameters
    ----------
    feature_sets : dict of name -> DataFrame indexed by SNP id
    labels, chrom : Series indexed by SNP id
    method : {'delong', 'bootstrap', 'permutation'}
        Paired test of the AUROC difference. 'delong' and 'bootstrap' treat the cross-validated
        scores as fixed and are descriptive (``kind`` column). 'permutation' permutes the labels
        within chromosome ``n_permutations`` times, refits every set on the same permuted labels and
        compares the observed difference with that null: two-sided
        ``p = (1 + #{|diff*| >= |diff|}) / (1 + N)``. Its null is "neither set carries information
        about the labels" (exchangeable labels), under which it is calibrated; with one informative
        set it is not a test of equal AUROC.
    n_bootstrap : int
        Resamples for 'bootstrap'.
    n_permutations : int
        Label permutations (required > 0 for 'permutation'). With > 0 every set also gets its own
        ``p_permutation`` from the same permutations.
    rng : numpy.random.Generator or int
    **kwargs
        Passed to :func:`evaluate_classifier` (n_components, C, n_splits, level).

    Returns
    -------
    results : dict of name -> ClassifierResult
    table : DataFrame
        One row per feature set (``name``, auc, se, ci_low, ci_high, p_value, p_permutation, ...).
    pairs : DataFrame
        One row per pair (``a``, ``b``, auc_a, auc_b, diff, se, ci_low, ci_high, p_value, ``method``,
        ``kind``: 'descriptive' or 'permutation'; permutation rows have ``n_permutations`` and
        ``null_diff_sd`` and NaN se/CI).
    """
    from dataclasses import replace

    rng = np.random.default_rng(rng)
    if method not in ("delong", "bootstrap", "permutation"):
        raise ValueError(f"method must be 'delong', 'bootstrap' or 'permutation', got {method!r}")
    if method == "permutation" and n_permutations < 1:
        raise ValueError("method='permutation' needs n_permutations >= 1")
    shared = labels.index
    for df in feature_sets.values():
        shared = shared.intersection(df.index)
    results = {name: evaluate_classifier(df.loc[shared], labels, chrom, rng=rng, **kwargs)
               for name, df in feature_sets.items()}
    names = list(results)
    null = None
    if n_permutations > 0:
        first = results[names[0]]
        snps = first.scores.index
        cv = {k: kwargs[k] for k in ("n_components", "C", "n_splits") if k in kwargs}
        null = permutation_null([feature_sets[k].loc[snps].to_numpy(np.float64) for k in names],
                                first.labels.to_numpy(), chrom.loc[snps].to_numpy(),
                                n_permutations=n_permutations, rng=rng, **cv)
        for i, k in enumerate(names):
            p = float((1 + np.sum(null[:, i] >= results[k].auc)) / (1 + n_permutations))
            results[k] = replace(results[k], null_auc=null[:, i].copy(), p_permutation=p)
    table = pd.DataFrame([{"name": k, **r.summary()} for k, r in results.items()])
    pairs = _compare_pairs(results, method=method, null=null, n_permutations=n_permutations,
                           n_bootstrap=n_bootstrap, rng=rng)
    return results, table, pairs


def _compare_pairs(results: dict, *, method: str, null: np.ndarray | None, n_permutations: int,
                   n_bootstrap: int, rng: np.random.Generator) -> pd.DataFrame:
    """The pairwise rows of :func:`compare_feature_sets`, every pair in the order of ``results``.

    Parameters
    ----------
    results : dict of name -> ClassifierResult
        Evaluated on the same SNPs.
    method : {'delong', 'bootstrap', 'permutation'}
    null : ndarray, float64, shape (n_permutations, n_sets), or None
        Null AUROCs of every set under shared label permutations (needed for 'permutation').
    n_permutations, n_bootstrap : int
    rng : numpy.random.Generator
        Consumed by 'bootstrap', pair by pair.

    Returns
    -------
    DataFrame
        One row per pair, columns as :func:`compare_feature_sets` documents.
    """
    names = list(results)
    rows = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            a, b = results[names[i]], results[names[j]]
            y = a.labels.to_numpy()
            sb = b.scores.loc[a.scores.index].to_numpy()
            if method == "permutation":
                diff = a.auc - b.auc
                d0 = null[:, i] - null[:, j]
                res = {"auc_a": a.auc, "auc_b": b.auc, "diff": diff, "se": np.nan, "ci_low": np.nan,
                       "ci_high": np.nan, "p_value": float((1 + np.sum(np.abs(d0) >= abs(diff) - 1e-12))
                                                           / (1 + n_permutations)),
                       "n_permutations": n_permutations,
                       "null_diff_sd": float(d0.std(ddof=1)) if n_permutations > 1 else np.nan}
                kind = "permutation"
            else:
                res = (delong_test(y, a.scores.to_numpy(), sb) if method == "delong"
                       else paired_bootstrap(y, a.scores.to_numpy(), sb, n_bootstrap=n_bootstrap, rng=rng))
                kind = "descriptive"
            rows.append({"a": names[i], "b": names[j], **res, "method": method, "kind": kind})
    return pd.DataFrame(rows)


def roc_figure(y, scores: dict, *, path=None, title: str | None = None, dpi: int = 100):
    """ROC curves of one or more predictors of the same labels, AUROC in the legend.

    Parameters
    ----------
    y : array_like, 0/1, shape (n,)
    scores : dict of name -> array_like, float64, shape (n,)
    path : path-like, optional
        Write a PNG there atomically (:func:`genocore.figures.save_png`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure
    from sklearn.metrics import roc_curve

    yb = _labels(y)
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    for name, s in scores.items():
        fpr, tpr, _ = roc_curve(yb, np.asarray(s, float))
        ax.plot(fpr, tpr, label=f"{name} (AUROC {auroc(yb, s):.3f})")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    if path is not None:
        from genocore.figures import save_png

        save_png(fig, path, dpi=dpi)
    return fig


# ----------------------------------------------------------------------------------------------- negatives
def maf_matched_negatives(candidates: pd.DataFrame, positives: pd.DataFrame, *, per_positive: int = 3,
                          n_bins: int = 10, maf_col: str = "maf", snp_col: str = "snp", strict: bool = True,
                          rng: np.random.Generator | int | None = None) -> pd.DataFrame:
    """Negative SNPs drawn from ``candidates`` to match the positives' MAF distribution.

    MAF bins are the quantiles of the positives' MAF (``n_bins`` bins, fewer where quantiles repeat);
    for each bin, ``per_positive`` times its number of positives are drawn without replacement from
    the candidates in that bin that are not positives. Candidates outside the positives' MAF range
    are never drawn.

    Parameters
    ----------
    candidates, positives : DataFrame with ``snp_col`` and ``maf_col``
    per_positive : int
    strict : bool
        Raise when a bin has too few candidates; otherwise take all there are and log a warning.
    rng : numpy.random.Generator or int

    Returns
    -------
    DataFrame: rows of ``candidates`` (original order), plus ``maf_bin``.
    """
    rng = np.random.default_rng(rng)
    for df, what in ((candidates, "candidates"), (positives, "positives")):
        for c in (snp_col, maf_col):
            if c not in df.columns:
                raise KeyError(f"{what} lack column {c!r}")
    if len(positives) == 0:
        raise ValueError("no positives")
    pmaf = positives[maf_col].to_numpy(np.float64)
    edges = np.unique(np.quantile(pmaf, np.linspace(0, 1, n_bins + 1)))
    pool = candidates[~candidates[snp_col].isin(set(positives[snp_col]))]
    cmaf = pool[maf_col].to_numpy(np.float64)

    def bin_of(v):
        if len(edges) == 1:
            return np.where(v == edges[0], 0, -1)
        b = np.searchsorted(edges, v, side="right") - 1
        b = np.where(v == edges[-1], len(edges) - 2, b)
        return np.where((v < edges[0]) | (v > edges[-1]), -1, b)

    pbin, cbin = bin_of(pmaf), bin_of(cmaf)
    chosen = []
    for b in np.unique(pbin):
        need = int(np.sum(pbin == b)) * per_positive
        avail = np.flatnonzero(cbin == b)
        if len(avail) < need:
            msg = f"MAF bin {b} ({edges[b]:.3g}-{edges[min(b + 1, len(edges) - 1)]:.3g}): need {need} negatives, {len(avail)} candidates"
            if strict:
                raise ValueError(msg)
            logger.warning(msg)
        chosen.append(rng.choice(avail, size=min(need, len(avail)), replace=False))
    idx = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)
    out = pool.iloc[idx].copy()
    out["maf_bin"] = cbin[idx]
    return out


# -- files in, an output folder out -----------------------------------------------------------------

def read_labels(path, *, what: str = "labels") -> pd.DataFrame:
    """Labelled SNPs: a TSV with ``snp, chrom, label`` (0/1); returns it indexed by ``snp``.

    Raises
    ------
    ValueError
        Naming the file and line of a label that is not 0 or 1, or a duplicated SNP.
    """
    from stats.io.tables import numeric, read_tsv

    lab = read_tsv(path, what, required=("snp", "chrom", "label"), dtype={"snp": str, "chrom": str})
    if lab.empty:
        raise ValueError(f"{what} {path}: no labelled SNPs (a header only)")
    raw = lab.label.astype(str).to_numpy()
    lab = numeric(lab, ["label"], path=path, what=what)
    bad = ~lab.label.isin([0, 1])
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise ValueError(f"{what} {path}, line {i + 2}: label {raw[i]} is not 0 or 1")
    return _unique_snps(lab.assign(label=lab.label.astype(int)))


def matched_labels(positives, candidates, *, negatives_per_positive: int = 3, rng=None,
                   what: str = "positives / candidates") -> pd.DataFrame:
    """Positive SNPs (label 1) and MAF-matched negatives drawn from candidates (label 0).

    Parameters
    ----------
    positives, candidates : path-like
        TSVs with ``snp, chrom, maf``.
    negatives_per_positive : int
    rng : numpy.random.Generator or int

    Returns
    -------
    DataFrame indexed by ``snp`` with ``chrom, label``.
    """
    from stats.io.tables import read_numeric_tsv

    kw = dict(columns=["maf"], required=("snp", "chrom"), dtype={"snp": str, "chrom": str})
    pos = read_numeric_tsv(positives, "positives", **kw)
    cand = read_numeric_tsv(candidates, "candidates", **kw)
    try:
        neg = maf_matched_negatives(cand, pos, per_positive=negatives_per_positive, rng=rng)
    except ValueError as err:
        raise ValueError(f"{what} {positives} / {candidates}: {err}") from err
    logger.info("%d positives, %d MAF-matched negatives", len(pos), len(neg))
    return _unique_snps(pd.concat([pos[["snp", "chrom"]].assign(label=1), neg[["snp", "chrom"]].assign(label=0)],
                                  ignore_index=True))


def _unique_snps(lab: pd.DataFrame) -> pd.DataFrame:
    if lab.snp.duplicated().any():
        raise ValueError(f"labelled SNPs: duplicate snp {lab.snp[lab.snp.duplicated()].iloc[0]!r}")
    return lab.set_index("snp")


def read_features(path, *, stat: str = "LOG2MAX", what: str = "features") -> pd.DataFrame:
    """One feature set: a ``sad.h5`` (statistic ``stat``, by :func:`features_from_sad_h5`) or a TSV
    with ``snp`` and numeric columns (:func:`features_from_frame`)."""
    from stats.io.tables import existing, read_tsv

    path = existing(path, what)
    try:
        if path.suffix.lower() in (".h5", ".hdf5"):
            return features_from_sad_h5(path, stat=stat)
        return features_from_frame(read_tsv(path, what, required=("snp",), dtype={"snp": str}))
    except (KeyError, ValueError) as err:
        msg = err.args[0] if err.args else err
        raise ValueError(msg if str(path) in str(msg) else f"{what} {path}: {msg}") from err


def feature_sets(features, external=(), *, stat: str = "LOG2MAX") -> dict:
    """Named feature sets, each external set evaluated alone and joined onto every plain set.

    Parameters
    ----------
    features, external : sequence of (name, path)
        Model feature sets and external per-SNP features (e.g. DeepSEA).

    Returns
    -------
    dict of str -> DataFrame
        ``name`` for every set and ``base+external`` for every join.
    """
    sets = {}
    for name, path in features:
        if name in sets:
            raise ValueError(f"--features: name {name!r} given twice")
        sets[name] = read_features(path, stat=stat, what=f"--features {name}=")
    for name, path in external:
        if name in sets:
            raise ValueError(f"--external: name {name!r} is already a feature set")
        ext = read_features(path, stat=stat, what=f"--external {name}=")
        for base in [k for k in sets if "+" not in k]:
            sets[f"{base}+{name}"] = join_features(sets[base], ext)
        sets[name] = ext
    return sets


PAIR_COLUMNS = ["a", "b", "auc_a", "auc_b", "diff", "se", "ci_low", "ci_high", "p_value", "method", "kind"]


def classification_outputs(results: dict, table: pd.DataFrame, pairs: pd.DataFrame, chrom: pd.Series):
    """The output folder of :func:`compare_feature_sets`: ``auroc.tsv``, ``pairs.tsv``, ``folds.tsv``,
    ``scores.tsv`` (cross-validated score per SNP and set) and ``roc.png``.

    Returns
    -------
    genocore.outputs.OutputFolder
    """
    from genocore.outputs import OutputFolder

    first = next(iter(results.values()))
    snps = first.scores.index
    scores = pd.DataFrame({"snp": snps, "chrom": chrom.loc[snps].to_numpy(), "label": first.labels.loc[snps].to_numpy()})
    for k, r in results.items():
        scores[k] = r.scores.loc[snps].to_numpy(np.float64)
    folds = pd.concat([r.fold_auc.assign(name=k) for k, r in results.items()], ignore_index=True)

    def roc(path):
        roc_figure(scores.label.to_numpy(), {k: scores[k].to_numpy() for k in results}, path=path,
                   title=f"{len(snps)} SNPs, CV grouped by chromosome")

    return OutputFolder(tables={"auroc.tsv": table, "pairs.tsv": pairs if not pairs.empty else
                               pd.DataFrame(columns=PAIR_COLUMNS),
                               "folds.tsv": folds[["name", "fold", "groups", "n_pos", "n_neg", "auc"]],
                               "scores.tsv": scores}, figures={"roc.png": roc})

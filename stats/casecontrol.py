"""Case-control tests for de novo variants scored by a sequence model (Basenji2, Fig. 5).

Inputs are a variant table (one row per de novo variant: id, family, role 'case' or 'control' and
optionally the individual carrying it) and a variant x dataset score matrix S (SAD-like scores: a
negative value means the alternative allele lowers predicted activity). DESIGN.md section 4,
"De novo case-control":

* per dataset, Mann-Whitney U between case and control variants (two-sided and one-sided),
  Benjamini-Hochberg FDR, effect = mean asinh(S_case) - mean asinh(S_control);
* PCA of S and the same test on the first principal component, with the variance explained;
* comparison of the per-dataset p-values of a group of datasets (e.g. brain) against the others by MWU;
* per-individual risk score = sum of min(S, 0) over the individual's variants for one dataset, and the
  family-paired comparison of case vs sibling with a binomial test against 0.5 (ties dropped).

Conventions: ``alternative='less'`` means case scores tend to be *lower* than control scores (more
deleterious, for scores where negative = loss of activity).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

logger = logging.getLogger(__name__)

ROLES = ("case", "control")
ALTERNATIVES = ("two-sided", "less", "greater")


# -- input -------------------------------------------------------------------------------------------

def read_scores(path, *, stat: str = "SAD") -> pd.DataFrame:
    """Read a variant x dataset score matrix.

    Parameters
    ----------
    path : str or Path
        HDF5 in basenji's ``sad.h5`` layout (``.h5``/``.hdf5``: datasets ``snp``, ``target_labels``
        (or ``target_ids``) and ``stat``, shape (n_variants, n_targets)), or a tab-separated table
        whose first column holds the variant ids and whose other columns are datasets (``.gz`` ok).
    stat : str
        HDF5 dataset to read (``SAD``, ``SAR``, ...); ignored for TSV.

    Returns
    -------
    DataFrame, float64, shape (n_variants, n_datasets)
        Index: variant id (str, unique); columns: dataset labels (str).

    Raises
    ------
    ValueError
        Duplicate variant ids, a missing HDF5 dataset, or a shape mismatch.
    """
    path = Path(path)
    if path.suffix.lower() in (".h5", ".hdf5"):
        from genocore.scores import read_sad_h5

        scores = read_sad_h5(path, stats=[stat], dtype=np.float64)  # names a missing dataset or bad shape
        x = scores.stats[stat]
        ids = scores.variants["snp"].to_numpy()
        labels = scores.target_labels or scores.target_ids or [f"t{j}" for j in range(x.shape[1])]
        df = pd.DataFrame(x, index=pd.Index(ids, name="variant_id"), columns=list(labels))
    else:
        df = pd.read_csv(path, sep="\t", index_col=0)
        df.index = df.index.astype(str)
        df.index.name = "variant_id"
        df.columns = [str(c) for c in df.columns]
        df = df.astype(np.float64)
    if df.index.has_duplicates:
        dup = df.index[df.index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"{path}: duplicate variant ids in the score matrix, e.g. {dup}")
    logger.info("read %d variants x %d datasets from %s", *df.shape, path)
    return df


def read_variants(path) -> pd.DataFrame:
    """Read a de novo variant table (TSV) and check it with :func:`check_variants`."""
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    return check_variants(df)


def check_variants(variants: pd.DataFrame, *, id_col: str = "variant_id") -> pd.DataFrame:
    """Validate a variant table.

    Parameters
    ----------
    variants : DataFrame, shape (n_variants, ...)
        Columns ``variant_id`` (or ``id``), ``family`` and ``role`` ('case' / 'control', case
        insensitive); ``individual`` is optional (default: ``family + '.' + role``).

    Returns
    -------
    DataFrame with columns variant_id, family, role, individual (str), in input order.

    Raises
    ------
    ValueError
        Missing columns, unknown roles, duplicate ids, or a single class.
    """
    v = variants.copy()
    if id_col not in v.columns and "id" in v.columns:
        v = v.rename(columns={"id": id_col})
    missing = [c for c in (id_col, "family", "role") if c not in v.columns]
    if missing:
        raise ValueError(f"variant table lacks column(s) {missing}; need {id_col} (or id), family, role")
    v = v.rename(columns={id_col: "variant_id"})
    v["variant_id"] = v["variant_id"].astype(str)
    v["family"] = v["family"].astype(str)
    v["role"] = v["role"].astype(str).str.lower().str.strip()
    bad = sorted(set(v.role) - set(ROLES))
    if bad:
        raise ValueError(f"variant table: unknown role(s) {bad}; roles must be 'case' or 'control'")
    if v.variant_id.duplicated().any():
        raise ValueError(f"variant table: duplicate variant ids, e.g. {v.variant_id[v.variant_id.duplicated()].iloc[0]!r}")
    _check_two_classes(v.role.to_numpy() == "case")
    if "individual" not in v.columns:
        v["individual"] = v.family + "." + v.role
    v["individual"] = v["individual"].astype(str)
    return v


def align(variants: pd.DataFrame, scores: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the variants that have scores, in the variant table's order.

    Returns
    -------
    variants : DataFrame (checked); scores : DataFrame, shape (n_kept, n_datasets), same row order.

    Raises
    ------
    ValueError
        If no variant has a score, or scores contain NaN / inf for kept variants.
    """
    v = check_variants(variants)
    keep = v.variant_id.isin(scores.index)
    if not keep.any():
        raise ValueError("no variant of the table has a score (compare the variant ids of the two inputs)")
    if (~keep).any():
        logger.warning("%d of %d variants have no score and are dropped", int((~keep).sum()), len(v))
    v = v[keep].reset_index(drop=True)
    s = scores.loc[v.variant_id]
    if not np.isfinite(s.to_numpy(dtype=float)).all():
        raise ValueError("score matrix has NaN or infinite values for variants of the table")
    return check_variants(v), s


# -- statistics ----------------------------------------------------------------------------------------

def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (FDR q-values).

    Parameters
    ----------
    p : array_like, float, shape (n,)
        p-values in [0, 1]; NaN stays NaN and is not counted in n.

    Returns
    -------
    ndarray, float64, shape (n,), same order as ``p``.
    """
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ((p[ok] < 0) | (p[ok] > 1)).any():
        raise ValueError("p-values must lie in [0, 1]")
    q = p[ok]
    n = len(q)
    if n == 0:
        return out
    order = np.argsort(q, kind="stable")
    ranked = q[order] * n / np.arange(1, n + 1)
    adj = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    res = np.empty(n)
    res[order] = adj
    out[ok] = res
    return out


def _checked_inputs(scores, is_case, names=None):
    """Score matrix, dataset names and case mask, checked: one label per variant, finite scores, two
    classes."""
    x, names = _as_matrix(scores, names)
    is_case = np.asarray(is_case, dtype=bool)
    if is_case.shape != (x.shape[0],):
        raise ValueError(f"is_case has shape {is_case.shape}; scores have {x.shape[0]} variants")
    if not np.isfinite(x).all():
        raise ValueError("scores contain NaN or infinite values")
    _check_two_classes(is_case)
    return x, names, is_case


def _check_two_classes(is_case: np.ndarray) -> None:
    n_case = int(is_case.sum())
    if n_case == 0 or n_case == len(is_case):
        raise ValueError(f"need both case and control variants; got {n_case} case and "
                         f"{len(is_case) - n_case} control")


def _as_matrix(scores, names=None) -> tuple[np.ndarray, list]:
    if isinstance(scores, pd.DataFrame):
        return scores.to_numpy(dtype=np.float64), [str(c) for c in scores.columns]
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"scores must be 2-D (variants x datasets), got shape {x.shape}")
    return x, list(names) if names is not None else [f"d{j}" for j in range(x.shape[1])]


def dataset_tests(scores, is_case, *, names=None, constant: str = "error") -> pd.DataFrame:
    """Per-dataset Mann-Whitney U test of case against control variant scores.

    Parameters
    ----------
    scores : DataFrame or ndarray, float, shape (n_variants, n_datasets)
    is_case : array_like, bool, shape (n_variants,)
        True for case variants, False for control variants.
    names : sequence of str, length n_datasets, optional
        Dataset names when ``scores`` is an array.
    constant : {'error', 'drop'}
        What to do with a dataset whose scores are all equal (no test is possible): raise, or drop it
        with a warning.

    Returns
    -------
    DataFrame, one row per dataset, with columns dataset, n_case, n_control, U (case sample's U:
    pairs case > control plus half the ties), auc (U / (n_case n_control)), effect (mean asinh(S_case)
    - mean asinh(S_control)), p (two-sided), p_less (case lower), p_greater (case higher), and the BH
    FDR of each p (fdr, fdr_less, fdr_greater) over the datasets. p-values are scipy's
    ``mannwhitneyu`` with ``method='auto'`` (exact for small samples without ties, otherwise the normal
    approximation with tie correction and continuity correction).

    Raises
    ------
    ValueError
        Shape mismatch, non-finite scores, a single class, or constant datasets (``constant='error'``).
    """
    x, names, is_case = _checked_inputs(scores, is_case, names)
    const = np.ptp(x, axis=0) == 0
    if const.any():
        bad = [names[j] for j in np.flatnonzero(const)]
        if constant == "error":
            raise ValueError(f"{len(bad)} dataset(s) have constant scores, so no rank test is possible: {bad[:5]} "
                             f"(pass constant='drop' to skip them)")
        if constant != "drop":
            raise ValueError(f"constant must be 'error' or 'drop', got {constant!r}")
        logger.warning("dropping %d dataset(s) with constant scores: %s", len(bad), bad[:5])
        x, names = x[:, ~const], [n for n, c in zip(names, const) if not c]
    if x.shape[1] == 0:
        raise ValueError("no dataset left to test")
    a, b = x[is_case], x[~is_case]
    res = {alt: sps.mannwhitneyu(a, b, alternative=alt, axis=0) for alt in ALTERNATIVES}
    u = np.asarray(res["two-sided"].statistic, dtype=np.float64)
    out = pd.DataFrame({"dataset": names, "n_case": len(a), "n_control": len(b), "U": u,
                        "auc": u / (len(a) * len(b)),
                        "effect": np.arcsinh(a).mean(axis=0) - np.arcsinh(b).mean(axis=0),
                        "p": res["two-sided"].pvalue, "p_less": res["less"].pvalue,
                        "p_greater": res["greater"].pvalue})
    for col, fcol in (("p", "fdr"), ("p_less", "fdr_less"), ("p_greater", "fdr_greater")):
        out[fcol] = benjamini_hochberg(out[col].to_numpy())
    logger.info("tested %d datasets: %d with two-sided FDR < 0.05", len(out), int((out.fdr < 0.05).sum()))
    return out


def pca_test(scores, is_case, *, n_components: int = 10, transform: str | None = None,
             scale: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """PCA of the variant x dataset matrix and the case-control MWU test on each leading component.

    Columns are centred (and scaled to unit variance with ``scale``) before an SVD. Each component's
    sign is fixed so that its loadings sum to a positive number: a low score on PC1 then means lower
    scores across datasets (more deleterious for SAD-like scores).

    Parameters
    ----------
    scores : DataFrame or ndarray, float, shape (n_variants, n_datasets)
    is_case : array_like, bool, shape (n_variants,)
    n_components : int
        Components to report (at most min(n_variants, n_datasets)).
    transform : {None, 'asinh'}
        Optional transform of S before the PCA (asinh tames heavy tails).
    scale : bool
        Standardize each dataset; constant datasets are an error then.

    Returns
    -------
    components : DataFrame, one row per component: pc (1-based), variance_explained (share of the
        total variance), U, auc, p, p_less, p_greater (as :func:`dataset_tests`).
    projections : DataFrame, shape (n_variants, n_components): the PC scores of each variant.
    """
    x, names, is_case = _checked_inputs(scores, is_case)
    if transform == "asinh":
        x = np.arcsinh(x)
    elif transform is not None:
        raise ValueError(f"transform must be None or 'asinh', got {transform!r}")
    x = x - x.mean(axis=0)
    if scale:
        sd = x.std(axis=0)
        if (sd == 0).any():
            raise ValueError(f"datasets with constant scores cannot be scaled: "
                             f"{[names[j] for j in np.flatnonzero(sd == 0)][:5]}")
        x = x / sd
    total = float((x**2).sum())
    if total == 0:
        raise ValueError("all datasets have constant scores; PCA is undefined")
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    k = min(int(n_components), len(s))
    sign = np.where(vt[:k].sum(axis=1) < 0, -1.0, 1.0)
    proj = u[:, :k] * s[:k] * sign
    tests = dataset_tests(proj, is_case, names=[f"PC{i + 1}" for i in range(k)], constant="drop")
    comp = pd.DataFrame({"pc": np.arange(1, k + 1), "variance_explained": s[:k] ** 2 / total})
    comp = comp.merge(tests.assign(pc=[int(n[2:]) for n in tests.dataset])[
        ["pc", "U", "auc", "p", "p_less", "p_greater"]], on="pc", how="left")
    logger.info("PC1 explains %.1f%% of the variance; case-control p = %.3g", 100 * comp.variance_explained[0],
                comp.p[0])
    return comp, pd.DataFrame(proj, columns=[f"PC{i + 1}" for i in range(k)])


def group_comparison(pvalues, in_group, *, alternative: str = "less") -> dict:
    """Compare the per-dataset p-values of a group of datasets with the others by Mann-Whitney U.

    Parameters
    ----------
    pvalues : array_like, float, shape (n_datasets,)
    in_group : array_like, bool, shape (n_datasets,)
        e.g. True for brain datasets.
    alternative : {'less', 'two-sided', 'greater'}
        'less': the group's p-values tend to be smaller (stronger case-control signal).

    Returns
    -------
    dict with n_group, n_other, median_group, median_other, U (group sample), p.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    g = np.asarray(in_group, dtype=bool)
    if g.shape != p.shape:
        raise ValueError(f"in_group has shape {g.shape}, pvalues {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("p-values contain NaN")
    if g.all() or not g.any():
        raise ValueError(f"the group must hold some but not all datasets; it holds {int(g.sum())} of {len(g)}")
    r = sps.mannwhitneyu(p[g], p[~g], alternative=alternative)
    return {"n_group": int(g.sum()), "n_other": int((~g).sum()), "median_group": float(np.median(p[g])),
            "median_other": float(np.median(p[~g])), "U": float(r.statistic), "p": float(r.pvalue),
            "alternative": alternative}


def risk_scores(variants: pd.DataFrame, scores) -> pd.DataFrame:
    """Per-individual risk score: the sum of min(S, 0) over the individual's variants.

    Parameters
    ----------
    variants : DataFrame, n_variants rows
        As :func:`check_variants` (family, role, individual).
    scores : array_like, float, shape (n_variants,) or DataFrame / ndarray (n_variants, n_datasets)
        Score(s) of the chosen dataset(s), rows in the order of ``variants``.

    Returns
    -------
    DataFrame, one row per individual: individual, family, role, n_variants and one risk column per
    dataset (``risk`` for a 1-D score), <= 0; more negative = more deleterious.
    """
    v = check_variants(variants)
    if isinstance(scores, pd.Series):
        x, cols = scores.to_numpy(dtype=np.float64)[:, None], ["risk"]
    elif np.ndim(scores) == 1:
        x, cols = np.asarray(scores, dtype=np.float64)[:, None], ["risk"]
    else:
        x, cols = _as_matrix(scores)
    if x.shape[0] != len(v):
        raise ValueError(f"scores have {x.shape[0]} rows, the variant table {len(v)}")
    if not np.isfinite(x).all():
        raise ValueError("scores contain NaN or infinite values")
    neg = pd.DataFrame(np.minimum(x, 0.0), columns=cols)
    neg["individual"] = v.individual.to_numpy()
    by = neg.groupby("individual", sort=True)
    out = by[cols].sum()
    meta = v.groupby("individual", sort=True).agg(family=("family", "first"), role=("role", "first"),
                                                  n_roles=("role", "nunique"), n_families=("family", "nunique"),
                                                  n_variants=("variant_id", "size"))
    if (meta.n_roles > 1).any() or (meta.n_families > 1).any():
        bad = meta.index[(meta.n_roles > 1) | (meta.n_families > 1)][0]
        raise ValueError(f"individual {bad!r} has variants with different families or roles")
    out = meta[["family", "role", "n_variants"]].join(out).reset_index()
    return out


def family_paired_test(risk: pd.DataFrame, *, column: str = "risk", alternative: str = "greater") -> tuple[dict, pd.DataFrame]:
    """Family-paired comparison: is the case's risk score lower (more deleterious) than the sibling's?

    Each family must hold at least one case and one control individual; where a family has several
    individuals of one role, their mean risk is used. Families where case and control scores are
    equal (e.g. both 0) are ties and dropped. The number of families with the case more deleterious
    is tested against Binomial(n_untied, 0.5) with ``scipy.stats.binomtest``.

    Parameters
    ----------
    risk : DataFrame
        From :func:`risk_scores` (family, role, and ``column``).
    column : str
        Risk column to compare.
    alternative : {'greater', 'two-sided', 'less'}
        'greater': the case is more deleterious in more than half of the families.

    Returns
    -------
    summary : dict with n_families, n_ties, n_case_worse, n_control_worse, share_case_worse, p
    per_family : DataFrame: family, case, control (mean risk of each role), diff (case - control)

    Raises
    ------
    ValueError
        A family with only one member (or one role), or no untied family.
    """
    if column not in risk.columns:
        raise ValueError(f"risk table has no column {column!r}")
    piv = risk.pivot_table(index="family", columns="role", values=column, aggfunc="mean")
    size = risk.groupby("family").size()
    single = size.index[size < 2].tolist()
    if single:
        raise ValueError(f"{len(single)} famil(ies) have only one member, so no case-sibling pair: {single[:5]}")
    for role in ROLES:
        if role not in piv.columns:
            raise ValueError(f"no {role} individual in any family")
    one_role = piv.index[piv[list(ROLES)].isna().any(axis=1)].tolist()
    if one_role:
        raise ValueError(f"{len(one_role)} famil(ies) lack a case or a control individual: {one_role[:5]}")
    per = pd.DataFrame({"family": piv.index, "case": piv["case"].to_numpy(), "control": piv["control"].to_numpy()})
    per["diff"] = per.case - per.control
    worse = int((per["diff"] < 0).sum())
    better = int((per["diff"] > 0).sum())
    n = worse + better
    if n == 0:
        raise ValueError("every family is a tie (equal case and control risk); nothing to test")
    r = sps.binomtest(worse, n, 0.5, alternative=alternative)
    summary = {"n_families": len(per), "n_ties": len(per) - n, "n_case_worse": worse, "n_control_worse": better,
               "share_case_worse": worse / n, "p": float(r.pvalue), "alternative": alternative}
    logger.info("case more deleterious in %d of %d untied families (p = %.3g)", worse, n, r.pvalue)
    return summary, per


def analyze(variants: pd.DataFrame, scores: pd.DataFrame, *, group=None, risk_dataset: str | None = None,
            n_components: int = 10, pca_transform: str | None = None, constant: str = "error") -> dict:
    """The whole case-control analysis on a variant table and a score matrix.

    Parameters
    ----------
    variants : DataFrame
        As :func:`check_variants`.
    scores : DataFrame, shape (n_scored, n_datasets)
        Index variant id; see :func:`read_scores`.
    group : str or array_like of bool, optional
        Datasets of the group to compare (e.g. 'brain': datasets whose label contains the string,
        case-insensitive; or a boolean mask over datasets).
    risk_dataset : str, optional
        Dataset for the risk score and family test; default: the dataset with the smallest one-sided
        ('less') p-value (reported as chosen post hoc).

    Returns
    -------
    dict with 'datasets' (DataFrame of :func:`dataset_tests`), 'pca' (components), 'group' (dict or None),
    'risk' (DataFrame), 'family' (summary dict), 'family_pairs' (DataFrame), 'risk_dataset' (str).
    """
    v, s = align(variants, scores)
    is_case = v.role.to_numpy() == "case"
    tests = dataset_tests(s, is_case, constant=constant)
    s = s[tests.dataset.tolist()]
    comp, _ = pca_test(s, is_case, n_components=n_components, transform=pca_transform)
    grp = None
    if group is not None:
        mask = (tests.dataset.str.contains(group, case=False, regex=False).to_numpy() if isinstance(group, str)
                else np.asarray(group, dtype=bool))
        grp = group_comparison(tests.p.to_numpy(), mask, alternative="less")
        grp["group"] = group if isinstance(group, str) else "mask"
    if risk_dataset is None:
        risk_dataset = str(tests.dataset[int(np.argmin(tests.p_less.to_numpy()))])
        logger.info("risk score dataset chosen post hoc (smallest one-sided p): %s", risk_dataset)
    elif risk_dataset not in s.columns:
        raise ValueError(f"risk dataset {risk_dataset!r} is not a column of the score matrix")
    risk = risk_scores(v, s[risk_dataset].to_numpy())
    fam, pairs = family_paired_test(risk)
    return {"datasets": tests, "pca": comp, "group": grp, "risk": risk, "family": fam, "family_pairs": pairs,
            "risk_dataset": risk_dataset}


# -- figure ----------------------------------------------------------------------------------------------

def volcano_plot(tests: pd.DataFrame, path, *, fdr: float = 0.05, group=None, label_top: int = 5,
                 title: str | None = None):
    """Volcano-style plot: effect (mean asinh difference) against -log10 two-sided p per dataset.

    Parameters
    ----------
    tests : DataFrame from :func:`dataset_tests`
    path : str or Path of the PNG (written atomically via :func:`genocore.figures.save_png`)
    fdr : float
        Datasets with BH FDR below it are filled.
    group : str or array_like of bool, optional
        Datasets to colour (e.g. 'brain').
    label_top : int
        Label the datasets with the smallest p-values.

    Returns
    -------
    Path of the PNG.
    """
    from matplotlib.figure import Figure

    from genocore.figures import save_png

    x = tests.effect.to_numpy()
    y = -np.log10(np.maximum(tests.p.to_numpy(), 1e-300))
    if group is None:
        mask = np.zeros(len(tests), bool)
    elif isinstance(group, str):
        mask = tests.dataset.str.contains(group, case=False, regex=False).to_numpy()
    else:
        mask = np.asarray(group, bool)
    sig = tests.fdr.to_numpy() < fdr
    fig = Figure(figsize=(5.5, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    for m, colour, name in ((~mask, "tab:gray", "other"), (mask, "tab:red", group if isinstance(group, str) else "group")):
        if not m.any():
            continue
        if (m & ~sig).any():
            ax.scatter(x[m & ~sig], y[m & ~sig], s=18, facecolors="none", edgecolors=colour, label=f"{name}")
        if (m & sig).any():
            ax.scatter(x[m & sig], y[m & sig], s=18, color=colour, label=f"{name}, FDR < {fdr:g}")
    for i in np.argsort(tests.p.to_numpy())[:label_top]:
        ax.annotate(str(tests.dataset.iloc[i]), (x[i], y[i]), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("effect: mean asinh(S case) - mean asinh(S control)")
    ax.set_ylabel("-log10 p (Mann-Whitney U, two-sided)")
    ax.set_title(title or "De novo case-control per dataset")
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return save_png(fig, path)


def casecontrol_outputs(res: dict, *, group=None):
    """The output folder of :func:`analyze`: ``datasets.tsv``, ``pca.tsv``, ``risk.tsv``,
    ``family_pairs.tsv``, ``summary.json`` and ``volcano.png``.

    Returns
    -------
    genocore.outputs.OutputFolder
    """
    from genocore.outputs import OutputFolder

    out = OutputFolder(tables={f"{k}.tsv": res[k] for k in ("datasets", "pca", "risk", "family_pairs")},
                       figures={"volcano.png": lambda path: volcano_plot(res["datasets"], path, group=group)})
    out.add_json("summary.json", {"risk_dataset": res["risk_dataset"], "group": res["group"],
                                  "family": res["family"], "n_individuals": int(len(res["risk"])),
                                  "n_datasets": int(len(res["datasets"]))})
    return out

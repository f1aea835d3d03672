"""Train / valid / test splits of training windows.

By held-out chromosomes, by seeded random fractions, or by Basenji2's homology-aware procedure:
genomes are cut into 1 Mb regions, two regions (of the same or different genomes) are joined when
more than 100 kb of them align, and each connected component goes whole to one split, so that no
test window has a close homologue in training. Alignments are UCSC chain files or a simple pairs
table (:func:`read_alignments`).
"""
from __future__ import annotations

import gzip
import logging
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

def _split_counts(n: int, valid_fraction: float, test_fraction: float) -> tuple[int, int]:
    def k(f):
        return 0 if f <= 0 else max(1, int(round(f * n)))
    return k(valid_fraction), k(test_fraction)


def split_by_fraction(n_windows: int, *, valid_fraction: float, test_fraction: float, seed) -> np.ndarray:
    """Seeded random split of ``n_windows`` windows.

    Returns
    -------
    ndarray of str, shape (n_windows,)
        ``"train"``, ``"valid"`` or ``"test"``; a positive fraction gets at least one window.
    """
    rng = np.random.default_rng(seed)
    nv, nt = _split_counts(n_windows, valid_fraction, test_fraction)
    order = rng.permutation(n_windows)
    out = np.full(n_windows, "train", dtype=object)
    out[order[:nt]] = "test"
    out[order[nt:nt + nv]] = "valid"
    return out


def split_by_chrom(windows: pd.DataFrame, *, test_chroms=(), valid_chroms=(), valid_fraction: float = 0.0,
                   test_fraction: float = 0.0, seed=0) -> np.ndarray:
    """Held-out chromosomes; a split without chromosomes takes its fraction (of all windows) at random
    from the windows not held out.

    Parameters
    ----------
    windows : DataFrame with a ``chrom`` column

    Returns
    -------
    ndarray of str, shape (n_windows,)
    """
    chrom = windows["chrom"].to_numpy()
    out = np.full(len(windows), "train", dtype=object)
    out[np.isin(chrom, list(test_chroms))] = "test"
    out[np.isin(chrom, list(valid_chroms))] = "valid"
    vf = 0.0 if valid_chroms else valid_fraction
    tf = 0.0 if test_chroms else test_fraction
    if vf > 0 or tf > 0:
        rest = np.flatnonzero(out == "train")
        nv, nt = _split_counts(len(windows), vf, tf)
        if nv + nt >= len(rest):
            raise ValueError(f"valid/test fractions ask for {nv + nt} windows but only {len(rest)} are left "
                             "after the held-out chromosomes; lower the fractions")
        order = np.random.default_rng(seed).permutation(rest)
        out[order[:nt]] = "test"
        out[order[nt:nt + nv]] = "valid"
    return out


def _parse_chain(path: Path, genome1: str, genome2: str) -> pd.DataFrame:
    rows = []
    opener = gzip.open if path.suffix == ".gz" else open
    head = None
    with opener(path, "rt") as fh:
        for i, line in enumerate(fh, start=1):
            f = line.split()
            if not f or f[0].startswith("#"):
                continue
            if f[0] == "chain":
                if len(f) < 12:
                    raise ValueError(f"{path} line {i}: chain header needs 12 fields: {line.strip()!r}")
                # tName tSize tStrand tStart tEnd qName qSize qStrand qStart qEnd
                head = (f[2], int(f[5]), f[7], int(f[8]), f[9], int(f[10]))
                t, q = head[1], head[5]
                continue
            if head is None:
                raise ValueError(f"{path} line {i}: alignment block before any 'chain' header")
            size = int(f[0])
            tname, _, qname, qsize, qstrand, _ = head
            if qstrand == "-":
                # q coordinates count along the reverse strand; store the forward start of the block
                rows.append((tname, t, qname, qsize - (q + size), size, -1))
            else:
                rows.append((tname, t, qname, q, size, 1))
            if len(f) >= 3:
                t += size + int(f[1])
                q += size + int(f[2])
            else:
                head = None
    df = pd.DataFrame(rows, columns=["chrom1", "start1", "chrom2", "start2", "size", "strand2"])
    df.insert(0, "genome1", genome1)
    df.insert(3, "genome2", genome2)
    return df


def read_alignments(path, *, genome1: str, genome2: str) -> pd.DataFrame:
    """Aligned blocks from a UCSC chain / net-filtered chain file or a simple pairs table.

    Chain: ``chain score tName tSize tStrand tStart tEnd qName qSize qStrand qStart qEnd id`` headers
    followed by ``size dt dq`` lines and a last ``size`` line; tName is in ``genome1``, qName in
    ``genome2``. Pairs table (tab-separated, optional header): ``chrom1 start1 end1 chrom2 start2 end2``;
    each row is an ungapped block of ``min(end1 - start1, end2 - start2)`` bp on the forward strands.

    Returns
    -------
    DataFrame
        Columns genome1, chrom1, start1, genome2, chrom2, start2 (forward-strand start of the block),
        size, strand2 (+1 or -1: for -1, position ``start1 + k`` aligns to ``start2 + size - 1 - k``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"alignment file {path} does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        first = next((ln for ln in fh if ln.strip() and not ln.startswith("#")), "")
    if first.startswith("chain"):
        return _parse_chain(path, genome1, genome2)
    df = pd.read_csv(path, sep="\t", header=None, comment="#", dtype=str)
    if len(df) and not df.iloc[0, 1].strip().lstrip("-").isdigit():
        df = df.iloc[1:]
    if df.shape[1] < 6:
        raise ValueError(f"{path}: a pairs table needs 6 columns chrom1 start1 end1 chrom2 start2 end2")
    c = df.iloc[:, :6].to_numpy()
    s1, e1, s2, e2 = (c[:, k].astype(np.int64) for k in (1, 2, 4, 5))
    return pd.DataFrame({"genome1": genome1, "chrom1": c[:, 0].astype(str), "start1": s1, "genome2": genome2,
                         "chrom2": c[:, 3].astype(str), "start2": s2, "size": np.minimum(e1 - s1, e2 - s2),
                         "strand2": 1})


def region_alignment(blocks: pd.DataFrame, *, region_size: int) -> pd.DataFrame:
    """Aligned bp between pairs of regions (``region_size`` bins of each chromosome).

    Returns
    -------
    DataFrame
        Columns genome1, chrom1, region1, genome2, chrom2, region2, aligned_bp (int64).
    """
    R = region_size
    cols = ["genome1", "chrom1", "region1", "genome2", "chrom2", "region2", "aligned_bp"]
    if len(blocks) == 0:
        return pd.DataFrame(columns=cols)
    b = blocks[blocks["size"] > 0].reset_index(drop=True)
    s1, s2, n, st = (b[k].to_numpy(np.int64) for k in ("start1", "start2", "size", "strand2"))
    inside = (s1 // R == (s1 + n - 1) // R) & (s2 // R == (s2 + n - 1) // R)
    parts = [pd.DataFrame({"i": np.flatnonzero(inside), "region1": s1[inside] // R, "region2": s2[inside] // R,
                           "aligned_bp": n[inside]})]
    # blocks crossing a region boundary are rare (blocks are far shorter than regions): count their
    # bases per region pair one block at a time
    for i in np.flatnonzero(~inside):
        o = np.arange(n[i])
        r1 = (s1[i] + o) // R
        r2 = (s2[i] + (o if st[i] > 0 else n[i] - 1 - o)) // R
        pair, cnt = np.unique(np.stack([r1, r2], axis=1), axis=0, return_counts=True)
        parts.append(pd.DataFrame({"i": i, "region1": pair[:, 0], "region2": pair[:, 1], "aligned_bp": cnt}))
    p = pd.concat(parts, ignore_index=True)
    for k in ("genome1", "chrom1", "genome2", "chrom2"):
        p[k] = b[k].to_numpy()[p["i"].to_numpy()]
    return p.groupby(cols[:-1], sort=True, as_index=False)["aligned_bp"].sum()[cols]


def homology_components(windows: pd.DataFrame, blocks: pd.DataFrame | None, *, region_size: int = 1_000_000,
                        min_aligned_bp: int = 100_000, genome: str = "genome") -> np.ndarray:
    """Connected component of each window in the region homology graph (Basenji2's procedure).

    Genomes are cut into regions of ``region_size``; two regions (of the same or different genomes)
    are linked when more than ``min_aligned_bp`` bp align between them; components are the connected
    pieces of that graph. A window belongs to the region holding its midpoint.

    Parameters
    ----------
    windows : DataFrame
        Columns chrom, start, end, and optionally genome (else every window is in ``genome``).
    blocks : DataFrame or None
        Aligned blocks as from :func:`read_alignments`; None: every region is its own component.

    Returns
    -------
    ndarray, int64, shape (n_windows,)
        Component labels (0..k-1).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    g = windows["genome"].astype(str).to_numpy() if "genome" in windows else np.full(len(windows), genome, object)
    mid = (windows["start"].to_numpy(np.int64) + windows["end"].to_numpy(np.int64)) // 2
    wkey = pd.Series(g).str.cat([windows["chrom"].astype(str).reset_index(drop=True),
                                 pd.Series(mid // region_size).astype(str)], sep="\x00")
    keys = [wkey]
    edges = None
    if blocks is not None and len(blocks):
        ra = region_alignment(blocks, region_size=region_size)
        ra = ra[ra["aligned_bp"] > min_aligned_bp]
        k1 = ra["genome1"].astype(str).str.cat([ra["chrom1"].astype(str), ra["region1"].astype(str)], sep="\x00")
        k2 = ra["genome2"].astype(str).str.cat([ra["chrom2"].astype(str), ra["region2"].astype(str)], sep="\x00")
        edges = (k1.reset_index(drop=True), k2.reset_index(drop=True))
        keys += list(edges)
    codes, uniques = pd.factorize(pd.concat(keys, ignore_index=True))
    n = len(uniques)
    wcode = codes[:len(windows)]
    if edges is not None and len(edges[0]):
        e1 = codes[len(windows):len(windows) + len(edges[0])]
        e2 = codes[len(windows) + len(edges[0]):]
        graph = coo_matrix((np.ones(len(e1)), (e1, e2)), shape=(n, n))
    else:
        graph = coo_matrix((n, n))
    _, labels = connected_components(graph, directed=False)
    comp = labels[wcode]
    return pd.factorize(comp)[0].astype(np.int64)


def split_by_homology(windows: pd.DataFrame, blocks: pd.DataFrame | None, *, valid_fraction: float,
                      test_fraction: float, seed, region_size: int = 1_000_000, min_aligned_bp: int = 100_000,
                      genome: str = "genome") -> np.ndarray:
    """Assign whole homology components (:func:`homology_components`) to test, valid and train.

    Components are taken in a seeded random order; each goes to test while test holds fewer than
    ``test_fraction`` of the windows, then to valid likewise, then to train. Windows of one component
    are therefore always in one split, across genomes.

    Returns
    -------
    ndarray of str, shape (n_windows,)
    """
    comp = homology_components(windows, blocks, region_size=region_size, min_aligned_bp=min_aligned_bp,
                               genome=genome)
    n = len(windows)
    sizes = np.bincount(comp) if n else np.zeros(0, np.int64)
    order = np.random.default_rng(seed).permutation(len(sizes))
    want_t, want_v = test_fraction * n, valid_fraction * n
    assign = np.empty(len(sizes), dtype=object)
    nt = nv = 0
    for c in order:
        if nt < want_t:
            assign[c], nt = "test", nt + sizes[c]
        elif nv < want_v:
            assign[c], nv = "valid", nv + sizes[c]
        else:
            assign[c] = "train"
    return assign[comp] if n else np.zeros(0, dtype=object)


def assign_splits(windows: pd.DataFrame, *, config, alignment: pd.DataFrame | None = None,
                  source: str = "") -> np.ndarray:
    """Split labels by ``config.split_mode``, refusing an empty requested split.

    Parameters
    ----------
    windows : DataFrame (chrom, start, end[, genome])
    config : genomodel.data.DataConfig
    alignment : DataFrame, optional
        Aligned blocks for ``split_mode="homology"`` (:func:`read_alignments`).
    source : str
        Named in error messages (e.g. the FASTA path).

    Raises
    ------
    ValueError
        When train is empty, or valid / test is empty although chromosomes or a fraction were asked for.
    """
    cfg = config
    if cfg.split_mode == "chrom":
        split = split_by_chrom(windows, test_chroms=cfg.test_chroms, valid_chroms=cfg.valid_chroms,
                               valid_fraction=cfg.valid_fraction, test_fraction=cfg.test_fraction, seed=cfg.seed)
    elif cfg.split_mode == "fraction":
        split = split_by_fraction(len(windows), valid_fraction=cfg.valid_fraction,
                                  test_fraction=cfg.test_fraction, seed=cfg.seed)
    else:
        split = split_by_homology(windows, alignment, valid_fraction=cfg.valid_fraction,
                                  test_fraction=cfg.test_fraction, seed=cfg.seed, region_size=cfg.homology_region,
                                  min_aligned_bp=cfg.homology_min_aligned, genome=cfg.genome)
    where = f" ({source})" if source else ""
    for name, chroms, frac in (("test", cfg.test_chroms, cfg.test_fraction),
                               ("valid", cfg.valid_chroms, cfg.valid_fraction)):
        if (chroms or frac > 0) and not (split == name).any():
            asked = f"{name}_chroms {list(chroms)}" if chroms else f"{name}_fraction {frac}"
            raise ValueError(f"split {name!r} is empty{where}: {asked} gives no usable window (windows with too "
                             "many N or unmappable bases are skipped, and a chromosome shorter than seq_length has "
                             f"none). Name other chromosomes, raise the fraction, or relax max_n_fraction / "
                             "max_unmappable_fraction.")
    if not (split == "train").any():
        raise ValueError(f"split 'train' is empty{where}: every usable window went to valid/test; hold out fewer "
                         "chromosomes or lower the fractions")
    return split

"""Variant effect scores from a sequence model: SAD, SAR, REF/ALT sums, max |log2 ratio|, SED.

For each variant the model reads a ``seq_length`` window centred on it (base ``pos - 1`` at index
``seq_length // 2``), once with the reference and once with the alternative base, optionally
averaged over reverse complements and shifts (:func:`genomodel.predict.predict`). With ``ref`` and
``alt`` the predictions, shape (bins, targets):

- ``SAD_t = sum_b (alt - ref)``, ``REF_t = sum_b ref``, ``ALT_t = sum_b alt``;
- ``SAR_t = log2(ALT_t + 1) - log2(REF_t + 1)``;
- ``LOG2MAX_t = max_b |log2((alt + c) / (ref + c))|`` (pseudocount ``c``, 1 by default: the GWAS
  classifier's feature);
- ``SED_{g,t} = sum over the bins of gene g's TSSs of (alt - ref)``, for every gene with a TSS inside the
  predicted span; a bin holding two TSSs of one gene counts once.

Variants at the same position share one reference prediction. Swapping REF and ALT negates SAD and
SED exactly (the same two predictions, subtracted the other way round).

This is the straightforward path (two full forward passes per variant). The scores are written and
read by :mod:`genocore.scores` (basenji's ``sad.h5`` layout and the SED table).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from genocore import provenance
from genocore.files import atomic_path, sha256
from genocore.resume import check_run_settings
from genocore.scores import SAD_STATS
from genomodel import dna
from genomodel.config import params_to_dict
from genomodel.predict import geometry, predict

logger = logging.getLogger(__name__)


@dataclass
class VariantScores:
    """Scores of a set of variants.

    Attributes
    ----------
    variants : DataFrame
        snp, chrom, pos, ref, alt (one row per variant, in the order of the arrays).
    stats : dict of str -> ndarray, float32, shape (n_variants, n_targets)
    sed : DataFrame or None
        One row per (variant, gene): ``variant`` (row of ``variants``), ``gene_id``, ``n_tss_bins``
        and one column per target (SED).
    target_ids, target_labels : list of str, length n_targets, optional
        Names of the scored targets (set by :func:`score_vcf` and :func:`sed_vcf`).
    vcf_counts : dict, optional
        What reading the VCF kept and dropped (:func:`genomodel.io.vcf.read_vcf`).
    provenance : dict, optional
        How the scores were made (:func:`genocore.provenance.record`), stored with them by :meth:`write`.
    """

    variants: pd.DataFrame
    stats: dict
    sed: pd.DataFrame | None = None
    target_ids: list | None = None
    target_labels: list | None = None
    vcf_counts: dict | None = None
    provenance: dict | None = None

    def write(self, path) -> Path:
        """Write the scores with :mod:`genocore.scores`: a ``.tsv`` path gets the SAD table, any other
        basenji's ``sad.h5`` (with SED when scored, and the provenance)."""
        from genocore.scores import write_sad_h5, write_sad_table

        logger.info("scored %d variants x %d targets -> %s", len(self.variants), len(self.target_ids), path)
        if str(path).endswith(".tsv"):
            return write_sad_table(path, self.variants, self.stats["SAD"], target_ids=self.target_ids)
        return write_sad_h5(path, self.variants, self.stats, sed=self.sed, target_ids=self.target_ids,
                            target_labels=self.target_labels, provenance=self.provenance)

    def write_sed(self, path) -> Path:
        """Write the SED table (:func:`genocore.scores.write_sed_table`) and, beside it,
        ``<path>.provenance.json`` with the table's SHA-256."""
        from genocore.scores import write_sed_table

        path = write_sed_table(path, self.variants, self.sed, target_ids=self.target_ids)
        logger.info("SED of %d variant-gene pairs x %d targets -> %s", len(self.sed), len(self.target_ids), path)
        rec = {**(self.provenance or {}), "outputs": {"sed": {"path": str(path), "sha256": sha256(path)}}}
        provenance.write(str(path) + ".provenance.json", rec)
        return path


def _window_codes(genome: dict, chrom: str, start: int, length: int) -> np.ndarray:
    """Codes of [start, start + length) on ``chrom``, N beyond its ends."""
    seq = genome[chrom]
    out = np.full(length, dna.N_CODE, dtype=np.uint8)
    a, b = max(start, 0), min(start + length, len(seq))
    if a < b:
        out[a - start:b - start] = seq[a:b]
    return out


def _check_ref(codes: np.ndarray, offsets, refs, snps, chrom: str, positions) -> None:
    """Raise for the first variant whose REF is not the window's base at its offset."""
    bases = dna.decode(codes[np.asarray(offsets, int)])
    for base, r, snp, pos in zip(bases, refs, snps, positions):
        if str(r).upper() != base:
            raise ValueError(f"variant {snp} ({chrom}:{pos}): REF {r} but the genome has {base}; reconcile "
                             "alleles first (genomodel.io.vcf ref_policy)")


_CHROMS: dict = {}


def genome_codes(fasta, chroms) -> dict:
    """Base codes of whole chromosomes of a FASTA, read once per process (chunks and Dask workers
    ask for the same chromosomes again and again)."""
    from genomodel.io.fasta import open_fasta

    out = {}
    fa = None
    for c in sorted(set(chroms)):
        key = (str(fasta), c)
        if key not in _CHROMS:
            fa = fa or open_fasta(fasta)
            _CHROMS[key] = dna.encode(fa[c][:])
        out[c] = _CHROMS[key]
    return out


def tss_bins(tss: pd.DataFrame, chrom: str, start: int, *, pool: int, crop: int, n_bins: int) -> dict:
    """gene_id -> distinct output bins holding its TSSs (0-based ``tss``) in the window starting at
    ``start`` (chromosome names compared normalized, ``chr1`` = ``1``)."""
    from genocore.genome import normalize_chrom

    sub = tss[np.asarray(normalize_chrom(tss.chrom.astype(str).to_numpy()), str) == normalize_chrom(chrom)]
    b = (sub.tss.to_numpy() - start - crop) // pool
    ok = (sub.tss.to_numpy() - start - crop >= 0) & (b < n_bins)
    out: dict = {}
    for gid, bb in zip(sub.gene_id.to_numpy()[ok], b[ok]):
        out.setdefault(gid, set()).add(int(bb))
    return {g: sorted(v) for g, v in out.items()}


def _position_stats(preds: np.ndarray, rows, stats: dict, sed_rows: list, pseudocount: float, genes: dict) -> None:
    """Fill the rows of the variants at one position from its predictions (reference first)."""
    ref = preds[0]
    ref_sum = ref.sum(axis=0)
    for k, i in enumerate(rows):
        alt = preds[k + 1]
        alt_sum = alt.sum(axis=0)
        stats["SAD"][i] = alt_sum - ref_sum
        stats["REF"][i] = ref_sum
        stats["ALT"][i] = alt_sum
        stats["SAR"][i] = np.log2(alt_sum + 1) - np.log2(ref_sum + 1)
        c = pseudocount
        stats["LOG2MAX"][i] = np.abs(np.log2((np.maximum(alt, 0) + c) / (np.maximum(ref, 0) + c))).max(axis=0)
        for gid, bins in genes.items():
            sed_rows.append((i, gid, len(bins), *(alt[bins] - ref[bins]).sum(axis=0)))


def _target_indices(model, targets) -> np.ndarray:
    """Indices of the kept targets (all by default), checked against the model's outputs."""
    n_all = int(model.output.shape[-1])
    keep = np.arange(n_all) if targets is None else np.asarray(targets, dtype=int)
    if len(keep) and (keep.min() < 0 or keep.max() >= n_all):
        raise ValueError(f"target indices must be in [0, {n_all}): the model predicts {n_all} targets")
    return keep


def _check_snps(v: pd.DataFrame) -> None:
    """Raise for the first variant that is not a SNP."""
    bad = (v.ref.str.len() != 1) | (v.alt.str.len() != 1)
    if bad.any():
        r = v[bad].iloc[0]
        raise ValueError(f"variant {r.snp} ({r.chrom}:{r.pos} {r.ref}>{r.alt}) is not a SNP; only SNPs are scored")


def _position_sequences(genome: dict, v: pd.DataFrame, chrom: str, pos: int, rows, seq_length: int) -> tuple:
    """(chrom, window start, rows, codes) of one position: the reference window, then one per alternative."""
    half = seq_length // 2
    if chrom not in genome:
        raise ValueError(f"variant {v.snp[rows[0]]}: chromosome {chrom!r} is not in the genome")
    start = int(pos) - 1 - half
    ref_codes = _window_codes(genome, chrom, start, seq_length)
    if int(pos) > len(genome[chrom]):
        raise ValueError(f"variant {v.snp[rows[0]]}: position {pos} is past the end of {chrom} "
                         f"({len(genome[chrom])} bp)")
    _check_ref(ref_codes, [half] * len(rows), v.ref[rows], v.snp[rows], chrom, [pos] * len(rows))
    seqs = np.repeat(ref_codes[None], len(rows) + 1, axis=0)
    seqs[np.arange(1, len(rows) + 1), half] = dna.encode("".join(v.alt[rows]).upper())
    return chrom, start, rows, seqs


def _shared_sequences(genome: dict, v: pd.DataFrame, chrom: str, start: int, rows, seq_length: int) -> tuple:
    """(chrom, window start, rows, codes) of one shared window: the reference, then each variant's ALT in it."""
    if chrom not in genome:
        raise ValueError(f"variant {v.snp[rows[0]]}: chromosome {chrom!r} is not in the genome")
    ref_codes = _window_codes(genome, chrom, start, seq_length)
    pos = v.pos.to_numpy()[rows]
    if int(pos.max()) > len(genome[chrom]):
        raise ValueError(f"variant {v.snp[rows[int(np.argmax(pos))]]}: position {int(pos.max())} is past the end of "
                         f"{chrom} ({len(genome[chrom])} bp)")
    idx = (pos - 1 - start).astype(np.int64)
    _check_ref(ref_codes, idx, v.ref[rows], v.snp[rows], chrom, pos)
    seqs = np.repeat(ref_codes[None], len(rows) + 1, axis=0)
    seqs[np.arange(1, len(rows) + 1), idx] = dna.encode("".join(v.alt[rows]).upper())
    return chrom, start, rows, seqs


def score_variants(model, genome: dict, variants: pd.DataFrame, *, rc: bool = False, shifts=(0,),
                   strand_pair: np.ndarray | None = None, targets: np.ndarray | None = None,
                   tss: pd.DataFrame | None = None, pseudocount: float = 1.0, batch_size: int = 4,
                   shared: bool = False, progress=None) -> VariantScores:
    """Score SNPs with two forward passes each (reference shared by variants at one position), or with
    one reference pass per shared window.

    Parameters
    ----------
    model : keras.Model
        One head's model.
    genome : dict of str -> ndarray, uint8
        Base codes per chromosome (:func:`genomodel.dna.encode` of the FASTA).
    variants : DataFrame
        ``snp, chrom, pos (1-based), ref, alt`` (e.g. :func:`genomodel.io.vcf.read_vcf`); SNPs only.
    rc, shifts, strand_pair
        The ensemble (:func:`genomodel.predict.predict`).
    batch_size : int
        Sequences per model call; the sequences of consecutive positions (a reference and its
        alternatives each) are gathered until a call is full.
    targets : ndarray of int, optional
        Indices of the targets to keep (all by default).
    tss : DataFrame, optional
        ``gene_id, chrom, tss`` (0-based); gives SED for genes with a TSS in the predicted span.
    pseudocount : float
        ``c`` of LOG2MAX.
    shared : bool
        Score the variants in windows they share (:func:`shared_windows`) instead of each centred in its own:
        one reference pass per window, about half the passes where variants are dense (scores then depend
        on where a variant sits in its window, as with a shift).
    progress : callable, optional
        ``progress(done, total)`` after each position (each window with ``shared``).

    Returns
    -------
    VariantScores
    """
    seq_length = int(model.input.shape[1])
    pool, crop = geometry(model)
    n_bins = int(model.output.shape[1])
    keep = _target_indices(model, targets)
    v = variants.reset_index(drop=True)
    _check_snps(v)
    stats = {s: np.zeros((len(v), len(keep)), np.float32) for s in SAD_STATS}
    sed_rows = []
    groups = shared_windows(v, seq_length) if shared else [
        (c, p, rows) for (c, p), rows in v.groupby(["chrom", "pos"], sort=False).indices.items()]
    make = _shared_sequences if shared else _position_sequences
    units = (make(genome, v, c, at, rows, seq_length) for c, at, rows in groups)  # built as they are batched
    n_units = len(groups)
    block: list = []  # positions whose sequences go through the model together
    done = 0

    def flush():
        nonlocal done
        if not block:
            return
        seqs = np.concatenate([b[3] for b in block])
        preds = predict(model, dna.one_hot(seqs, dtype=np.float32), rc=rc, shifts=shifts,
                        strand_pair=strand_pair, batch_size=batch_size)[:, :, keep].astype(np.float64)
        at = 0
        for chrom, start, rows, s in block:
            _position_stats(preds[at:at + len(s)], rows, stats, sed_rows, pseudocount,
                            tss_bins(tss, chrom, start, pool=pool, crop=crop, n_bins=n_bins) if tss is not None else {})
            at += len(s)
            done += 1
            if progress is not None:
                progress(done, n_units)
        block.clear()

    for unit in units:
        block.append(unit)
        if sum(len(b[3]) for b in block) >= batch_size:
            flush()
    flush()
    sed = None
    if tss is not None:
        sed = pd.DataFrame(sed_rows, columns=["variant", "gene_id", "n_tss_bins"] + [f"t{j}" for j in keep])
        sed = sed.astype({"variant": np.int64, "n_tss_bins": np.int64, **{f"t{j}": np.float64 for j in keep}})
    return VariantScores(variants=v[["snp", "chrom", "pos", "ref", "alt"]].copy(), stats=stats, sed=sed)


# chunked, resumable, distributable scoring ----------------------------------------------------------

_MODELS: dict = {}


def _cached_model(model_dir: str, genome: str | None, precision: str = "float32", xla: bool = False):
    """The inference model of one head of a saved folder (:func:`genomodel.model.seqnn.load_head`), loaded
    once per process (each Dask worker loads it once)."""
    key = (str(model_dir), genome, precision, bool(xla))
    if key not in _MODELS:
        from genomodel.model.seqnn import load_head

        _MODELS[key] = load_head(model_dir, genome=genome, precision=precision, xla=xla).model
    return _MODELS[key]


def position_chunks(variants: pd.DataFrame, chunk_size: int) -> list:
    """Row indices of consecutive chunks of about ``chunk_size`` variants; a position is never split
    (variants at one position share their reference prediction)."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be >= 1")
    key = variants.chrom.astype(str) + ":" + variants.pos.astype(str)
    new_pos = np.r_[True, key.to_numpy()[1:] != key.to_numpy()[:-1]]
    chunks, cur = [], []
    for i, start in enumerate(new_pos):
        if start and len(cur) >= chunk_size:
            chunks.append(np.array(cur))
            cur = []
        cur.append(i)
    if cur:
        chunks.append(np.array(cur))
    return chunks


def write_part(path, scores: VariantScores) -> Path:
    """One chunk's scores as ``.npz``, atomically (a killed run leaves either the whole part or none)."""
    path = Path(path)
    arrays = {f"stat_{k}": v for k, v in scores.stats.items()}
    arrays["snp"] = np.array(scores.variants.snp, dtype=str)
    if scores.sed is not None:
        cols = [c for c in scores.sed.columns if c.startswith("t")]
        arrays["sed_variant"] = scores.sed.variant.to_numpy(np.int64)
        arrays["sed_gene"] = np.array(scores.sed.gene_id, dtype=str)
        arrays["sed_n"] = scores.sed.n_tss_bins.to_numpy(np.int64)
        arrays["sed_values"] = scores.sed[cols].to_numpy(np.float64).reshape(len(scores.sed), len(cols))
        arrays["sed_cols"] = np.array(cols, dtype=str)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    return path


def read_part(path, variants: pd.DataFrame) -> VariantScores:
    """A part written by :func:`write_part`, checked against the variants it should hold."""
    with np.load(path) as z:
        if z["snp"].tolist() != variants.snp.astype(str).tolist():
            raise ValueError(f"{path} holds other variants than this run's chunk: it comes from a run with "
                             "other inputs or chunk size; delete the parts folder or drop --resume")
        stats = {k[5:]: z[k] for k in z.files if k.startswith("stat_")}
        sed = None
        if "sed_variant" in z.files:
            sed = pd.DataFrame(z["sed_values"], columns=z["sed_cols"].tolist())
            sed.insert(0, "n_tss_bins", z["sed_n"])
            sed.insert(0, "gene_id", z["sed_gene"])
            sed.insert(0, "variant", z["sed_variant"])
    return VariantScores(variants=variants.reset_index(drop=True), stats=stats, sed=sed)


def score_chunk_file(*, model_dir, genome_name: str | None, fasta, variants: pd.DataFrame, part_path,
                     tss: pd.DataFrame | None = None, shared: bool = False, precision: str = "float32",
                     xla: bool = False, **options) -> str:
    """Score one chunk with a (cached) saved model and write its part; the unit of work of a run,
    in this process or on a Dask worker. ``precision`` and ``xla`` choose the inference model
    (:func:`genomodel.model.seqnn.load_head`); ``options`` go to :func:`score_variants`, or with ``shared``
    to :func:`sad_shared_windows` (windows shared by the chunk's neighbouring variants)."""
    model = _cached_model(str(model_dir), genome_name, precision, xla)
    genome = genome_codes(fasta, variants.chrom)
    if shared and not _needs_full_passes(tss, options):
        options = {k: val for k, val in options.items() if k not in ("rc", "shifts", "strand_pair")}
        stats = sad_shared_windows(model, genome, variants, fast=True, **options)
        scores = VariantScores(variants=variants[["snp", "chrom", "pos", "ref", "alt"]].reset_index(drop=True),
                               stats=stats)
    else:
        scores = score_variants(model, genome, variants, tss=tss, shared=shared, **options)
    write_part(part_path, scores)
    return str(part_path)


def merge_parts(variants: pd.DataFrame, chunks: list, paths: list) -> VariantScores:
    """Concatenate the parts of every chunk, in order, into one :class:`VariantScores`."""
    parts = [read_part(p, variants.iloc[idx]) for idx, p in zip(chunks, paths)]
    stats = {k: np.concatenate([p.stats[k] for p in parts]) for k in parts[0].stats}
    sed = None
    if parts[0].sed is not None:
        offsets = np.cumsum([0] + [len(idx) for idx in chunks[:-1]])
        sed = pd.concat([p.sed.assign(variant=p.sed.variant + off) for p, off in zip(parts, offsets)],
                        ignore_index=True)
    return VariantScores(variants=variants[["snp", "chrom", "pos", "ref", "alt"]].reset_index(drop=True),
                         stats=stats, sed=sed)


def _needs_full_passes(tss, options: dict) -> bool:
    """Whether shared-window scoring needs whole forward passes: the incremental path
    (:func:`sad_shared_windows`) gives forward-strand SAD only, without SED, ensembles or strand pairs."""
    return (tss is not None or bool(options.get("rc")) or tuple(options.get("shifts", (0,))) != (0,))


def score_in_chunks(*, model_dir, genome_name, fasta, variants: pd.DataFrame, parts_dir, chunk_size: int = 1000,
                    resume: bool = False, client=None, tss=None, progress=None, shared: bool = False,
                    **options) -> VariantScores:
    """Score variants chunk by chunk into ``parts_dir`` and merge them.

    With ``shared`` the variants of a chunk are scored in shared windows instead of each centred in its
    own: on the incremental path (:func:`sad_shared_windows`) for forward-strand SAD, with whole passes
    (:func:`score_variants` ``shared=True``) when SED, the reverse complement or shifts are asked for.

    With ``resume`` finished parts are kept (and checked to hold the same variants), so a killed run
    continues without losing or repeating a variant; without it a stale ``parts_dir`` is cleared.
    With a ``dask.distributed.Client`` the chunks run on its workers (each loads the model once); the
    result is the same as in one process.
    """
    import shutil

    parts_dir = Path(parts_dir)
    if parts_dir.exists() and not resume:
        shutil.rmtree(parts_dir)
    parts_dir.mkdir(parents=True, exist_ok=True)
    v = variants.reset_index(drop=True)
    check_run_settings(parts_dir, _run_settings(model_dir=model_dir, genome_name=genome_name, fasta=fasta, tss=tss,
                                                 shared=shared, chunk_size=chunk_size, variants=v, **options))
    chunks = position_chunks(v, chunk_size)
    paths = [parts_dir / f"chunk_{i:06d}.npz" for i in range(len(chunks))]
    todo = [i for i, p in enumerate(paths) if not p.exists()]
    logger.info("%d variants in %d chunks; %d already done", len(v), len(chunks), len(chunks) - len(todo))
    kwargs = dict(model_dir=str(model_dir), genome_name=genome_name, fasta=str(fasta), tss=tss, shared=shared,
                  **options)
    if client is None:
        for n, i in enumerate(todo, 1):
            score_chunk_file(variants=v.iloc[chunks[i]], part_path=paths[i], **kwargs)
            if progress is not None:
                progress(len(chunks) - len(todo) + n, len(chunks))
    else:
        from distributed import as_completed

        # no list of the futures is kept: each is released once its part is on disk, so a worker lost later
        # does not make the scheduler recompute finished chunks (a recompute could write into the parts
        # folder after the output is complete and the folder removed)
        done = as_completed([client.submit(score_chunk_file, variants=v.iloc[chunks[i]], part_path=str(paths[i]),
                                           pure=False, **kwargs) for i in todo])
        for n, fut in enumerate(done, 1):
            fut.result()
            fut.release()
            if progress is not None:
                progress(len(chunks) - len(todo) + n, len(chunks))
    return merge_parts(v, chunks, paths)


def _run_settings(*, model_dir, genome_name, fasta, tss, shared, chunk_size, variants, **options) -> dict:
    """What a chunked run's parts depend on, as JSON-able values (files by SHA-256)."""
    from genocore.resume import input_stamp
    from genomodel.model.seqnn import WEIGHTS_FILE

    out = {"model weights": input_stamp(Path(model_dir) / WEIGHTS_FILE), "genome": genome_name,
           "fasta": input_stamp(fasta),
           "shared windows": bool(shared), "chunk size": int(chunk_size), "variants": len(variants),
           "genes (TSS rows)": None if tss is None else len(tss)}
    for k, val in sorted(options.items()):
        out[k] = val.tolist() if isinstance(val, np.ndarray) else (list(val) if isinstance(val, tuple) else val)
    return json.loads(json.dumps(out, default=str))


def _scoring_inputs(head, vcf, fasta, *, gtf=None, genes=None, targets_file=None, ref_policy: str = "error",
                    indels: str = "refuse") -> tuple:
    """(kept target indices, variants, VCF counts, 0-based TSSs or None) of a scoring run."""
    from genomodel.io.gtf import model_tss
    from genomodel.io.targets import read_target_subset
    from genomodel.io.vcf import read_vcf

    keep = (read_target_subset(targets_file, head.target_ids) if targets_file is not None
            else np.arange(int(head.model.output.shape[-1])))
    variants, counts = read_vcf(vcf, fasta=fasta, ref_policy=ref_policy, indels=indels)
    if len(variants) == 0:
        raise ValueError(f"{vcf}: no variant left to score ({_emptied_by(counts, indels=indels, ref_policy=ref_policy)})"
                         "; nothing was written")
    tss = model_tss(gtf, genes=genes) if gtf is not None else None
    warn_windows_past_ends(variants.chrom, variants.pos - 1, fasta, int(head.model.input.shape[1]), what="variants")
    return keep, variants, counts, tss


def warn_windows_past_ends(chrom, centre, fasta, seq_length: int, *, what: str) -> int:
    """Log (once) how many model windows centred at 0-based ``centre`` on ``chrom`` run past their
    chromosome's ends in ``fasta``: that part is filled with N (as basenji does), so those scores see less
    sequence. Returns the count."""
    from genomodel.io.fasta import open_fasta

    fa = open_fasta(fasta)
    try:
        sizes = {k: len(v) for k, v in fa.items()}
    finally:
        fa.close()
    start = np.asarray(centre, dtype=np.int64) - seq_length // 2
    size = pd.Series(np.asarray(chrom)).map(sizes).to_numpy(dtype=np.float64)
    off = (start < 0) | (start + seq_length > size)
    if off.any():
        logger.warning("%d of %d %s have model windows (%d bp) running past their chromosome's ends in %s: "
                       "the missing sequence is filled with N, so their scores see less context", int(off.sum()),
                       len(off), what, seq_length, fasta)
    return int(off.sum())


def _emptied_by(counts: dict, *, indels: str, ref_policy: str) -> str:
    """Which step of reading a VCF left no variant, in words."""
    if counts.get("records", 0) == 0:
        return "the VCF has no records"
    steps = [(counts.get("indels_skipped", 0), f"indels skipped by --indels {indels}"),
             (counts.get("past_end_skipped", 0), f"past their chromosome's end dropped by --ref-policy {ref_policy}"),
             (counts.get("ref_mismatch_skipped", 0) + counts.get("unmatched_dropped", 0),
              f"REF mismatches dropped by --ref-policy {ref_policy}"),
             (counts.get("duplicates", 0), "duplicates dropped")]
    said = [f"{n} {what}" for n, what in steps if n]
    return f"{counts['records']} records, {counts.get('alleles', 0)} alleles: " + ("; ".join(said) or "none kept")


def score_vcf(head, vcf, fasta, *, parts_dir, gtf=None, genes=None, targets_file=None, ref_policy: str = "error",
              indels: str = "refuse", rc: bool = False, shifts=(0,), batch_size: int = 4, chunk_size: int = 1000,
              resume: bool = False, scheduler: str | None = None, workers: int | None = None, shared: bool = False,
              progress=None, command=None) -> VariantScores:
    """SAD, SAR, REF, ALT, LOG2MAX (and SED with ``gtf``) of the SNPs of a VCF, chunk by chunk.

    Parameters
    ----------
    head : genomodel.model.seqnn.Head
        The saved model's head (workers reload it from ``head.model_dir``).
    vcf, fasta : path-like
        Sites, and the genome whose reference alleles they must match (``ref_policy``, ``indels``:
        :func:`genomodel.io.vcf.read_vcf`).
    parts_dir : path-like
        Where finished chunks go (:func:`score_in_chunks`; ``chunk_size``, ``resume``).
    scheduler, workers : optional
        Score the chunks on the Dask cluster at this scheduler address, or on a local cluster of this
        many workers (:func:`genocore.dask_client.dask_client`); in this process by default.
    gtf, genes : optional
        SED for the genes (all, or those listed) with a TSS in a variant's predicted span.
    targets_file : path-like, optional
        targets.txt-like table naming the targets to score (:func:`genomodel.io.targets.read_target_subset`).
    rc, shifts, batch_size
        The ensemble (:func:`genomodel.predict.predict`; the head's strand pairs swap stranded tracks).
    shared : bool
        Score neighbouring variants in shared windows (:func:`score_in_chunks`).
    progress : callable, optional
        ``progress(done, total)`` after each chunk.
    command : str or list, optional
        The call that asked for the scores, for their provenance.

    Returns
    -------
    VariantScores
        With ``target_ids``, ``target_labels``, ``vcf_counts`` and ``provenance`` (the SHA-256 of the
        VCF, FASTA and model weights, the options and the model's params) set.
    """
    keep, variants, counts, tss = _scoring_inputs(head, vcf, fasta, gtf=gtf, genes=genes, targets_file=targets_file,
                                                  ref_policy=ref_policy, indels=indels)
    from genocore.dask_client import dask_client

    client = dask_client(scheduler=scheduler, workers=workers)
    try:
        scores = score_in_chunks(model_dir=head.model_dir, genome_name=head.genome, fasta=fasta, variants=variants,
                                 parts_dir=parts_dir, chunk_size=chunk_size, resume=resume, client=client, tss=tss,
                                 progress=progress, rc=rc, shifts=shifts, targets=keep, batch_size=batch_size,
                                 strand_pair=head.strand_pair, shared=shared, precision=head.precision,
                                 xla=head.xla)
    finally:
        if client is not None:
            client.close()
    labels = head.target_labels or head.target_ids
    scores.target_ids = [head.target_ids[t] for t in keep]
    scores.target_labels = [labels[t] for t in keep]
    scores.vcf_counts = counts
    scores.provenance = provenance.record(
        command=command, genome_build=head.genome_build,
        config={"rc": rc, "shifts": list(shifts), "shared_windows": shared, "precision": head.precision,
                "xla": head.xla, "ref_policy": ref_policy,
                "params": params_to_dict(head.params)},
        inputs={"vcf": vcf, "fasta": fasta, "model.weights.h5": head.weights},
        extra={"vcf_counts": counts, "model_sha256": sha256(head.weights)})
    return scores


def sed_vcf(head, vcf, fasta, *, gtf, genes=None, targets_file=None, ref_policy: str = "error",
            indels: str = "refuse", fast: bool = True, max_distance: int | None = None,
            batch_size: int = 4, command=None) -> VariantScores:
    """SED of the SNPs of a VCF in gene-centred windows (:func:`sed_gene_windows`), one reference pass per gene.

    Parameters as :func:`score_vcf`; ``fast`` and ``max_distance`` as :func:`sed_gene_windows`.

    Returns
    -------
    VariantScores
        ``sed`` set (``stats`` empty), with ``target_ids``, ``target_labels``, ``vcf_counts`` and
        ``provenance``; :meth:`VariantScores.write_sed` writes them.
    """
    keep, variants, counts, tss = _scoring_inputs(head, vcf, fasta, gtf=gtf, genes=genes, targets_file=targets_file,
                                                  ref_policy=ref_policy, indels=indels)
    genome = genome_codes(fasta, set(variants.chrom) & set(tss.chrom))
    centres = tss[tss.chrom.isin(genome)].groupby("gene_id", sort=True).agg(chrom=("chrom", "first"), tss=("tss", "min"))
    warn_windows_past_ends(centres.chrom, centres.tss, fasta, int(head.model.input.shape[1]), what="genes")
    sed = sed_gene_windows(head.model, genome, variants, tss, targets=keep, fast=fast, max_distance=max_distance,
                           batch_size=batch_size)
    labels = head.target_labels or head.target_ids
    rec = provenance.record(command=command, config={"fast": fast, "max_distance": max_distance},
                            inputs={"vcf": vcf, "fasta": fasta, "gtf": gtf, "model.weights.h5": head.weights},
                            extra={"vcf_counts": counts, "model_sha256": sha256(head.weights)})
    return VariantScores(variants=variants.reset_index(drop=True), stats={}, sed=sed,
                         target_ids=[head.target_ids[t] for t in keep], target_labels=[labels[t] for t in keep],
                         vcf_counts=counts, provenance=rec)


# SED in gene-centred windows (basenji_sed's layout) ------------------------------------------------

def sed_gene_windows(model, genome: dict, variants: pd.DataFrame, tss: pd.DataFrame, *, targets=None,
                     fast: bool = True, batch_size: int = 16, max_distance: int | None = None) -> pd.DataFrame:
    """SED of every variant inside each gene's window, with one reference pass per gene.

    Each gene's window is ``seq_length`` bp centred on its first (lowest) TSS; every SNP in the
    window's input (or within ``max_distance`` of that TSS) is scored as alt - ref summed over the
    output bins holding the gene's TSSs. With ``fast`` the alternatives go through the incremental
    path restricted to those bins (:class:`genomodel.model.incremental.Incremental`); otherwise one full
    pass each. Both give the same numbers to floating-point tolerance.

    Returns
    -------
    DataFrame
        One row per (variant, gene): ``variant`` (row of ``variants``), ``gene_id``, ``n_tss_bins`` and
        one SED column per target (``t<index>``).
    """
    from genomodel.model.incremental import Incremental

    seq_length = int(model.input.shape[1])
    pool, crop = geometry(model)
    n_bins, n_all = int(model.output.shape[1]), int(model.output.shape[-1])
    keep = np.arange(n_all) if targets is None else np.asarray(targets, int)
    v = variants.reset_index(drop=True)
    rows = []
    for gid, g in tss.groupby("gene_id", sort=True):
        chrom = g.chrom.iloc[0]
        if chrom not in genome:
            continue
        centre = int(g.tss.min())
        start = centre - seq_length // 2
        bins = tss_bins(g, chrom, start, pool=pool, crop=crop, n_bins=n_bins).get(gid)
        if not bins:
            continue
        sel = v[(v.chrom == chrom) & (v.pos - 1 >= max(start, 0)) & (v.pos - 1 < start + seq_length)]
        if max_distance is not None:
            sel = sel[(sel.pos - 1 - centre).abs() <= max_distance]
        if sel.empty:
            continue
        codes = _window_codes(genome, chrom, start, seq_length)
        x = dna.one_hot(codes, dtype=np.float32)
        idx = (sel.pos.to_numpy() - 1 - start).astype(int)
        _check_ref(codes, idx, sel.ref, sel.snp, chrom, sel.pos)
        alt_codes = dna.encode("".join(sel.alt.str.upper()))
        if fast:
            inc = Incremental(model, x)
            ref = inc.reference_output.astype(np.float64)
            delta = np.zeros((len(sel), len(keep)))
            for s in range(0, len(sel), batch_size):
                patch, lo, hi = inc.mutants(idx[s:s + batch_size], alt_codes[s:s + batch_size],
                                            out_bins=(bins[0], bins[-1] + 1))
                inside = [b for b in bins if lo <= b < hi]
                if inside:
                    d = patch[:, np.array(inside) - lo][:, :, keep].astype(np.float64) - ref[inside][:, keep]
                    delta[s:s + batch_size] = d.sum(axis=1)
        else:
            seqs = np.repeat(codes[None], len(sel) + 1, axis=0)
            seqs[np.arange(1, len(sel) + 1), idx] = alt_codes
            p = predict(model, dna.one_hot(seqs, dtype=np.float32), batch_size=batch_size)[:, bins][:, :, keep]
            p = p.astype(np.float64).sum(axis=1)
            delta = p[1:] - p[0]
        for vi, d in zip(sel.index, delta):
            rows.append((int(vi), gid, len(bins), *d))
    return pd.DataFrame(rows, columns=["variant", "gene_id", "n_tss_bins"] + [f"t{j}" for j in keep])


# SAD in shared windows -----------------------------------------------------------------------------

def shared_windows(variants: pd.DataFrame, seq_length: int) -> list:
    """Group variants into windows that each hold several of them in their central half.

    Greedy along each chromosome: a window starts ``seq_length // 4`` bp before the first variant not
    yet placed and takes every variant up to ``3 * seq_length // 4`` into it, so each variant has at
    least a quarter window of context on either side.

    Returns
    -------
    list of (chrom, start, row indices)
    """
    out = []
    for chrom, g in variants.groupby("chrom", sort=False):
        order = g.sort_values("pos", kind="stable")
        pos = order.pos.to_numpy() - 1
        rows = order.index.to_numpy()
        i = 0
        while i < len(pos):
            start = int(pos[i]) - seq_length // 4
            j = int(np.searchsorted(pos, start + 3 * seq_length // 4, side="left"))
            out.append((chrom, start, rows[i:max(j, i + 1)]))
            i = max(j, i + 1)
    return out


def sad_shared_windows(model, genome: dict, variants: pd.DataFrame, *, targets=None, fast: bool = True,
                       batch_size: int = 8, pseudocount: float = 1.0) -> dict:
    """SAD, SAR, REF, ALT and LOG2MAX with one reference pass per shared window (:func:`shared_windows`).

    A variant's scores depend on where it sits in its window; both paths here use the same windows,
    so ``fast`` (the incremental path over the variant's whole output cone) equals the full passes to
    floating-point tolerance. Forward strand only (the incremental path reuses one reference pass).
    ``batch_size`` variants go through one call (a full pass each, or one incremental batch in which
    each variant is computed over its own output cone).

    Returns
    -------
    dict of str -> ndarray, float32, shape (n_variants, n_targets)
        The statistics of :data:`SAD_STATS`, rows in the order of ``variants``.
    """
    from genomodel.model.incremental import Incremental

    seq_length = int(model.input.shape[1])
    n_all = int(model.output.shape[-1])
    keep = np.arange(n_all) if targets is None else np.asarray(targets, int)
    v = variants.reset_index(drop=True)
    out = {k: np.zeros((len(v), len(keep)), np.float32) for k in SAD_STATS}
    c = pseudocount
    for chrom, start, rows in shared_windows(v, seq_length):
        codes = _window_codes(genome, chrom, start, seq_length)
        idx = (v.pos.to_numpy()[rows] - 1 - start).astype(int)
        _check_ref(codes, idx, v.ref.to_numpy()[rows], v.snp.to_numpy()[rows], chrom, v.pos.to_numpy()[rows])
        alt_codes = dna.encode("".join(v.alt.to_numpy()[rows]).upper())
        sad = np.zeros((len(rows), len(keep)))
        log2max = np.zeros((len(rows), len(keep)))
        if fast:
            inc = Incremental(model, dna.one_hot(codes, dtype=np.float32))
            ref = inc.reference_output[:, keep].astype(np.float64)
            # each variant of a batch is computed over its own output cone, wherever it sits
            for s in range(0, len(rows), batch_size):
                patch, starts, ends = inc.mutants_each(idx[s:s + batch_size], alt_codes[s:s + batch_size])
                for j, k in enumerate(range(s, min(s + batch_size, len(rows)))):
                    alt = patch[j, :ends[j] - starts[j]][:, keep].astype(np.float64)
                    r = ref[starts[j]:ends[j]]
                    sad[k] = (alt - r).sum(axis=0)
                    # outside the cone alt equals ref: a log2 ratio of 0, which |.| never exceeds
                    log2max[k] = np.abs(np.log2((np.maximum(alt, 0) + c) / (np.maximum(r, 0) + c))).max(
                        axis=0, initial=0.0)
        else:
            seqs = np.repeat(codes[None], len(rows) + 1, axis=0)
            seqs[np.arange(1, len(rows) + 1), idx] = alt_codes
            p = predict(model, dna.one_hot(seqs, dtype=np.float32), batch_size=batch_size)[:, :, keep]
            p = p.astype(np.float64)
            ref = p[0]
            sad = (p[1:] - ref[None]).sum(axis=1)
            log2max = np.abs(np.log2((np.maximum(p[1:], 0) + c) / (np.maximum(ref[None], 0) + c))).max(axis=1)
        ref_sum = ref.sum(axis=0)
        out["SAD"][rows] = sad
        out["REF"][rows] = ref_sum
        out["ALT"][rows] = ref_sum + sad
        out["SAR"][rows] = np.log2(ref_sum + sad + 1) - np.log2(ref_sum + 1)
        out["LOG2MAX"][rows] = log2max
    return out

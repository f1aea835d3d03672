"""Resumable long jobs: a parts folder holding the run's settings and its finished units.

A long job (variant scoring, LD scores per chromosome, SLDP's grid, the covariate regression's shuffles)
writes each finished unit atomically and records it here; a run killed at any point and started again
with ``resume`` skips what is finished and produces the same output as an uninterrupted run. The
settings the parts depend on (inputs by SHA-256, options) are kept in ``run.json``: a resume with other
inputs or options is refused, naming what differs.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from genocore.files import sha256, write_text

__all__ = ["ResumeRoot", "RunParts", "check_run_settings", "input_stamp", "stamp_inputs"]


def input_stamp(path) -> str | None:
    """``"<sha256> (<bytes> bytes)"`` of an input file (None for None): what a resume checks it by."""
    if path is None:
        return None
    path = Path(path)
    return f"{sha256(path)} ({path.stat().st_size} bytes)"


def _files_behind(value) -> list[Path]:
    """The files a path-like input stands for: itself; every file of a ``{chrom}`` template or of a prefix
    ending in a dot (``panel.`` -> ``panel.1.bed``...); every file of a folder."""
    text = str(value)
    if "{chrom}" in text or text.endswith("."):
        pattern = Path(text.replace("{chrom}", "*") + ("*" if text.endswith(".") else ""))
        return sorted(p for p in pattern.parent.glob(pattern.name) if p.is_file())
    path = Path(text)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    if path.exists():
        return [path]
    # a prefix the readers complete (a PLINK fileset 'p' -> p.bed, an ldsc-style 'baseline' -> baseline.22...)
    return sorted(p for p in path.parent.glob(path.name + "*") if p.is_file() and not p.name.endswith(".done"))


def stamp_inputs(inputs: dict) -> dict:
    """``{name: input_stamp}`` of every file behind each input (a path, template, prefix, folder, or a list
    of them; other values, such as DataFrames, are stamped by their content hash)."""
    import pandas as pd

    out = {}
    for name, value in inputs.items():
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        for i, v in enumerate(values):
            key = f"{name}[{i}]" if len(values) > 1 else name  # the order matters (alphas, phenotypes)
            if isinstance(v, pd.DataFrame):
                out[f"{key} (table)"] = str(int(pd.util.hash_pandas_object(v, index=False).sum()))
                continue
            for f in _files_behind(v):
                out[f"{key}: {f.name}"] = input_stamp(f)
    return out


def check_run_settings(folder, settings: dict) -> None:
    """Record ``settings`` in ``folder/run.json``, or refuse (ValueError) parts made with other settings."""
    folder = Path(folder)
    settings = json.loads(json.dumps(settings, default=str))
    path = folder / "run.json"
    if path.exists():
        before = json.loads(path.read_text())
        differ = sorted(k for k in set(before) | set(settings) if before.get(k) != settings.get(k))
        if differ:
            raise ValueError(f"{folder} holds parts of a run with other inputs or options ("
                             + "; ".join(f"{k}: {before.get(k)!r} then, {settings.get(k)!r} now" for k in differ[:4])
                             + "); run with the same ones, or drop --resume to start again")
        return
    write_text(path, json.dumps(settings, indent=1) + "\n")


class RunParts:
    """The parts folder of one resumable run.

    The folder appears with the first finished unit (a run that fails before finishing anything leaves
    nothing behind); an existing one is checked against ``settings`` at once.

    Parameters
    ----------
    folder : path-like
        Where the settings and the finished-unit markers go.
    settings : dict
        What the parts depend on (:func:`check_run_settings`).
    resume : bool
        Keep the parts of an earlier run with the same settings; otherwise a stale folder is cleared.
    """

    def __init__(self, folder, settings: dict, *, resume: bool):
        self.folder = Path(folder)
        self.settings = settings
        if self.folder.exists() and not resume:
            shutil.rmtree(self.folder)
        if self.folder.exists():
            check_run_settings(self.folder, settings)

    def file(self, name: str) -> Path:
        """Where a unit's own file goes (the folder and its settings are written on first use)."""
        if not (self.folder / "run.json").exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            check_run_settings(self.folder, self.settings)
        return self.folder / name

    def done(self, key: str) -> bool:
        """Whether unit ``key`` finished (its outputs are complete)."""
        return (self.folder / f"{key}.done").exists()

    def mark_done(self, key: str, info: dict | None = None) -> None:
        """Record unit ``key`` as finished; call only once its outputs are written."""
        write_text(self.file(f"{key}.done"), json.dumps(info or {}, default=str) + "\n")

    def remove(self) -> None:
        """Delete the folder (once the whole output is written)."""
        shutil.rmtree(self.folder, ignore_errors=True)


class ResumeRoot:
    """The parts folders of a run with several resumable steps (``<folder>/<step>``), sharing its settings.

    Parameters
    ----------
    folder : path-like
    settings : dict
        What every step's parts depend on (the run's config and inputs).
    resume : bool
        Keep what a killed run with the same settings finished; otherwise a stale folder is cleared.
    """

    def __init__(self, folder, settings: dict, *, resume: bool):
        self.folder = Path(folder)
        self.settings = settings
        if self.folder.exists() and not resume:
            shutil.rmtree(self.folder)

    def parts(self, step: str) -> RunParts:
        """The parts of one step (checked against the settings if a killed run left them)."""
        return RunParts(self.folder / step, self.settings, resume=True)

    def remove(self) -> None:
        """Delete every step's parts (once the whole output is written)."""
        shutil.rmtree(self.folder, ignore_errors=True)

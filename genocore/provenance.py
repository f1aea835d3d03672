"""Provenance records: suite version, command or config, genome build, input hashes.

Records hold no timestamps or host names so that the same inputs give byte-identical outputs.
"""
from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

from genocore import __version__
from genocore.files import sha256, write_text

# versions of the libraries whose behaviour the numbers depend on (read from package metadata, so
# recording them imports nothing)
KEY_LIBRARIES = ("numpy", "scipy", "pandas", "statsmodels", "scikit-learn", "h5py", "tensorflow-cpu",
                 "tensorflow", "keras", "pysnptools", "bed-reader", "msprime")


def library_versions() -> dict[str, str]:
    """Installed versions of :data:`KEY_LIBRARIES` (those not installed are left out)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in KEY_LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def json_default(x):
    """``json.dumps`` fallback: numpy scalars and arrays as numbers and lists, anything else as text."""
    if hasattr(x, "item") and getattr(x, "ndim", 1) == 0:
        return x.item()
    if hasattr(x, "tolist"):
        return x.tolist()
    return str(x)


def record(*, command: str | list | None = None, config: dict | None = None, genome_build: str | None = None,
           inputs: dict | None = None, outputs: dict | None = None, extra: dict | None = None,
           root=None) -> dict:
    """A provenance dict.

    Parameters
    ----------
    command : str or list of str, optional
        The exact call (``sys.argv``) or a description of it.
    config : dict, optional
        The resolved configuration.
    genome_build : str, optional
    inputs, outputs : dict of name -> path, optional
        Files are recorded with their SHA-256.
    root : path, optional
        Paths are recorded relative to it (so that moving a folder keeps its record valid).
    """
    rec = {"suite": "genosuite", "version": __version__,
           "python": f"{sys.version_info.major}.{sys.version_info.minor}", "platform": platform.system(),
           "libraries": library_versions()}
    if command is not None:
        rec["command"] = command if isinstance(command, str) else " ".join(map(str, command))
    if config is not None:
        rec["config"] = config
    if genome_build is not None:
        rec["genome_build"] = genome_build
    for key, files in (("inputs", inputs), ("outputs", outputs)):
        if files:
            rec[key] = {name: {"path": _shown(p, root), "sha256": sha256(p)} for name, p in sorted(files.items())}
    if extra:
        rec.update(extra)
    return rec


def write(path, rec: dict) -> Path:
    """Write a provenance record as sorted, indented JSON (atomically)."""
    return write_text(Path(path), json.dumps(rec, indent=2, sort_keys=True, default=json_default) + "\n")


def _shown(path, root) -> str:
    path = Path(path)
    if root is not None:
        try:
            return str(path.resolve().relative_to(Path(root).resolve()))
        except ValueError:
            pass
    return str(path)

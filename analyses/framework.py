"""The frame every paper analysis shares: a strict JSON config, ``--demo``, and an output folder.

A paper analysis is a module ``analyses.<name>`` that defines an :class:`Analysis`: a frozen config
dataclass (every field documented in its ``metadata["help"]``; fields whose ``metadata["path"]`` is
true name input files), a ``run(config, progress)`` that composes library calls and returns an
:class:`genocore.outputs.OutputFolder` (results table, figures, ``report.md``), and a ``demo(world,
out)`` that gives the config for the simulated world. :func:`main` is its command line::

    python -m analyses.<name> --config FILE --out DIR    # a JSON of the config's keys (--help lists them)
    python -m analyses.<name> --demo --world W --out DIR  # the simulated world (built when W is absent)

An input file may be given as ``"manifest:ID"``: the reference file of ``data_manifests/ID.json``,
fetched into the cache (and verified) when the config is loaded. A config with an unknown key, an
unknown manifest id, or naming a file that does not exist, fails before any work, naming the key and the
file or id. The output folder is written atomically with ``provenance.json`` (the config, the
SHA-256 of every input file and output).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path
from typing import Callable

from genocore import __version__, clilog
from genocore import config as cfgmod

logger = logging.getLogger(__name__)


def field(default=dataclasses.MISSING, *, help: str, path: bool = False):  # noqa: A002 (the argparse word)
    """A config field with its documentation; ``path=True`` marks an input file that must exist."""
    kw = {} if default is dataclasses.MISSING else {"default": default}
    return dataclasses.field(metadata={"help": help, "path": path}, **kw)


@dataclasses.dataclass(frozen=True)
class Analysis:
    """One paper analysis.

    Attributes
    ----------
    name : str
        ``analyses.<name>``.
    description : str
        The paper figure or table it reproduces.
    config : type
        Frozen dataclass of its options (fields made with :func:`field`).
    run : callable
        ``run(config, progress) -> OutputFolder``; ``progress(step: str)`` reports long steps.
    demo : callable
        ``demo(world: Path, out: Path) -> config``: the config for the simulated world (may prepare
        inputs, such as model scores, under ``out``).
    paper : str
        The paper's headline result, reported beside the suite's (``analyses/README.md``).
    resumable : bool
        ``run`` takes ``parts`` (a :class:`genocore.resume.ResumeRoot`): its long steps save what they finish
        there, and ``--resume`` continues a killed run.
    """

    name: str
    description: str
    config: type
    run: Callable
    demo: Callable
    paper: str = ""
    resumable: bool = False


def config_help(cls) -> str:
    """Every key of a config dataclass with its default and documentation (for ``--help``)."""
    lines = []
    for f in dataclasses.fields(cls):
        default = "" if f.default is dataclasses.MISSING else f" (default {json.dumps(cfgmod.json_ready(f.default))})"
        lines.append(f"  {f.name}{default}: {f.metadata.get('help', '')}")
    return "config keys:\n" + "\n".join(lines)


def _expand(key: str, path: Path) -> dict[str, Path]:
    """The files behind one input: itself; each file directly in a folder (a saved model: params.json,
    model.weights.h5); every file of a ``{chrom}`` template or a prefix ending in a dot (a panel)."""
    text = str(path)
    if "{chrom}" in text or text.endswith("."):
        pattern = Path(text.replace("{chrom}", "*") + ("*" if text.endswith(".") else ".*"))
        return {f"{key}:{p.name}": p for p in sorted(pattern.parent.glob(pattern.name)) if p.is_file()}
    if path.is_dir():
        return {f"{key}:{p.name}": p for p in sorted(path.iterdir()) if p.is_file() and not p.name.startswith(".")}
    return {key: path}


def input_paths(cfg) -> dict[str, Path]:
    """The config's input files (fields marked ``path``) that are set, for the provenance: a tuple gives
    ``key_0``, ``key_1``...; folders and panel templates give each of their files."""
    out = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if not f.metadata.get("path") or value in (None, "", ()):
            continue
        if isinstance(value, (tuple, list)):
            for i, v in enumerate(value):
                out.update(_expand(f"{f.name}_{i}", Path(v)))
        elif isinstance(value, dict):
            for k, v in value.items():
                out.update(_expand(f"{f.name}_{k}", Path(v)))
        else:
            out.update(_expand(f.name, Path(value)))
    return out


def check_paths(cfg, *, where: str = "config") -> None:
    """FileNotFoundError naming the key and the file for the first input that does not exist (a
    ``{chrom}`` template or a prefix ending in a dot must match at least one file)."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if not f.metadata.get("path") or value in (None, "", ()):
            continue
        items = (value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (tuple, list))
                 else [(None, value)])
        for k, v in items:
            key = f.name if k is None else f"{f.name}[{k!r}]"
            text = str(v)
            missing = (not _expand(key, Path(v))) if ("{chrom}" in text or text.endswith(".")) else not Path(v).exists()
            if missing:
                raise FileNotFoundError(f"{where}: {key} = {text!r} does not exist")


#: Prefix of a config value naming a reference file by manifest id (``"manifest:gtex_v8_eqtl"``).
MANIFEST_PREFIX = "manifest:"


def resolve_manifests(cls, values: dict, *, where: str, fetch=None) -> dict:
    """``values`` with every ``"manifest:ID"`` of an input-file key replaced by the fetched file's path.

    All ids are checked before anything is fetched, so an unknown one fails at once, naming the key
    and the id. ``fetch(id) -> Path`` defaults to :func:`genocore.manifests.fetch` (cache, mirrors,
    hash check).

    Raises
    ------
    KeyError
        An unknown manifest id (the known ones listed).
    """
    from genocore import manifests

    paths = {f.name for f in dataclasses.fields(cls) if f.metadata.get("path")}
    found = []  # (key, index or None, id)
    for key, value in values.items():
        items = (value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list)
                 else [(None, value)])
        for k, v in items:
            if isinstance(v, str) and v.startswith(MANIFEST_PREFIX):
                if key not in paths:
                    raise ValueError(f"{where}: {key} is not an input file; {v!r} cannot stand for it")
                found.append((key, k, v[len(MANIFEST_PREFIX):]))
    if not found:
        return values
    known = manifests.load_manifests()
    for key, _, ident in found:
        if ident not in known:
            raise KeyError(f"{where}: {key} names manifest {ident!r}, which does not exist; known: "
                           f"{', '.join(sorted(known))}")
    fetch = fetch or (lambda ident: manifests.fetch(ident, manifests=known))
    out = {k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v) for k, v in values.items()}
    for key, k, ident in found:
        path = str(fetch(ident))
        logger.info("%s: %s = manifest %s -> %s", where, key, ident, path)
        if k is None:
            out[key] = path
        else:
            out[key][k] = path
    return out


def load_config(cls, path):
    """A config from a JSON file: unknown keys, unknown manifest ids and missing input files fail here,
    before any work."""
    path = Path(path)
    try:
        values = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise FileNotFoundError(f"--config {path}: no such file") from err
    except json.JSONDecodeError as err:
        raise ValueError(f"--config {path}: not JSON ({err})") from err
    if not isinstance(values, dict):
        raise ValueError(f"--config {path}: a JSON object of keys is expected")
    cfgmod.check_keys(cls, values, where=str(path))
    values = resolve_manifests(cls, values, where=str(path))
    try:
        cfg = cfgmod.from_dict(cls, values, where=str(path))
    except TypeError as err:  # a required key left out
        raise KeyError(f"{path}: {err}") from err
    check_paths(cfg, where=str(path))
    return cfg


def get_parser(analysis: Analysis) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m analyses.{analysis.name}", description=analysis.description,
                                epilog=config_help(analysis.config), formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", type=Path, help="JSON file of the config keys below")
    src.add_argument("--demo", action="store_true", help="run on the simulated world (--world)")
    p.add_argument("--world", type=Path, default=Path("demo_output") / "world",
                   help="the simulated world for --demo (built there when absent; default demo_output/world)")
    p.add_argument("--out", type=Path, required=True, help="output folder (results, figures, report.md, "
                   "provenance.json)")
    p.add_argument("--force", action="store_true", help="replace an existing --out folder")
    p.add_argument("--resume", action="store_true", help="continue a killed run: its finished steps are kept in "
                   "OUT.parts (same config and inputs, checked)")
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def demo_world(world: Path, *, seed: int = 1) -> Path:
    """The simulated world at ``world``: used as it is when it holds one (any size), else built there
    (default size, ``seed``)."""
    from analyses.world import build_world, world_config

    if not (Path(world) / "provenance.json").exists():
        logger.info("building the simulated world at %s", world)
        build_world(world, seed=seed, cfg=world_config("default"))
    return Path(world)


def execute(analysis: Analysis, cfg, out, *, command=None, force: bool = False, resume: bool = False) -> dict:
    """Run an analysis and write its output folder with provenance; returns the written paths. A resumable
    analysis keeps its finished steps in ``<out>.parts`` until the output is written (``resume``: read back
    those of a killed run with the same config and inputs)."""
    from tqdm import tqdm

    bar = tqdm(desc=analysis.name, unit="step", disable=None)

    def progress(step: str) -> None:
        bar.set_postfix_str(step)
        bar.update()
        logger.info("%s: %s", analysis.name, step)

    parts = None
    if analysis.resumable:
        from genocore.resume import ResumeRoot, stamp_inputs

        settings = {"config": json.loads(json.dumps(cfgmod.to_dict(cfg), default=str)),
                    **stamp_inputs(input_paths(cfg))}
        parts = ResumeRoot(Path(str(out) + ".parts"), settings, resume=resume)
    try:
        result = analysis.run(cfg, progress, parts=parts) if parts is not None else analysis.run(cfg, progress)
    finally:
        bar.close()
    written = result.write(out, command=command, config=cfgmod.to_dict(cfg), inputs=input_paths(cfg),
                           overwrite=force)
    if parts is not None:
        parts.remove()
    return written


def main(analysis: Analysis, argv=None) -> int:
    """The command line of one analysis (``--config FILE`` or ``--demo``)."""
    args = get_parser(analysis).parse_args(argv)
    clilog.configure(args.verbose)
    command = ["python", "-m", f"analyses.{analysis.name}", *(sys.argv[1:] if argv is None else argv)]

    def runner(a):
        if a.out.exists() and not a.force:
            raise FileExistsError(f"--out {a.out} exists; remove it or pass --force")
        if a.config is not None:
            cfg = load_config(analysis.config, a.config)
        else:
            cfg = analysis.demo(demo_world(a.world), a.world.parent / "scores")
            check_paths(cfg, where="--demo")
        execute(analysis, cfg, a.out, command=command, force=a.force, resume=a.resume)
        logger.info("wrote %s", a.out)
        return 0

    return clilog.run_command(runner, args, verbosity=args.verbose)

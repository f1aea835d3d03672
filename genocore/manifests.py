"""Reference-data manifests (``data_manifests/*.json``) and fetching them into the suite's cache.

A manifest names one file of the field's reference data: every mirror known, its SHA-256 (or, where
only that is published, as Zenodo does, its MD5) and size where known (``"unknown"`` where not: never invented), genome build, license, citation and what uses
it. :func:`fetch` downloads it through pooch into ``<cache>/data/<id>/`` (the cache is
``$GENOSUITE_CACHE`` or ``~/.cache/genosuite``, or ``cache=``):

- mirrors are tried in the manifest's order; a dead one (HTTP error, refused connection, time-out)
  or a corrupted download (hash or size mismatch, which pooch checks) moves on to the next, and the
  error at the end names every mirror's failure;
- the bytes go to ``<name>.part`` first and a broken transfer is resumed from where it stopped (an
  HTTP ``Range`` request) by the next call; pooch then checks the hash and moves the file into place
  atomically, so a file under its final name is always complete and verified;
- a file already in the cache is checked (size, and hash when the manifest knows it) and returned.

Nothing is fetched at import time.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from genocore.files import cache_dir

logger = logging.getLogger(__name__)

__all__ = ["Manifest", "manifest_dir", "load_manifests", "fetch", "verify", "FetchError"]

#: Keys a manifest may hold besides the required ones (anything else is an error naming it).
_OPTIONAL = ("description", "filename", "build", "license", "citation", "source", "used_by", "notes", "gelu",
             "params", "targets")
_CHUNK = 1 << 16  # small reads: a broken transfer keeps all but its last chunk for the resume


class FetchError(RuntimeError):
    """Every mirror of a manifest failed; the message names each failure."""


@dataclass(frozen=True)
class Manifest:
    """One reference file: ``id``, ``urls`` (mirrors, in order), ``sha256`` and ``bytes`` (or
    ``"unknown"``), and descriptive fields."""

    id: str
    urls: tuple
    sha256: str = "unknown"
    bytes: int | str = "unknown"
    md5: str = "unknown"
    description: str = ""
    filename: str | None = None
    build: str | None = None
    license: str | None = None
    citation: str | None = None
    source: str | None = None
    used_by: tuple = ()
    notes: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def known_hash(self) -> str | None:
        """pooch's ``known_hash``: ``sha256:...``, else ``md5:...``, else None."""
        if self.sha256 != "unknown":
            return f"sha256:{self.sha256}"
        return None if self.md5 == "unknown" else f"md5:{self.md5}"

    @property
    def name(self) -> str:
        """The file's name in the cache (``filename``, else the first URL's last part)."""
        return self.filename or self.urls[0].rstrip("/").rsplit("/", 1)[-1]

    @classmethod
    def from_dict(cls, d: dict, *, where: str) -> "Manifest":
        unknown = sorted(set(d) - {"id", "urls", "sha256", "md5", "bytes"} - set(_OPTIONAL))
        if unknown:
            raise ValueError(f"{where}: unknown manifest key(s) {unknown}; known: id, urls, sha256, md5, bytes, "
                             f"{', '.join(_OPTIONAL)}")
        for k in ("id", "urls"):
            if k not in d:
                raise ValueError(f"{where}: a manifest needs {k!r}")
        if not isinstance(d["urls"], list) or not d["urls"]:
            raise ValueError(f"{where}: 'urls' must be a non-empty list of mirrors")
        sha, md5 = (_hex_or_unknown(d, key, n, where) for key, n in (("sha256", 64), ("md5", 32)))
        size = d.get("bytes", "unknown")
        if size != "unknown" and not (isinstance(size, int) and size > 0):
            raise ValueError(f"{where}: bytes must be a positive integer or 'unknown', not {size!r}")
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        kw.update(urls=tuple(d["urls"]), sha256=sha, md5=md5, used_by=tuple(d.get("used_by", ())),
                  extra={k: v for k, v in d.items() if k not in known})
        return cls(**kw)


def _hex_or_unknown(d: dict, key: str, n: int, where: str) -> str:
    value = str(d.get(key, "unknown")).lower()
    if value != "unknown" and (len(value) != n or any(c not in "0123456789abcdef" for c in value)):
        raise ValueError(f"{where}: {key} must be {n} hex digits or 'unknown', not {d[key]!r}")
    return value


def manifest_dir() -> Path:
    """``$GENOSUITE_MANIFESTS``, else the ``data_manifests`` folder of the source tree."""
    return Path(os.environ.get("GENOSUITE_MANIFESTS") or Path(__file__).resolve().parents[1] / "data_manifests")


def load_manifests(folder=None) -> dict:
    """Every manifest of ``folder`` (default :func:`manifest_dir`), by id; the id must be the file's stem."""
    folder = Path(folder) if folder is not None else manifest_dir()
    out = {}
    for path in sorted(folder.glob("*.json")):
        try:
            d = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from None
        m = Manifest.from_dict(d, where=str(path))
        if m.id != path.stem:
            raise ValueError(f"{path}: id {m.id!r} differs from the file name {path.stem!r}")
        out[m.id] = m
    return out


def _get(manifests, ident: str) -> Manifest:
    if ident not in manifests:
        raise KeyError(f"no manifest {ident!r}; known: {', '.join(sorted(manifests)) or '(none)'}")
    return manifests[ident]


def _resumable(part: Path, *, timeout: float):
    """A pooch downloader that keeps the bytes in ``part`` and resumes it with an HTTP Range request."""
    import requests

    def download(url, output_file, pooch_obj, check_only=False):
        done = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={done}-"} if done else {}
        with requests.get(url, headers=headers, stream=True, timeout=timeout) as r:
            if r.status_code == 416:  # nothing left to send: the part is already whole
                pass
            else:
                r.raise_for_status()
                if done and r.status_code != 206:  # the server ignored the range: start again
                    done = 0
                with open(part, "ab" if done else "wb") as fh:
                    for chunk in r.iter_content(_CHUNK):
                        fh.write(chunk)
        os.replace(part, output_file)  # pooch hashes output_file and moves it into place

    return download


def _check_size(path: Path, m: Manifest) -> None:
    if m.bytes != "unknown" and path.stat().st_size != m.bytes:
        raise ValueError(f"size {path.stat().st_size} bytes, the manifest says {m.bytes}")


def fetch(ident: str, *, cache=None, manifests: dict | None = None, timeout: float = 60.0) -> Path:
    """The local path of manifest ``ident``'s file, downloaded (and verified) if not yet in the cache.

    Parameters
    ----------
    ident : str
    cache : path-like, optional
        Cache folder (default :func:`genocore.files.cache_dir`).
    manifests : dict, optional
        :func:`load_manifests` output (default: the shipped manifests).
    timeout : float
        Seconds to wait for a mirror to answer.

    Raises
    ------
    KeyError
        An unknown id.
    FetchError
        Every mirror failed (each failure named); no file is left under the final name.
    """
    import pooch

    m = _get(manifests if manifests is not None else load_manifests(), ident)
    folder = Path(cache or cache_dir()) / "data" / m.id
    folder.mkdir(parents=True, exist_ok=True)
    target, part = folder / m.name, folder / (m.name + ".part")
    known = m.known_hash
    if target.exists():
        verify(ident, cache=cache, manifests={m.id: m})
        return target
    failures = []
    for url in m.urls:
        try:
            path = Path(pooch.retrieve(url, known_hash=known, fname=m.name, path=folder,
                                       downloader=_resumable(part, timeout=timeout)))
            _check_size(path, m)
        except Exception as e:  # noqa: BLE001 - each mirror's failure is reported, then the next is tried
            failures.append(f"{url}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            if isinstance(e, ValueError):  # corrupted: its bytes must not seed a resume from another mirror
                part.unlink(missing_ok=True)
                target.unlink(missing_ok=True)
            logger.warning("fetch %s: mirror failed: %s", m.id, failures[-1])
            continue
        if known is None:
            logger.warning("fetch %s: the manifest has no hash; this download's is %s (record it in %s.json "
                           "once the file is confirmed)", m.id, pooch.file_hash(str(path)), m.id)
        logger.info("fetched %s -> %s", m.id, path)
        return path
    raise FetchError(f"{m.id}: every mirror failed ({len(failures)}):\n  " + "\n  ".join(failures)
                     + (f"\n(a partial download is kept in {part} and resumed next time)" if part.exists() else ""))


def verify(ident: str, *, cache=None, manifests: dict | None = None) -> Path:
    """Check a cached file against its manifest (size; SHA-256, or MD5, when known); returns its path.

    Raises
    ------
    FileNotFoundError
        Not fetched yet.
    ValueError
        Size or hash differs (the file is left for the user to inspect).
    """
    import pooch

    m = _get(manifests if manifests is not None else load_manifests(), ident)
    path = Path(cache or cache_dir()) / "data" / m.id / m.name
    if not path.exists():
        raise FileNotFoundError(f"{m.id}: not in the cache ({path}); run 'genostats data fetch {m.id}'")
    try:
        _check_size(path, m)
    except ValueError as e:
        raise ValueError(f"{m.id}: {path}: {e}") from None
    if m.known_hash is not None:
        alg, want = m.known_hash.split(":")
        got = pooch.file_hash(str(path), alg=alg)
        if got != want:
            raise ValueError(f"{m.id}: {path} has {alg} {got}, the manifest says {want}")
    return path

"""``genostats data list | fetch ID | verify ID``: the reference-data manifests (:mod:`genocore.manifests`)."""
from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def _data(args) -> int:
    import sys

    from genocore import manifests as mf

    found = mf.load_manifests()
    if args.action == "list":
        for m in found.values():
            size = f"{m.bytes:,} bytes" if m.bytes != "unknown" else "size unknown"
            sys.stdout.write(f"{m.id}\t{m.build or '-'}\t{size}\t{(m.known_hash or 'hash unknown').split(':')[0]}"
                             f"\t{len(m.urls)} mirror(s)\t{m.description}\n")
        return 0
    if not args.ids:
        raise ValueError(f"genostats data {args.action} needs manifest ids (see 'genostats data list')")
    unknown = [i for i in args.ids if i not in found]
    if unknown:
        raise KeyError(f"no manifest {unknown}; known: {', '.join(sorted(found))}")
    for ident in args.ids:
        if args.action == "fetch":
            path = mf.fetch(ident, cache=args.cache, manifests=found, timeout=args.timeout)
        else:
            path = mf.verify(ident, cache=args.cache, manifests=found)
            logger.info("%s: %s matches its manifest", ident, path)
        sys.stdout.write(f"{ident}\t{path}\n")
    return 0


def add_data_parser(sub):
    """Register ``genostats data``; returns its parser."""
    p = sub.add_parser("data", help="reference data: list the manifests, fetch or verify files",
                       description="Reference data named by data_manifests/*.json: 'list' shows them, 'fetch ID...' "
                       "downloads into the cache (mirrors in order, hash checked, a broken download resumed), "
                       "'verify ID...' checks cached files against their manifests.")
    p.add_argument("action", choices=("list", "fetch", "verify"))
    p.add_argument("ids", nargs="*", help="manifest ids")
    p.add_argument("--cache", type=Path, help="cache folder (default $GENOSUITE_CACHE or ~/.cache/genosuite)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for a mirror (60)")
    p.set_defaults(runner=_data)
    return p

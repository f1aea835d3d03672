"""Check that the suite's pinned dependencies resolve on macOS arm64, from a Linux machine.

pip evaluates environment markers for the interpreter it runs on, so the requirements of setup.py and
the pins of constraints.txt are first evaluated for macOS arm64 here, then handed to
``pip install --dry-run --platform macosx_14_0_arm64 --only-binary=:all:``, which resolves against
PyPI's macOS wheels without installing anything. Packages published as source only (pyBigWig) cannot be
resolved that way; they are listed apart (on macOS pip builds them with Xcode's command-line tools).

Run: ``python validation/install_macos_arm64.py`` (needs the package index; about a minute).
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
MAC_ENV = {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64",
           "os_name": "posix", "python_version": "3.11", "python_full_version": "3.11.9",
           "implementation_name": "cpython", "platform_python_implementation": "CPython"}
SOURCE_ONLY = {"pybigwig"}


def install_requires() -> list[str]:
    """INSTALL_REQUIRES of setup.py, read without running it."""
    text = (ROOT / "setup.py").read_text()
    return ast.literal_eval(re.search(r"INSTALL_REQUIRES = (\[.*?\n\])", text, re.S).group(1))


def for_platform(lines: list[str], env: dict[str, str]) -> list[str]:
    """The requirement lines that apply on ``env``, markers removed."""
    kept = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(env):
            req.marker = None
            kept.append(str(req))
    return kept


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--platform", default="macosx_14_0_arm64")
    ap.add_argument("--python-version", default="3.11")
    args = ap.parse_args()
    reqs = for_platform(install_requires(), MAC_ENV)
    source_only = [r for r in reqs if Requirement(r).name.lower() in SOURCE_ONLY]
    wheels = [r for r in reqs if r not in source_only]
    pins = for_platform((ROOT / "constraints.txt").read_text().splitlines(), MAC_ENV)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "reqs.txt").write_text("\n".join(wheels) + "\n")
        (Path(tmp) / "pins.txt").write_text("\n".join(pins) + "\n")
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
               "--report", str(report), "--platform", args.platform, "--python-version", args.python_version,
               "--implementation", "cp", "--only-binary=:all:", "-c", str(Path(tmp) / "pins.txt"),
               "-r", str(Path(tmp) / "reqs.txt")]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            print(f"FAILED: the pinned requirements do not resolve on {args.platform}")
            return 1
        installs = json.loads(report.read_text())["install"]
    print(f"{args.platform}, Python {args.python_version}: {len(installs)} wheels resolve from the pins")
    for item in installs:
        name = item["metadata"]["name"]
        if name.lower().startswith(("tensorflow", "keras", "h5py", "msprime", "liftover")):
            print(f"  {item['download_info']['url'].rsplit('/', 1)[1]}")
    for req in source_only:
        print(f"  {req}: source distribution only, built by pip on macOS (Xcode command-line tools)")
    print("  the suite's own LD-score kernel (stats/ld/_bitplanes.c): compiled by pip on install (the same tools)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

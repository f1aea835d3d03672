"""Config files and runs the analysis-module tests share."""
from __future__ import annotations

import json
from pathlib import Path

from analyses.framework import main


def write_config(tmp_path: Path, name: str = "config.json", **values) -> Path:
    """A JSON config of ``values`` (paths written as strings) in ``tmp_path``."""
    path = Path(tmp_path) / name
    path.write_text(json.dumps({k: str(v) if hasattr(v, "__fspath__") else v for k, v in values.items()}))
    return path


def run_config(analysis, tmp: Path, cfg: dict) -> tuple[int, Path]:
    """Run ``analysis`` on the config ``cfg`` written into ``tmp``; its exit code and output folder."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "cfg.json").write_text(json.dumps(cfg))
    return main(analysis, ["--config", str(tmp / "cfg.json"), "--out", str(tmp / "out")]), tmp / "out"

"""One output convention for every command: a folder of tables, figures and ``provenance.json``.

A command's result is an :class:`OutputFolder`: named tables (DataFrames), texts (JSON, markdown) and
figures (functions that draw into a path). :meth:`OutputFolder.write` puts them all in a temporary
folder beside the target and renames it into place only once everything is written, with a
``provenance.json`` that records the SHA-256 of every file in it. A failure leaves nothing that looks
complete. Commands whose product is one standard file of the field (``sad.h5``, ``.l2.ldscore.gz``,
``.gwresults``) keep that file and write their provenance beside it (:func:`write_beside`).
"""
from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Callable

from genocore import provenance
from genocore.files import atomic_dir, write_table, write_text

logger = logging.getLogger(__name__)

PROVENANCE = "provenance.json"


@dataclasses.dataclass
class OutputFolder:
    """What a command writes: tables, texts and figures by file name.

    Attributes
    ----------
    tables : dict of str -> pandas.DataFrame
        Written as TSV (``.tsv``; gzipped for ``.tsv.gz``) with ``float_format``.
    texts : dict of str -> str
        Written as they are (JSON, markdown).
    figures : dict of str -> callable
        ``draw(path)`` writes a PNG at ``path``.
    float_format : str
        printf format of floats in the tables (``%.6g``: six significant digits).
    """

    tables: dict = dataclasses.field(default_factory=dict)
    texts: dict = dataclasses.field(default_factory=dict)
    figures: dict[str, Callable] = dataclasses.field(default_factory=dict)
    float_format: str = "%.6g"

    def add_json(self, name: str, value) -> None:
        """Add ``value`` as sorted, indented JSON (numpy scalars and arrays become numbers and lists)."""
        self.texts[name] = json.dumps(value, indent=2, sort_keys=True, default=provenance.json_default) + "\n"

    def write(self, out, *, command=None, config: dict | None = None, genome_build: str | None = None,
              inputs: dict | None = None, overwrite: bool = False) -> dict[str, Path]:
        """Write every item and ``provenance.json`` into the folder ``out``, atomically.

        Parameters
        ----------
        out : path
            The folder; an existing one is an error unless ``overwrite``.
        command, config, genome_build, inputs
            As in :func:`genocore.provenance.record`.
        overwrite : bool

        Returns
        -------
        dict of str -> Path
            Final path of every file written (provenance included), by file name.
        """
        out = Path(out)
        names = [*self.tables, *self.texts, *self.figures]
        if len(set(names)) != len(names) or PROVENANCE in names:
            raise ValueError(f"output names must be unique and not {PROVENANCE!r}: {names}")
        with atomic_dir(out, overwrite=overwrite) as tmp:
            for name, df in self.tables.items():
                write_table(tmp / name, df, float_format=self.float_format)
            for name, text in self.texts.items():
                write_text(tmp / name, text)
            for name, draw in self.figures.items():
                draw(tmp / name)
            written = {name: tmp / name for name in names}
            provenance.write(tmp / PROVENANCE, provenance.record(
                command=command, config=config, genome_build=genome_build, inputs=inputs, outputs=written,
                root=tmp))
        logger.info("wrote %s (%d files and %s)", out, len(names), PROVENANCE)
        return {name: out / name for name in [*names, PROVENANCE]}


def write_beside(product, *, command=None, config: dict | None = None, genome_build: str | None = None,
                 inputs: dict | None = None, outputs: dict | None = None, extra: dict | None = None) -> Path:
    """Provenance of a command whose product is one standard file: ``<product>.provenance.json``.

    ``outputs`` defaults to the product itself.
    """
    product = Path(product)
    rec = provenance.record(command=command, config=config, genome_build=genome_build, inputs=inputs,
                            outputs=outputs or {product.name: product}, extra=extra)
    return provenance.write(Path(str(product) + ".provenance.json"), rec)

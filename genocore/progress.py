"""A command-line progress bar fed by the callbacks library functions take.

Library functions report progress as ``progress(done, total[, status])`` and never draw; the
command-line front ends pass a :class:`ProgressBar`, which draws with tqdm (on a terminal only).
"""
from __future__ import annotations

__all__ = ["ProgressBar"]


class ProgressBar:
    """A tqdm bar fed by ``progress(done, total[, status])`` callbacks; a count that falls back restarts
    it (a new stage), and ``status`` is shown beside it."""

    def __init__(self, unit: str):
        self.unit, self.bar = unit, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()

    def __call__(self, done: int, total: int | None, status: str | None = None):
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, unit=self.unit, disable=None)
        elif done < self.bar.n:
            self.bar.reset(total=total)
        self.bar.n = done
        self.bar.set_postfix_str(status or "", refresh=False)
        self.bar.refresh()

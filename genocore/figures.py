"""PNG figures without global matplotlib state: build a ``matplotlib.figure.Figure``, save it here."""
from __future__ import annotations

from pathlib import Path

from genocore.files import atomic_path


def save_png(fig, path, *, dpi: int = 100) -> Path:
    """Render ``fig`` with the Agg canvas and write it atomically; no date or software metadata, so the
    same figure gives the same bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path = Path(path)
    FigureCanvasAgg(fig)
    with atomic_path(path) as tmp:
        # the temporary name ends in .tmp, so the format is named explicitly
        fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})
    return path

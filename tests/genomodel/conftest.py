"""The helpers beside these tests (tiny genome, tiny model) import from every sub-folder."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

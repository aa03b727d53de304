"""The progress bar of the library: tqdm's notebook widget where ipywidgets is installed, else
tqdm's plain text bar (``tqdm.auto`` would fall back to the same bar, but only after printing
"TqdmWarning: IProgress not found" into every executed notebook)."""
from __future__ import annotations

import importlib.util

if importlib.util.find_spec("ipywidgets") is not None:
    from tqdm.auto import tqdm
else:
    from tqdm.std import tqdm

__all__ = ["tqdm"]

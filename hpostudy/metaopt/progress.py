"""The library's progress bar, :data:`hpostudy.progress.tqdm`, where the modules of this
package find it: :func:`~hpostudy.metaopt.black_box_search` imports it as
``from .progress import tqdm``, the statement it has had since it lived in the module
``hpostudy.metaopt`` (results are keyed by the tokens of the code, so the statement is kept)."""
from __future__ import annotations

from ..progress import tqdm

__all__ = ["tqdm"]

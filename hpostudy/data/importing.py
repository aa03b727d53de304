"""The resolver of ``"module:function"`` names, :func:`hpostudy.importing.resolve`, where the
modules of this package find it: :func:`~hpostudy.data.load_table` imports it as
``from .importing import resolve``, the statement it has had since it lived in the module
``hpostudy.data`` (results are keyed by the tokens of the code, so the statement is kept)."""
from __future__ import annotations

from ..importing import resolve

__all__ = ["resolve"]

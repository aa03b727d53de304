"""Importable names: ``"package.module:attribute"`` strings that point at a user's model or
dataset builder, so that a notebook's parameters (plain literals) can name code."""
from __future__ import annotations

import contextlib
import sys
from importlib import import_module, invalidate_caches
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent  # the hpostudy package this process runs


def resolve(spec: str, what: str = "object"):
    """The object named by ``"package.module:attribute"`` (attribute may be dotted)."""
    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError(f"{what} '{spec}' is not an importable name: write it as "
                         "'package.module:attribute'")
    module_name, attribute = spec.split(":", 1)
    try:
        obj = import_module(module_name)
    except ImportError as err:
        raise ValueError(f"{what} '{spec}': cannot import module '{module_name}' ({err}); put "
                         "its package beside the notebook (hpostudy run imports from the "
                         "notebook's folder), install it, or add its folder to PYTHONPATH") \
            from err
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"{what} '{spec}': module '{module_name}' has no "
                             f"'{attribute}'") from None
    if not callable(obj):
        raise ValueError(f"{what} '{spec}' is not callable")
    return obj


@contextlib.contextmanager
def importable_from(*folders: Path):
    """Import with ``folders`` first on ``sys.path`` (as a notebook's kernel run by hpostudy
    does: its own folder is on its path), restored afterwards."""
    added = [str(Path(f).resolve()) for f in folders]
    sys.path[:0] = added
    invalidate_caches()
    try:
        yield
    finally:
        for entry in added:
            if entry in sys.path:
                sys.path.remove(entry)


def shadowing(folders) -> str | None:
    """The message for a folder or module named ``hpostudy`` in one of ``folders`` (on a
    kernel's import path) that is not the package this process runs, or None. Such a folder --
    typically a checkout of the project -- would be imported as ``hpostudy`` instead of the
    installed package and fail with a misleading error ("No module named
    'hpostudy.experiments'")."""
    for folder in folders:
        folder = Path(folder).resolve()
        for candidate in (folder / "hpostudy", folder / "hpostudy.py"):
            if candidate.exists() and candidate.resolve() != PACKAGE:
                return (f"{candidate} would shadow the hpostudy package: the notebook's kernel "
                        f"imports from {folder}, and there it finds that "
                        f"{'folder' if candidate.is_dir() else 'file'} instead of the "
                        f"installed package ({PACKAGE}). Rename it (a checkout as "
                        f"hpostudy-src, say), or keep the notebook and the command's working "
                        f"folder elsewhere")
    return None

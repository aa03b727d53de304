"""Each notebook's ``parameters`` cell, written from its experiment's configuration.

A knob is declared once, as a field of the experiment's
:class:`~hpostudy.study.config.ExperimentConfig` subclass: its name, type, comment and values
per profile. The notebook's ``parameters`` cell is papermill's view of the same knobs, so
``hpostudy cells`` writes it from that declaration (``hpostudy cells --check`` only says which
cells differ, and a test fails on any). Every knob becomes one line that papermill's Python
translator reads, so ``papermill NOTEBOOK.ipynb --help-notebook`` shows its type, its default
and the field's comment::

    profile: str = "smoke"  # smoke | cpu | paper; a knob left at None takes its value
    seeds: "Optional[int]" = None  # number of seeds (claims about outcomes need at least 3)

Every knob but ``profile`` defaults to None, which :meth:`ExperimentConfig.for_profile` reads
as the profile's value; the type says so (``Optional``). papermill reads an annotation made of
names, brackets and commas only, and skips a line holding two ``=``: a union is written
``Optional[...]``, a sequence ``list[...]`` (what ``-p``/``-y`` pass; the configuration keeps
a tuple), the annotation is quoted (the kernel executes the line without importing
``typing``), and a comment may not contain ``=``.

Only the ``parameters`` cell is rewritten: the file is read again right before it is written
(atomically), so edits of its other cells made meanwhile are kept.
"""
from __future__ import annotations

import os
import re
import tempfile
import types
import typing
from pathlib import Path

from . import notebooks as nbs

# the line that opens a jupytext percent cell tagged "parameters", and any cell's opening line
_PARAMETERS = re.compile(r'^# %%.*\btags\s*=\s*\[[^\]]*["\']parameters["\']')
_CELL = re.compile(r"^# %%")
_SCALARS = (int, float, str, bool)


class CellError(ValueError):
    """A knob that cannot be written as a line papermill reads (the message says the fix)."""


def annotation(config, name: str, hint) -> str:
    """The type of knob ``name`` as papermill parses it: ``str`` for ``profile``, else
    ``"Optional[T]"`` with ``T`` a scalar type or ``list[scalar]``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = args[0] if len(args) == 1 else hint
    origin = typing.get_origin(hint)
    if origin in (tuple, list):
        element = (typing.get_args(hint) or (None,))[0]
        text = f"list[{element.__name__}]" if element in _SCALARS else None
    else:
        text = hint.__name__ if hint in _SCALARS else None
    if text is None:
        raise CellError(f"knob '{name}' of {config.__module__}.{config.__qualname__} has type "
                        f"{hint}: a parameters cell holds scalars (int, float, str, bool) and "
                        "sequences of them")
    return text if name == "profile" else f'"Optional[{text}]"'


def cell_lines(config, where: str | None = None) -> list[str]:
    """The parameters cell of ``config``'s notebook: a comment naming the declaration, then
    one line per knob in the configuration's order (``profile`` first)."""
    where = where or f"{config.__module__}.{config.__qualname__}"
    comments = config.comments()
    lines = [f"# Written by `hpostudy cells` from {where}: edit the knobs there."]
    for name, hint in config.knobs().items():
        comment = comments.get(name)
        if not comment:
            raise CellError(f"knob '{name}' of {where} has no comment: write one after its "
                            "declaration (it is the knob's help in the notebook and in "
                            "`papermill --help-notebook`)")
        if "=" in comment:
            raise CellError(f"the comment of knob '{name}' of {where} contains '=', which "
                            f"makes papermill skip the knob's line: reword it ({comment!r})")
        if name == "profile":
            default = repr(config.__dataclass_fields__[name].default).replace("'", '"')
            comment += "; a knob left at None takes its value"
        else:
            default = "None"
        lines.append(f"{name}: {annotation(config, name, hint)} = {default}  # {comment}")
    return lines


def splice(text: str, cell: list[str], where: str = "notebook") -> str:
    """``text`` (a jupytext percent notebook) with the body of its one ``parameters`` cell
    replaced by ``cell``; every other line, and the blank lines closing the cell, kept."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _PARAMETERS.match(line)]
    if len(starts) != 1:
        raise nbs.NotebookError(f"{where}: needs exactly one cell tagged 'parameters' (found "
                                f"{len(starts)})")
    start = starts[0] + 1
    end = next((i for i in range(start, len(lines)) if _CELL.match(lines[i])), len(lines))
    blank = end
    while blank > start and not lines[blank - 1].strip():
        blank -= 1
    newline = "\r\n" if lines[starts[0]].endswith("\r\n") else "\n"
    body = [line + newline for line in cell]
    return "".join(lines[:start] + body + lines[blank:])


def expected(path: Path) -> str:
    """The text of the notebook at ``path`` with its parameters cell as the command writes
    it (the text as it is for a notebook without a configuration)."""
    nb = nbs.read(path)
    text = Path(path).read_text()
    if nb.config is None:
        return text
    return splice(text, cell_lines(nb.config, f"{nb.experiment}.Config"), Path(path).name)


def write(path: Path) -> bool:
    """Rewrite the parameters cell of the notebook at ``path`` from its configuration; True
    if it changed. The configuration is read first, the file right before it is replaced."""
    path = Path(path)
    nb = nbs.read(path)
    if nb.config is None:
        return False
    cell = cell_lines(nb.config, f"{nb.experiment}.Config")
    text = path.read_text()
    new = splice(text, cell, path.name)
    if new == text:
        return False
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", newline="") as out:
            out.write(new)
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def stale(paths: list[Path]) -> list[Path]:
    """The notebooks among ``paths`` whose parameters cell differs from what :func:`write`
    would write."""
    return [p for p in paths if expected(p) != Path(p).read_text()]

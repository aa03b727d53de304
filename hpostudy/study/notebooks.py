"""The study's notebooks, found on disk: no list to keep by hand.

A notebook is a jupytext percent-format ``.py`` file with exactly one cell tagged
``parameters``. The study's own notebooks are the files of ``notebooks/``; a user's copy
anywhere else runs the same way (``hpostudy run path/to/copy.py``). Optional metadata in the
notebook's header tells the CLI more::

    # ---
    # jupyter:
    #   kernelspec: {display_name: Python 3, language: python, name: python3}
    #   hpostudy:
    #     chapter: drmad_quality                          # the book chapter showing it
    #     experiment: hpostudy.experiments.drmad_quality  # module with its Config
    # ---

With ``experiment`` the CLI validates ``-p`` parameters against that configuration before any
notebook starts; without it the notebook validates them itself when it runs.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


class NotebookError(ValueError):
    """A notebook file cannot be used as it is (the message names it and the fix)."""


@dataclass(frozen=True)
class Notebook:
    """One notebook of the study as found on disk: its path, name, title, chapter, the
    experiment whose ``Config`` it runs and the parameters of its parameters cell.
    """
    path: Path
    name: str
    title: str
    chapter: str | None
    experiment: str | None  # importable module holding ``Config``
    parameters: dict = field(default_factory=dict)  # name -> (default, comment)

    @property
    def config(self):
        """The experiment's configuration class, or None for a notebook without one."""
        if not self.experiment:
            return None
        try:
            return import_module(self.experiment).Config
        except (ImportError, AttributeError) as err:
            raise NotebookError(f"{self.path.name}: its metadata names experiment "
                                f"'{self.experiment}', which has no Config ({err})") from err


def read(path: Path) -> Notebook:
    """The notebook at ``path`` with its metadata and parameters (clear errors if malformed)."""
    import jupytext

    path = Path(path)
    if not path.exists():
        raise NotebookError(f"no notebook at {path}")
    if path.suffix != ".py":
        raise NotebookError(f"{path}: hpostudy runs jupytext percent-format .py notebooks "
                            "(convert with `jupytext --to py:percent`)")
    try:
        nb = jupytext.read(path)
    except Exception as err:
        raise NotebookError(f"{path}: jupytext cannot read it ({err})") from err
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise NotebookError(f"{path.name}: needs exactly one cell tagged 'parameters' "
                            f"(found {len(cells)}); mark it with `# %% tags=[\"parameters\"]`")
    parameters = parse_parameters(cells[0].source, path.name)
    meta = nb.metadata.get("hpostudy", {}) or {}
    title = next((line.lstrip("# ").strip() for c in nb.cells if c.cell_type == "markdown"
                  for line in c.source.splitlines() if line.startswith("# ")), path.stem)
    return Notebook(path, path.stem, title, meta.get("chapter"), meta.get("experiment"),
                    parameters)


def parse_parameters(source: str, where: str = "notebook") -> dict:
    """``name -> (default, comment)`` of a parameters cell: assignments of literals to names,
    plain (``seeds = 3``) or annotated (``seeds: "Optional[int]" = None``, as
    :mod:`hpostudy.study.cells` writes them)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise NotebookError(f"{where}: the parameters cell has a syntax error at line "
                            f"{err.lineno}: {err.msg}; fix that line") from err
    lines = source.splitlines()
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        else:
            target = node.target if isinstance(node, ast.AnnAssign) and node.value else None
        if not isinstance(target, ast.Name):
            raise NotebookError(f"{where}: the parameters cell may only assign values to names "
                                f"(line {node.lineno})")
        try:
            value = ast.literal_eval(node.value)
        except ValueError as err:
            raise NotebookError(f"{where}: parameter '{target.id}' must be a literal "
                                f"(line {node.lineno})") from err
        comment = re.search(r"#\s*(.*)$", lines[node.end_lineno - 1])
        out[target.id] = (value, comment.group(1).strip() if comment else "")
    return out


def notebook_dir(root: Path) -> Path:
    """The folder holding the study's notebooks.

    Args:
        root: the checkout's root.

    Returns:
        Path: ``root/notebooks``.
    """
    return Path(root) / "notebooks"


def discover(root: Path) -> dict[str, Notebook]:
    """The study's notebooks (``root/notebooks/*.py``) by name."""
    return {p.stem: read(p) for p in sorted(notebook_dir(root).glob("*.py"))}


def _own_name(nb: Notebook, root: Path, study: set[str]) -> Notebook:
    """``nb`` under a name of its own if it is a copy outside ``notebooks/`` named like a study
    notebook (``<name>-<digest of its path>``): its results then never land in, or replace,
    that chapter's folder."""
    import dataclasses
    import hashlib

    if nb.path.resolve().parent == notebook_dir(root).resolve() or nb.name not in study:
        return nb
    tag = hashlib.sha256(str(nb.path.resolve()).encode()).hexdigest()[:8]
    return dataclasses.replace(nb, name=f"{nb.name}-{tag}")


def resolve(selection: list[str] | None, root: Path) -> list[Notebook]:
    """Notebooks by name (from ``notebooks/``) or by path; all of the study's when empty."""
    if not selection:
        return list(discover(root).values())
    found = []
    study = {p.stem for p in notebook_dir(root).glob("*.py")}
    for item in selection:
        path = Path(item)
        if item.endswith(".py") or path.exists():
            found.append(_own_name(read(path), root, study))
            continue
        candidate = notebook_dir(root) / f"{item}.py"
        if not candidate.exists():
            names = ", ".join(sorted(p.stem for p in notebook_dir(root).glob("*.py")))
            raise NotebookError(f"unknown notebook '{item}': give a path to a .py notebook or "
                                f"one of {names} (see `hpostudy list`)")
        found.append(read(candidate))
    names = [nb.name for nb in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise NotebookError(f"two notebooks are named {twice}: their results would share a "
                            "folder; rename one")
    return found

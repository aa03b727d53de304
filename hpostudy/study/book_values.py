"""The numbers chapter prose quotes from recorded runs, found where the runs are made.

A chapter page writes ``{{ name }}`` (a MyST substitution) where its prose quotes an outcome of
a recorded run; the book's Sphinx extension (``book/_ext/hpostudy_book.py``) fills in
:func:`substitutions` when the book is built. The values are declared next to the code whose
tables they read, in a cell tagged ``book-values`` (cell metadata of a jupytext percent-format
file): a study notebook declares the numbers quoted from its own recorded run, a benchmark
script of ``bench/`` those quoted from its tables. Each value is a function of one table,
decorated with :func:`recorded` (a table of the notebook's run recorded under
``book/recorded/<profile>/<notebook>/``) or :func:`project_file` (a file of the checkout); its
docstring names the columns and what is computed. No list of notebooks or values is kept
here: adding a notebook that quotes numbers touches only that notebook, its experiment and its
chapter page. So the prose says what the files say, re-recorded runs included. A value whose
file is missing reads :data:`NOT_RECORDED` on the page instead of stopping the build.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from ..verdicts import fmt

NOT_RECORDED = "(not recorded)"
TAG = "book-values"  # the tag of the cells that declare book values
SOURCES = ("notebooks", "bench")  # folders of the checkout whose .py files may declare them
BOOK_PROFILE = "cpu"  # the recorded runs the chapters quote unless a value names another
CHECKOUT = Path(__file__).resolve().parents[2]  # where the declaring files are by default


def number(x: float) -> str:
    """``x`` for prose: three significant digits (:func:`hpostudy.verdicts.fmt`), thousands
    separated (``2000.0`` -> ``2,000``)."""
    text = fmt(x)
    return f"{int(text):,}" if text.lstrip("-").isdigit() else text


def percent(x: float) -> str:
    """A fraction as a percentage (``0.4186`` -> ``41.9%``)."""
    return f"{number(100 * x)}%"


def signed(x: float) -> str:
    """``x`` with its sign, also when positive (``0.711`` -> ``+0.711``)."""
    return f"+{number(x)}" if x > 0 else number(x)


def cell(table: pd.DataFrame, column: str, **where) -> float:
    """``column`` of the one row of ``table`` whose columns equal ``where`` (e.g. the row of a
    method at a horizon ``T`` of a benchmark table); ValueError unless exactly one row does."""
    rows = table
    for key, value in where.items():
        rows = rows[rows[key] == value]
    if len(rows) != 1:
        raise ValueError(f"{len(rows)} rows of {where} in the table, not 1")
    return float(rows[column].iloc[0])


@dataclass(frozen=True)
class BookValue:
    """A number the prose quotes: ``compute`` reads the table ``file`` (relative to the book's
    folder) and returns the number, ``show`` writes it for reading."""
    file: str
    compute: Callable[[pd.DataFrame], float]
    show: Callable[[float], str] = number

    def render(self, book_dir: Path) -> str:
        """The value as the page shows it, or :data:`NOT_RECORDED` without its file."""
        path = Path(book_dir) / self.file
        if not path.exists():
            return NOT_RECORDED
        try:
            return self.show(self.compute(pd.read_csv(path)))
        except Exception as err:  # whatever the file holds instead of the recorded table
            raise ValueError(f"{path}: the book value '{self.compute.__name__}' cannot be "
                             f"computed from it ({type(err).__name__}: {err}); the file is not "
                             "the table its run recorded (a renamed column, a non-number): "
                             "record the run again (`hpostudy record`) or restore the file "
                             "from git") from err


def recorded(file: str, show: Callable[[float], str] = number, profile: str = BOOK_PROFILE):
    """Declare the decorated function a book value named like the function, computed from the
    table ``file`` of the declaring notebook's run recorded with ``profile``
    (``book/recorded/<profile>/<notebook>/<file>``)."""
    def declare(compute):
        compute.book_value = (f"recorded/{profile}/{{notebook}}/{file}", show)
        return compute
    return declare


def project_file(path: str, show: Callable[[float], str] = number):
    """Declare the decorated function a book value named like the function, computed from the
    table at ``path`` relative to the checkout (a benchmark table, ``bench/results/...``)."""
    def declare(compute):
        compute.book_value = (f"../{path}", show)
        return compute
    return declare


def declared(path: Path) -> dict[str, BookValue]:
    """The book values declared by the cells tagged :data:`TAG` of the percent-format file at
    ``path`` (a notebook is named by its file's stem), by name. Only those cells run, in a
    namespace of their own: they import what they use."""
    import jupytext

    path = Path(path)
    if TAG not in path.read_text():
        return {}
    namespace: dict = {"__name__": f"book_values:{path.stem}"}
    for c in jupytext.read(path, fmt="py:percent").cells:
        if TAG in c.metadata.get("tags", []):
            exec(compile(c.source, str(path), "exec"), namespace)
    values = {}
    for name, compute in namespace.items():
        declaration = getattr(compute, "book_value", None)
        if callable(compute) and declaration:
            file, show = declaration
            values[name] = BookValue(file.format(notebook=path.stem), compute, show)
    return values


def values(root: Path | None = None) -> dict[str, BookValue]:
    """Every book value declared in the checkout ``root`` (default: the one holding this
    package, whatever the working folder), by name; ValueError when two files declare the same
    name."""
    root = Path(root or CHECKOUT)
    found: dict[str, BookValue] = {}
    where: dict[str, Path] = {}
    for path in sorted(p for folder in SOURCES for p in (root / folder).glob("*.py")):
        for name, value in declared(path).items():
            if name in found:
                raise ValueError(f"the book value '{name}' is declared twice, in {where[name]} "
                                 f"and in {path}: rename one")
            found[name], where[name] = value, path
    return found


def substitutions(book_dir: Path, root: Path | None = None) -> dict[str, str]:
    """Every book value by name, as its page shows it from the files under ``book_dir`` (the
    MyST substitutions of the book); the declarations are read from the checkout ``root``."""
    return {name: value.render(book_dir) for name, value in values(root).items()}

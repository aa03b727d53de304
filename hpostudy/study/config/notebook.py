"""What a notebook's setup needs of its configuration: which names of its namespace are
parameters, its tables shown whole, and a bad parameter shown as one line in a kernel.
"""
from __future__ import annotations

from .checks import ParameterError

# names IPython puts into a notebook's namespace; everything else public is a parameter
_KERNEL_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}


def readable_tables() -> None:
    """Tables a notebook cell shows are shown whole: pandas cuts neither a cell's text (a
    finding, a rule) with "..." nor columns or rows of the study's small tables. Called by
    :meth:`~hpostudy.study.config.ExperimentConfig.from_notebook`, the setup every notebook runs."""
    import pandas as pd

    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.max_columns", None)
    pd.set_option("display.max_rows", 500)
    pd.set_option("display.width", None)


def _one_line_in_kernel() -> bool:
    """In a Jupyter kernel (papermill's included), show a :class:`ParameterError` as its one
    line ``ParameterError: message`` instead of a traceback through the library; True there."""
    import sys

    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False

    def one_line(self, etype, value, tb, tb_offset=None):
        stb = [f"{etype.__name__}: {value}"]
        self._showtraceback(etype, value, stb)  # what IPython's own traceback display calls
        return stb

    shell.set_custom_exc((ParameterError,), one_line)
    return True

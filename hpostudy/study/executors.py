"""Where the units of work of a run are computed.

:meth:`hpostudy.study.run.Run.map` hands the units that are not cached yet to the current
executor. The default, :class:`LocalExecutor`, computes them one after another in this process
with a progress bar. ``HPOSTUDY_EXECUTOR`` selects another one (``hpostudy run --executor``
sets it for the notebooks it starts).
"""
from __future__ import annotations

import os
from typing import Callable, Sequence


class LocalExecutor:
    """One unit after another, in this process."""

    name = "local"

    def map(self, function: Callable, items: Sequence, checkpoints: Sequence,
            desc: str | None = None, total: int | None = None, done: int = 0) -> list:
        from tqdm.auto import tqdm

        results = []
        show = desc is not None and (total or len(items)) > 1
        with tqdm(total=total or len(items), initial=done, desc=desc, unit="unit",
                  disable=not show) as bar:
            for item, checkpoint in zip(items, checkpoints):
                results.append(function(item, checkpoint))
                bar.update(1)
        return results


EXECUTORS: dict[str, Callable[[], object]] = {"local": LocalExecutor}


def current_executor():
    """The executor named by ``HPOSTUDY_EXECUTOR`` (default ``local``)."""
    name = os.environ.get("HPOSTUDY_EXECUTOR", "local")
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor '{name}' (HPOSTUDY_EXECUTOR): choose one of "
                         f"{', '.join(EXECUTORS)}")
    return EXECUTORS[name]()

"""The results store: every result and checkpoint keyed by what produced it.

A result of the study is a function of its *settings* (an experiment's full configuration) and
of the *library code* that computed it. :func:`settings_key` hashes both, so a changed seed,
setting or library fix never picks up an old result: it starts afresh, and a rerun with the same
settings and code resumes its own earlier run.

*Which* code: an experiment's results are keyed by :func:`dependency_digest` of its module, the
sources of the modules it imports, transitively, within the package (read with :mod:`ast`,
relative imports resolved, the ``__init__`` of every package on the way included), less the
presentation and orchestration modules of ``PRESENTATION``. Editing a figure, a message in the
study layer or another chapter's experiment keeps a run's key; editing anything the experiment
can execute while it computes -- a hypergradient method, a model, its settings module or the
experiment module itself -- changes it. We chose this over an explicit version number that a
numerical change must bump: a forgotten bump silently mixes results of two codes, and a test
that catches it must itself know which modules are numerical -- exactly the import graph, which
the digest reads directly. The digest reads what the code computes (:func:`code_statements`):
documenting, commenting or reformatting a module, or moving a definition to another module of
the package, keeps every key, so a long run survives a refactoring; any other edit of an
imported module starts its experiments afresh, while an edit elsewhere never does (an experiment
module's own comparison code counts as imported: presentation that should not restart runs
belongs in ``figures/`` or ``verdicts.py``). Code an experiment reaches without an import
statement (a model named by a ``"module:Class"`` string, or defined in a notebook) enters the
key through the run's ``extra`` settings instead. A configuration defined outside the package
is keyed by the package modules its file imports (:func:`experiment_digest`).

This package is the bottom layer of the study (it imports nothing from the rest of the
library): the experiments, the STN trainer and the outer loop all checkpoint through
:class:`Checkpoint`, and every file is written atomically (a killed run never leaves half a
file). :class:`RunMarker` marks an output folder as *being written*: it doubles as a lock
(a second run into the same folder is refused, naming the first) and as the "incomplete" flag
(a run that failed or was killed is never mistaken for a finished one).

Its modules, one idea each, bottom first: :mod:`.errors`; :mod:`.files` (atomic files,
checkpoints, digests, staged copies); :mod:`.keys` (settings keys and code digests);
:mod:`.markers` (the run marker); :mod:`.meta` (a finished run's sealed ``meta.json`` and the
state of a folder); :mod:`.publishing` (files listed in a run's ``meta.json`` as they are
written). Every public name is available here, as ``hpostudy.store.<name>``; to replace one in
a test, patch it in the module that looks it up (``store.keys._read_source``, say).
"""
from __future__ import annotations

from .errors import CheckpointCorrupt, FolderBusy, StoreError
from .files import (Checkpoint, atomic_write, digest, file_digest, stage_files, swap_in,
                    write_json, write_table)
from .keys import (PACKAGE_DIR, PRESENTATION, code_digest, code_statements, dependencies,
                   dependency_digest, experiment_digest, settings_key)
from .markers import (DRAWING, MARKER, MARKER_GRACE, MARKER_HEARTBEAT, RunMarker, marker_alive,
                      process_alive, process_start)
from .meta import folder_state, incomplete_reason, missing_files, read_meta, seal, write_meta
from .publishing import (close_run, drawing_folders, end_drawing, keep_drawing, notebook_ended,
                         open_run, publish)

__all__ = [
    "CheckpointCorrupt", "FolderBusy", "StoreError",
    "Checkpoint", "atomic_write", "digest", "file_digest", "stage_files", "swap_in",
    "write_json", "write_table",
    "PACKAGE_DIR", "PRESENTATION", "code_digest", "code_statements", "dependencies",
    "dependency_digest", "experiment_digest", "settings_key",
    "DRAWING", "MARKER", "MARKER_GRACE", "MARKER_HEARTBEAT", "RunMarker", "marker_alive",
    "process_alive", "process_start",
    "folder_state", "incomplete_reason", "missing_files", "read_meta", "seal", "write_meta",
    "close_run", "drawing_folders", "end_drawing", "keep_drawing", "notebook_ended", "open_run",
    "publish",
]

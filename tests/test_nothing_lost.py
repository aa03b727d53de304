"""Issue 21, nothing lost: user files are never moved or changed by ``--storage``; a folder is
complete only when every file it lists exists with its recorded digest; recording is staged,
verified and swapped; tests build the book in temporary folders; runs end cleanly."""
from __future__ import annotations

import os
from pathlib import Path

import optuna
import pytest

from hpostudy import metaopt
from hpostudy.metaopt import SearchStorageError, black_box_search

from .tiny_project import TINY_NOTEBOOK, tiny_project

ROOT = Path(__file__).resolve().parents[1]
SPACE = {"x": (-1.0, 1.0)}


def bowl(params: dict) -> float:
    return params["x"] ** 2


def _tree(folder: Path) -> dict:
    """Every file under ``folder`` with its bytes (what must not change)."""
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# ------------------------------------------------------------------ --storage: user data untouched
@pytest.mark.parametrize("make, url", [
    (lambda d: (d / "mine").mkdir(), "sqlite:///{d}/mine"),
    (lambda d: (d / "mine").mkdir(), "sqlite:///{d}/mine/"),
    (lambda d: (d / "results.csv").write_text("a,b\n1,2\n"), "sqlite:///{d}/results.csv"),
    (lambda d: (d / "notes.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 200),
     "sqlite:///{d}/notes.db"),
])
def test_storage_never_moves_or_changes_a_file_or_folder_it_did_not_create(tmp_path, make, url):
    make(tmp_path)
    before = _tree(tmp_path), sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(SearchStorageError, match="left untouched.*search.db"):
        black_box_search(bowl, SPACE, "random", 2, storage=url.format(d=tmp_path))
    assert (_tree(tmp_path), sorted(p.name for p in tmp_path.iterdir())) == before


def test_storage_leaves_someone_elses_sqlite_database_as_it_is(tmp_path):
    import sqlite3

    db = tmp_path / "mine.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("create table notes (text)")
    before = db.read_bytes()
    with pytest.raises(SearchStorageError, match="not an Optuna search database"):
        metaopt.check_search_storage(f"sqlite:///{db}")
    assert db.read_bytes() == before


def test_storage_in_a_missing_folder_names_it(tmp_path):
    with pytest.raises(SearchStorageError, match="create the folder"):
        metaopt.check_search_storage(f"sqlite:///{tmp_path / 'no' / 'search.db'}")
    assert not (tmp_path / "no").exists()


def _broken_optuna_database(path: Path) -> None:
    """A real Optuna database whose first page (the root of SQLite's schema table) is
    overwritten after the 100-byte header: SQLite cannot read it, its schema text remains."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(storage=f"sqlite:///{path}", study_name="s")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    data = path.read_bytes()
    page = int.from_bytes(data[16:18], "big")
    path.write_bytes(data[:100] + b"\xff" * (page - 100) + data[page:])


def test_only_an_unreadable_optuna_database_is_moved_aside(tmp_path):
    db = tmp_path / "search.db"
    _broken_optuna_database(db)
    assert metaopt.is_optuna_database(db)
    with pytest.raises(SearchStorageError, match=r"search\.db is unreadable.*moved to "
                                                 r"search\.db\.corrupt-.*afresh"):
        black_box_search(bowl, SPACE, "random", 2, storage=f"sqlite:///{db}")
    assert len(list(tmp_path.glob("search.db.corrupt-*"))) == 1
    assert len(black_box_search(bowl, SPACE, "random", 2, storage=f"sqlite:///{db}")) == 2


# ------------------------------------------------------------------ complete = every file intact
@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project with one notebook (``tiny``) whose experiment writes a table in its run and
    a figure after it, as the study's notebooks do; the current folder."""
    return tiny_project(tmp_path, monkeypatch)


def run_tiny(direct=True, **params):
    from hpostudy.study import execute

    (outcome,) = execute.run_notebooks(["tiny"], "smoke", None, params, progress=False,
                                      direct=direct)
    assert outcome.status != "failed", outcome.error
    return outcome


def tiny_cfg(folder: Path, **overrides):
    import importlib

    return importlib.import_module("tinyexp").Config.for_profile(
        overrides.pop("profile", "smoke"), output_dir=str(folder), **overrides)


def test_meta_lists_every_file_with_its_digest_figures_drawn_after_the_run_included(project):
    import hashlib
    import json

    from hpostudy import store

    outcome = run_tiny()
    meta = json.loads((outcome.results / "meta.json").read_text())
    assert sorted(meta["files"]) == ["curve.png", "values.csv"]
    for name, recorded in meta["files"].items():
        assert hashlib.sha256((outcome.results / name).read_bytes()).hexdigest() == recorded
    assert store.folder_state(outcome.results) == "complete"


def finished_tiny(folder: Path, **overrides) -> Path:
    """A finished run of the tiny experiment in ``folder``, its figure drawn after the run."""
    import importlib

    import matplotlib.pyplot as plt

    from hpostudy import figures

    importlib.import_module("tinyexp").run(tiny_cfg(folder, **overrides))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    figures.save(fig, folder, "curve")
    plt.close(fig)
    return folder


@pytest.mark.parametrize("damage, why", [
    (lambda r: (r / "curve.png").unlink(), "curve.png is missing"),
    (lambda r: (r / "curve.png").write_bytes((r / "curve.png").read_bytes()[:100]),
     "curve.png differs from what the run wrote"),
    (lambda r: (r / "values.csv").write_text("epoch\n0\n"), "values.csv differs"),
    (lambda r: (r / "meta.json").unlink(), "no meta.json"),
    (lambda r: (r / "meta.json").write_text((r / "meta.json").read_text()[:40]),
     "meta.json is unreadable"),
    (lambda r: (r / "meta.json").write_text((r / "meta.json").read_text().replace(
        '"epochs": 2', '"epochs": 3')), "meta.json was edited"),
])
def test_a_folder_is_complete_only_while_every_file_it_lists_is_intact(project, tmp_path,
                                                                        damage, why):
    from hpostudy import store

    folder = finished_tiny(tmp_path / "out")
    assert store.folder_state(folder) == "complete"
    damage(folder)
    assert store.folder_state(folder) in ("incomplete", "empty")
    assert why in store.incomplete_reason(folder)


def test_the_cli_runs_a_damaged_folder_again_and_says_why(project, capsys):
    from hpostudy import store
    from hpostudy.study import cli

    first = run_tiny()
    assert run_tiny().status == "skipped (unchanged)"
    (first.results / "curve.png").unlink()
    assert cli.main(["run", "tiny", "--no-notebook"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ran ") and "ran again: curve.png is missing" in out, out
    assert store.folder_state(first.results) == "complete"


def test_a_truncated_executed_notebook_is_not_taken_as_done(project):
    first = run_tiny(direct=False)
    assert run_tiny(direct=False).status == "skipped (unchanged)"
    text = first.executed.read_text()
    first.executed.write_text(text[:len(text) // 2])
    again = run_tiny(direct=False)
    assert again.status == "ran" and "executed notebook" in again.note


def test_a_figure_that_cannot_be_written_leaves_the_folder_incomplete(project, monkeypatch):
    import errno

    from hpostudy import store

    results = run_tiny().results
    real = store.atomic_write

    def full_disk(path, data):
        if Path(path).suffix == ".png":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    import matplotlib.pyplot as plt

    from hpostudy import figures

    monkeypatch.setattr(store.publishing, "atomic_write", full_disk)  # publish writes with it
    with pytest.raises(OSError):
        figures.save(plt.figure(), results, "extra")
    assert store.folder_state(results) == "incomplete"
    assert "writing extra.png" in store.incomplete_reason(results)


def test_meta_json_that_cannot_be_written_leaves_the_folder_incomplete(project, monkeypatch,
                                                                       tmp_path):
    import errno

    import importlib

    from hpostudy import store

    def full_disk(meta, folder):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "write_meta", full_disk)
    cfg = tiny_cfg(tmp_path / "out")
    with pytest.raises(OSError):
        importlib.import_module("tinyexp").run(cfg)
    assert store.folder_state(cfg.out) == "incomplete"
    assert "writing meta.json" in store.incomplete_reason(cfg.out)


def test_skipped_only_over_results_of_the_requested_settings(project):
    """Bare papermill (here: the experiment called directly) with epochs=5 into the folder of
    an earlier ``hpostudy run`` with epochs=2: the next ``hpostudy run -p epochs=2`` must not
    report it as unchanged."""
    first = run_tiny(epochs=2)
    finished_tiny(first.results, epochs=5)
    again = run_tiny(epochs=2)
    assert again.status == "ran" and "meta.json changed" in again.note
    import pandas as pd

    assert len(pd.read_csv(first.results / "values.csv")) == 2


# ------------------------------------------------------------------ record: stage, verify, swap
def test_record_under_a_full_disk_keeps_the_earlier_recording_intact(project, tmp_path,
                                                                     monkeypatch):
    import errno
    import shutil

    from hpostudy import store
    from hpostudy.study import record

    build = tmp_path / "build"
    finished_tiny(build / "cpu" / "results" / "tiny", profile="cpu")
    finished_tiny(build / "cpu" / "results" / "other", profile="cpu", epochs=4)
    target = record.record_results("cpu", build=build, target=tmp_path / "rec")
    recorded = _tree(target)
    assert sorted(p.name for p in (target / "tiny").iterdir()) == ["curve.png", "meta.json",
                                                                    "values.csv"]
    finished_tiny(build / "cpu" / "results" / "tiny", profile="cpu", epochs=3)  # a new run
    real, copied = shutil.copyfile, []

    def full_disk(source, dest):  # the second file is cut short by a full disk
        copied.append(dest)
        if len(copied) == 2:
            Path(dest).write_bytes(Path(source).read_bytes()[:10])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(source, dest)

    monkeypatch.setattr(store.files.shutil, "copyfile", full_disk)
    with pytest.raises(store.StoreError, match="No space left.*earlier recording there is "
                                               "unchanged"):
        record.record_results("cpu", build=build, target=target)
    assert _tree(target) == recorded
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build", "project", "rec"]
    monkeypatch.setattr(store.files.shutil, "copyfile", real)
    record.record_results("cpu", build=build, target=target)
    assert store.folder_state(target / "tiny") == "complete"
    assert len((target / "tiny" / "values.csv").read_text().splitlines()) == 4


def test_record_refuses_a_copy_that_differs_from_what_the_run_wrote(project, tmp_path,
                                                                   monkeypatch):
    import shutil

    from hpostudy import store
    from hpostudy.study import record

    build = tmp_path / "build"
    finished_tiny(build / "cpu" / "results" / "tiny", profile="cpu")
    real = shutil.copyfile

    def truncating(source, dest):
        real(source, dest)
        if Path(dest).suffix == ".png":
            Path(dest).write_bytes(Path(dest).read_bytes()[:50])

    monkeypatch.setattr(store.files.shutil, "copyfile", truncating)
    with pytest.raises(store.StoreError, match="curve.png differs"):
        record.record_results("cpu", build=build, target=tmp_path / "rec")
    assert not (tmp_path / "rec" / "tiny").exists()


# ------------------------------------------------------------------ the tests' book is their own
def test_a_book_built_elsewhere_leaves_the_projects_book_alone_and_hides_the_build_path(
        project, tmp_path, monkeypatch):
    import subprocess

    from hpostudy.study import book, execute

    (project / "book" / "chapters").mkdir(parents=True)
    (project / "book" / "chapters" / "tiny.md").write_text("# Tiny\n")
    (project / "_toc.yml").write_text("format: jb-book\nroot: book/chapters/tiny\n")
    build = tmp_path / "elsewhere" / "build"
    (outcome,) = execute.run_notebooks(["tiny"], "smoke", None, {}, build=build, progress=False)
    assert outcome.status == "ran", outcome.error
    calls = []
    monkeypatch.setattr(book.subprocess, "run", lambda cmd, **kw: calls.append(cmd)
                        or subprocess.CompletedProcess(cmd, 0, "", ""))
    html = book.build_book("smoke", build=build, output=tmp_path / "book")
    assert html == tmp_path / "book" / "_build" / "html"
    assert calls[0][2] == str(tmp_path / "book")  # jupyter-book builds the copy
    assert not (project / "book" / "generated").exists() and not (project / "_build").exists()
    page = (tmp_path / "book" / "book" / "generated" / "notebooks" / "tiny" / "tiny.ipynb")
    assert str(build) not in page.read_text() and "build/smoke/results/tiny" in page.read_text()
    (build / "smoke" / "results" / "tiny" / "curve.png").unlink()  # a finished run only
    with pytest.raises(FileNotFoundError, match="curve.png is missing.*hpostudy run"):
        book.build_book("smoke", build=build, output=tmp_path / "book")


# ------------------------------------------------------------------ Ray: one storage for all
class _FakeRay:
    """Just enough of Ray to run :class:`RayExecutor.map` in this process: every task runs
    when submitted, in an environment without the search storage (as a fresh worker process
    or another machine would be), its arguments resolved as Ray resolves them."""

    class Ref:
        def __init__(self, value):
            self.value = value

    def __init__(self):
        self.seen = []

    def is_initialized(self):
        return True

    def remote(self, target=None, **options):
        if target is None:
            return self.remote
        ray = self

        class Remote:
            def options(self, **kw):
                return self

            def remote(self, *args):
                args = [a.value if isinstance(a, _FakeRay.Ref) else a for a in args]
                if isinstance(target, type):
                    return ray._actor(target(*args))
                saved = os.environ.pop(metaopt.SEARCH_STORAGE, None)
                try:
                    return _FakeRay.Ref(target(*args))
                finally:
                    if saved is not None:
                        os.environ[metaopt.SEARCH_STORAGE] = saved

        return Remote()

    def _actor(self, instance):
        class Method:
            def __init__(self, f):
                self.remote = lambda *a: _FakeRay.Ref(f(*a))

        class Actor:
            def __getattr__(self, name):
                return Method(getattr(instance, name))

        return Actor()

    def put(self, value):
        return _FakeRay.Ref(value)

    def get(self, ref):
        return ref.value

    def wait(self, refs, num_returns=1, timeout=None):
        return refs[:1], refs[1:]

    def cancel(self, ref):
        pass


def storage_seen(item, checkpoint):
    return os.environ.get(metaopt.SEARCH_STORAGE)


def test_ray_helper_tasks_search_on_the_runs_storage(monkeypatch):
    import sys

    from hpostudy.study.executors import RayExecutor

    monkeypatch.setitem(sys.modules, "ray", _FakeRay())
    monkeypatch.setenv(metaopt.SEARCH_STORAGE, "postgresql://db/hpostudy")
    results = {}
    RayExecutor().map(storage_seen, [0, 1, 2], [None] * 3, results.__setitem__)
    assert results == {i: "postgresql://db/hpostudy" for i in range(3)}
    assert os.environ[metaopt.SEARCH_STORAGE] == "postgresql://db/hpostudy"


def test_a_notebooks_environment_does_not_outlive_it(monkeypatch, tmp_path):
    from hpostudy.study import jobs

    monkeypatch.delenv(metaopt.SEARCH_STORAGE, raising=False)
    job = jobs.Job("x", tmp_path / "missing.py", {}, tmp_path / "x.ipynb", tmp_path, tmp_path,
                     1, True, {metaopt.SEARCH_STORAGE: "sqlite:///s.db"})
    assert jobs.run_job(job).status == "failed"
    assert metaopt.SEARCH_STORAGE not in os.environ


# ------------------------------------------------------------------ output placement
def test_output_dir_is_honoured_and_nothing_is_written_outside_it(project):
    outcome = run_tiny(output_dir="mine/results")
    assert outcome.results == project / "mine" / "results"
    assert {"curve.png", "meta.json", "values.csv"} <= {p.name for p in outcome.results.iterdir()}
    assert not (project / "build").exists()
    assert run_tiny(output_dir="mine/results").status == "skipped (unchanged)"


def test_output_dir_for_several_notebooks_is_refused(project):
    from hpostudy.study import execute

    (project / "notebooks" / "tiny2.py").write_text(TINY_NOTEBOOK)
    with pytest.raises(ValueError, match="names one folder for 2 notebooks"):
        execute.run_notebooks(None, "smoke", None, {"output_dir": "x"}, progress=False)


def test_a_copy_of_a_study_notebook_elsewhere_gets_results_of_its_own(project):
    from hpostudy.study import execute

    chapter = run_tiny().results
    before = _tree(chapter)
    (project / "mystudy").mkdir()
    (project / "mystudy" / "tiny.py").write_text(TINY_NOTEBOOK)
    (copy,) = execute.run_notebooks(["mystudy/tiny.py"], "smoke", None, {"epochs": 4},
                                   progress=False, direct=True)
    assert copy.status == "ran", copy.error
    assert copy.results != chapter and copy.results.name.startswith("tiny-")
    assert _tree(chapter) == before


# ------------------------------------------------------------------ stale locks
def test_a_lock_whose_process_id_was_reused_is_taken_over(tmp_path):
    import json

    from hpostudy import store

    marker = store.RunMarker(tmp_path)
    marker.acquire(profile="smoke")
    record = json.loads(marker.path.read_text())
    record["pid_start"] = "another-boot:1"  # this pid now belongs to another process
    marker.path.write_text(json.dumps(record))
    assert store.folder_state(tmp_path) == "incomplete"
    store.RunMarker(tmp_path).acquire(profile="smoke")  # not refused


def test_a_live_lock_says_how_to_remove_it_and_mentions_clock_skew(tmp_path):
    import json

    from hpostudy import store

    marker = store.RunMarker(tmp_path)
    marker.path.write_text(json.dumps({"pid": 1, "host": "node7", "started": "today",
                                       "status": "running"}))
    with pytest.raises(store.FolderBusy, match=r"kill 1 on node7.*delete .*\.running\.json.*"
                                               r"clock skew"):
        marker.acquire(profile="smoke")
    future = marker.path.stat().st_mtime + 3600  # touched by a clock an hour ahead, then gone
    os.utime(marker.path, (future, future))
    marker.acquire(profile="smoke")

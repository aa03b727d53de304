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

"""The Optuna storage of a black-box search: opening a study in it, with clear errors for a
missing driver, an unreachable server or a file that is not a search database (never
overwritten; an unreadable search database is moved aside), and the claim that keeps two
searches from sharing one study name."""
from __future__ import annotations

import contextlib
import datetime
import os
import time
import warnings
from pathlib import Path

import optuna

from ..store import StoreError


HEARTBEAT_SECONDS = 10  # a running trial's heartbeat in a database storage
GRACE_SECONDS = 60  # a trial of another machine silent for longer is taken as dead


class SearchStorageError(StoreError):
    """A search's Optuna storage cannot be used; the message names it and the fix."""


@contextlib.contextmanager
def _quiet():
    """Silence Optuna's notes on the heartbeat (experimental; meant for ``Study.optimize``,
    which cannot keep a budget across workers)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage")
        yield


def _open_study(url: str | None, name: str, sampler):
    """``(study, database)``: the study ``name`` in the storage ``url`` (created if new) and
    its database storage (None: in memory)."""
    if url is None:
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        return optuna.create_study(direction="minimize", sampler=sampler, study_name=name), None
    database = check_search_storage(url)
    found = optuna.create_study(direction="minimize", sampler=sampler, storage=database,
                                study_name=name, load_if_exists=True)
    return found, database


def check_search_storage(url: str):
    """The Optuna database storage at ``url`` (its tables created if new), with clear errors
    for a missing database driver, an unreachable server and a corrupted SQLite file.

    A SQLite URL must name a new file or an Optuna database: a folder or any other file (a
    CSV, someone's own SQLite database) is refused and left exactly as it is. Only an Optuna
    database that SQLite can no longer read is moved aside (never deleted).

    Args:
        url: an Optuna storage URL (``sqlite:///...``, ``postgresql://...``).

    Returns:
        optuna.storages.RDBStorage: the storage.

    Raises:
        SearchStorageError: a missing driver, an unreachable server, or a file that is not an
            Optuna database.
    """
    import sqlalchemy.exc

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    shown = _without_password(url)
    _refuse_foreign_sqlite(url)
    if url.startswith("postgresql://"):  # the driver of the cluster extra, whatever
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")  # SQLAlchemy's default
    for attempt in range(3):
        try:
            with _quiet():
                database = optuna.storages.RDBStorage(
                    url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS)
            database.get_all_studies()
            return database
        except ImportError as err:
            missing = getattr(err.__cause__, "name", None) or err.name or "its database driver"
            fix = ("install the cluster extra (pip install 'hpostudy[cluster]')"
                   if url.startswith("postgresql") else
                   f"install it, or use PostgreSQL (postgresql://user:password@host/db), whose "
                   "driver the cluster extra installs (pip install 'hpostudy[cluster]')")
            raise SearchStorageError(
                f"the search storage {shown} needs the Python package '{missing}': {fix}") from err
        except sqlalchemy.exc.IntegrityError:
            if attempt == 2:  # two workers creating the same tables at once
                raise
            time.sleep(1 + attempt)
        except (sqlalchemy.exc.DatabaseError, optuna.exceptions.StorageInternalError) as err:
            raise _storage_error(url, shown, err) from err
        except (ValueError, sqlalchemy.exc.ArgumentError) as err:
            raise SearchStorageError(f"cannot open the search storage {shown}: {err}") from err


OPTUNA_TABLES = (b"CREATE TABLE studies", b"CREATE TABLE trials", b"CREATE TABLE trial_params",
                 b"CREATE TABLE version_info")  # in the schema of every Optuna database
SQLITE_HEADER = b"SQLite format 3\x00"


def _sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (None for other databases, in-memory SQLite and URLs
    SQLAlchemy cannot parse, which opening the storage reports)."""
    if not url.startswith("sqlite:"):
        return None
    import sqlalchemy

    try:
        database = sqlalchemy.engine.make_url(url).database
    except sqlalchemy.exc.ArgumentError:
        return None
    return Path(database) if database and database != ":memory:" else None


def is_optuna_database(path: Path) -> bool:
    """Whether ``path`` is a file in SQLite's format whose schema holds Optuna's tables: a
    search database (this project's, or Optuna's anyway), even one SQLite cannot read any
    more. Nothing else is ever moved aside.

    Args:
        path: a file.

    Returns:
        bool: True for an Optuna search database.
    """
    import mmap

    try:
        with open(path, "rb") as fh:
            if fh.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                return False
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as content:
                return all(content.find(table) >= 0 for table in OPTUNA_TABLES)
    except (OSError, ValueError):
        return False


def _refuse_foreign_sqlite(url: str) -> None:
    """Refuse a SQLite URL naming a folder, a file in a missing folder, or a non-empty file
    that is not an Optuna database (opening it would add Optuna's tables to someone's file,
    or fail on it), before anything is opened."""
    path = _sqlite_path(url)
    if path is None:
        return
    folder = path if path.is_dir() else path.parent
    fix = (f"name a new file for the search database (e.g. sqlite:///{folder / 'search.db'}) "
           "or a database server (postgresql://user:password@host/db)")
    if path.is_dir():
        raise SearchStorageError(f"the search storage {url} names the folder {path}, not a "
                                 f"database file; it was left untouched: {fix}")
    if not path.parent.is_dir():
        raise SearchStorageError(f"the search storage {url} names a file in {path.parent}, "
                                 "which is not a folder: create the folder, or name a file in "
                                 "an existing one")
    if path.exists() and path.stat().st_size and not is_optuna_database(path):
        raise SearchStorageError(f"the search storage {url} names {path}, which is not an "
                                 f"Optuna search database; it was left untouched: {fix}")


def _storage_error(url: str, shown: str, err: Exception) -> SearchStorageError:
    reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0][:200]
    path = _sqlite_path(url)
    if path is not None and path.exists():
        if is_optuna_database(path):  # only a search database is ever moved aside
            aside = path.with_name(f"{path.name}.corrupt-"
                                   f"{datetime.datetime.now():%Y%m%d-%H%M%S}")
            os.replace(path, aside)
            return SearchStorageError(
                f"the search database {path} is unreadable ({reason}); it was moved to "
                f"{aside.name} beside it. Run again to start this search afresh (or put back a "
                "good copy of the file).")
        return SearchStorageError(f"cannot use the search storage {shown} ({reason}); {path} "
                                  "was left untouched: name a new file for the search database "
                                  "or a database server (postgresql://user:password@host/db)")
    return SearchStorageError(f"cannot use the search storage {shown} ({reason}): check that "
                              "the database server runs and accepts connections from this "
                              "machine, and the URL's user, password and database")


def _without_password(url: str) -> str:
    try:
        import sqlalchemy

        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def _claim_search(study, url: str | None, name: str, search: dict) -> None:
    """Record what the study searches; refuse a study of the same name that searches another
    space, method or seed (a name reused in a shared storage)."""
    known = study.user_attrs.get("search")
    if known is None:
        study.set_user_attr("search", search)
    elif known != search:
        raise SearchStorageError(
            f"the study '{name}' in {_without_password(url or 'memory')} holds another search "
            f"({known}), not {search}: give this search another study name, or delete that "
            "study (optuna delete-study) if it is stale")

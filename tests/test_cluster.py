"""Scale-out: notebooks and their units as Ray tasks on a local two-worker cluster, black-box
searches shared by worker processes on a PostgreSQL server, and searches that resume after a
SIGKILL with the same draws, each evaluated once, ending with exactly their budget."""
from __future__ import annotations

import math
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from glob import glob
from pathlib import Path

import optuna
import pandas as pd
import pytest

from hpostudy import metaopt, store
from hpostudy.metaopt import SearchStorageError, black_box_search
from hpostudy.study import cli, execute

ROOT = Path(__file__).resolve().parents[1]
SPACE = {"a": (0.0, 1.0), "b": (0.1, 100.0, "log")}
COLUMNS = ["trial", "value", "a", "b"]  # a search table without its timing columns


def bowl(params: dict) -> float:
    return (params["a"] - 0.3) ** 2 + math.log10(params["b"] / 3) ** 2


def _python_env() -> dict:
    """The environment of a child Python that imports this checkout (installed or not)."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


# ---------------------------------------------------------------------- resume on a file
KILLED_WORKER = """
import math, os, signal, sys
from hpostudy.metaopt import black_box_search
url, method, trials, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
calls = []
def objective(p):
    calls.append(p)
    if len(calls) == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)  # killed in the middle of a trial
    return (p["a"] - 0.3) ** 2 + math.log10(p["b"] / 3) ** 2
black_box_search(objective, {"a": (0.0, 1.0), "b": (0.1, 100.0, "log")}, method, trials,
                 storage=url)
"""


def test_a_search_killed_mid_trial_resumes_with_the_same_draws_and_exactly_its_budget(tmp_path):
    trials = 7  # bayes: 2 random draws, then 5 from the Gaussian process
    killed = {m: subprocess.Popen([sys.executable, "-c", KILLED_WORKER,
                                   f"sqlite:///{tmp_path / f'{m}.db'}", m, str(trials), "4"],
                                  env=_python_env())
              for m in metaopt.SEARCHES}
    for method, process in killed.items():
        assert process.wait(timeout=120) == -signal.SIGKILL, method
        url = f"sqlite:///{tmp_path / f'{method}.db'}"
        study = optuna.load_study(study_name=f"{method}-0", storage=url)
        running = [t for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
        assert len(running) == 1 and len(study.trials) == 4  # the kill left a running trial
        calls = []
        resumed = black_box_search(lambda p: calls.append(p) or bowl(p), SPACE, method, trials,
                                   storage=url)
        uninterrupted = black_box_search(bowl, SPACE, method, trials)
        pd.testing.assert_frame_equal(resumed[COLUMNS], uninterrupted[COLUMNS])
        assert len(calls) == trials - 3  # the interrupted draw again, then the rest
        states = [t.state.name for t in optuna.load_study(study_name=f"{method}-0",
                                                          storage=url).trials]
        assert states.count("COMPLETE") == trials and states[3] == "FAIL", states
        again = black_box_search(lambda p: calls.append(p) or bowl(p), SPACE, method, trials,
                                 storage=url)
        assert len(calls) == trials - 3 and again[COLUMNS].equals(resumed[COLUMNS])


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # the test's own study.ask()
def test_a_trial_silent_on_another_machine_is_failed_after_the_grace_period(tmp_path,
                                                                             monkeypatch):
    for module in (metaopt.storage, metaopt.workers):  # the storage's grace period, _recover's
        monkeypatch.setattr(module, "GRACE_SECONDS", 1)
    url = f"sqlite:///{tmp_path / 'search.db'}"
    sampler = metaopt.DrawSampler(SPACE, "random", 3, 0)
    study, database = metaopt.storage._open_study(url, "random-0", sampler)
    lost = study.ask()  # draw 0, taken by a worker of another machine that went silent
    lost.set_user_attr("worker", "another-node/4242/0123")
    database.record_heartbeat(lost._trial_id)
    time.sleep(2.5)
    df = black_box_search(bowl, SPACE, "random", 3, storage=url)
    pd.testing.assert_frame_equal(df[COLUMNS], black_box_search(bowl, SPACE, "random", 3)[COLUMNS])
    assert [t.state.name for t in study.trials][0] == "FAIL"


def test_metrics_of_each_trial_are_kept_beside_its_value(tmp_path):
    url = f"sqlite:///{tmp_path / 'search.db'}"
    df = black_box_search(lambda p: (bowl(p), {"twice": 2 * bowl(p)}), SPACE, "grid", 4,
                          storage=url)
    assert list(df.columns[:4]) == ["method", "trial", "value", "trial_seconds"]
    assert (df.twice == 2 * df.value).all() and len(df) == 4
    again = black_box_search(bowl, SPACE, "grid", 4, storage=url)  # resumed: nothing to do
    pd.testing.assert_frame_equal(again.drop(columns=[c for c in again if "seconds" in c]),
                                  df.drop(columns=[c for c in df if "seconds" in c]))


def test_a_file_that_is_not_a_search_database_is_refused_and_left_alone(tmp_path):
    """(An unreadable Optuna database is moved aside: tests/test_nothing_lost.py.)"""
    db = tmp_path / "search.db"
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(SearchStorageError, match=r"search\.db, which is not an Optuna search "
                                                 r"database; it was left untouched"):
        black_box_search(bowl, SPACE, "random", 2, storage=f"sqlite:///{db}")
    assert db.read_bytes() == b"this is not a database" * 100
    assert [p.name for p in tmp_path.iterdir()] == ["search.db"]


def test_a_shared_storage_needs_a_study_name_and_refuses_another_search_under_it(tmp_path,
                                                                                 monkeypatch):
    monkeypatch.setenv(metaopt.SEARCH_STORAGE, f"sqlite:///{tmp_path / 'shared.db'}")
    with pytest.raises(ValueError, match="its own study name"):
        black_box_search(bowl, SPACE, "random", 2, storage="sqlite:///ignored.db")
    black_box_search(bowl, SPACE, "random", 2, study="run1-random")
    assert (tmp_path / "shared.db").exists() and not Path("ignored.db").exists()
    with pytest.raises(SearchStorageError, match="holds another search"):
        black_box_search(bowl, {"a": (0.0, 2.0)}, "random", 2, study="run1-random")


# ---------------------------------------------------------------------- PostgreSQL
def _postgres_bin() -> Path | None:
    found = [shutil.which("pg_ctl"), *sorted(glob("/usr/lib/postgresql/*/bin/pg_ctl"))[::-1]]
    return next((Path(p).resolve().parent for p in found if p), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server of its own, listening on 127.0.0.1 only, in a temporary folder
    (run as the ``postgres`` user when the tests run as root, since it refuses root)."""
    pytest.importorskip("psycopg", reason="psycopg is missing: install the cluster extra "
                                          "(pip install -e '.[cluster]')")
    binaries = _postgres_bin()
    if binaries is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are missing: apt-get install "
                    "postgresql (.ci/run does)")
    as_user = []
    folder = Path(tempfile.mkdtemp(prefix="hpostudy-postgres-"))
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    subprocess.run([*as_user, binaries / "initdb", "-D", data, "-U", "postgres", "-A", "trust",
                    "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
    options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off -c max_connections=50"
    subprocess.run([*as_user, binaries / "pg_ctl", "-D", data, "-l", folder / "server.log",
                    "-o", options, "-w", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, binaries / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


SEARCH_WORKER = """
import math, os, sys, time
from pathlib import Path
from hpostudy.metaopt import black_box_search
url, folder, role, trials = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
calls = 0
def objective(p):
    global calls
    calls += 1
    with open(folder / "evaluations.txt", "a") as log:
        log.write(f"{role} {p['a']!r} {p['b']!r}\\n")
    if role == "victim":
        (folder / "victim-started").touch()
        if calls == 2:
            (folder / "victim-in-trial").touch()
            time.sleep(600)  # killed here
    while not (folder / "victim-started").exists():
        time.sleep(0.1)  # let the victim take part before the other worker ends the search
    time.sleep(0.4)
    return (p["a"] - 0.3) ** 2 + math.log10(p["b"] / 3) ** 2
df = black_box_search(objective, {"a": (0.0, 1.0), "b": (0.1, 100.0, "log")}, "random", trials,
                      seed=3, storage=url, study="shared-random-3")
df.to_csv(folder / f"{role}.csv", index=False)
"""


def test_two_workers_share_a_search_on_postgresql_and_survive_a_killed_one(postgres, tmp_path):
    trials = 8
    start = lambda role: subprocess.Popen(  # noqa: E731
        [sys.executable, "-c", SEARCH_WORKER, postgres, str(tmp_path), role, str(trials)],
        env=_python_env())
    victim, other = start("victim"), start("other")
    deadline = time.time() + 120
    while not (tmp_path / "victim-in-trial").exists():
        assert time.time() < deadline and victim.poll() is None and other.poll() is None
        time.sleep(0.2)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert other.wait(timeout=120) == 0
    study = optuna.load_study(study_name="shared-random-3",
                              storage=postgres.replace("postgresql:", "postgresql+psycopg:"))
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(complete) == trials
    assert sorted(t.user_attrs["draw"] for t in complete) == list(range(trials))
    assert len({(t.params["a"], t.params["b"]) for t in complete}) == trials  # none twice
    assert len(failed) == 1 and failed[0].user_attrs["worker"].split("/")[1] == str(victim.pid)
    retry = next(t for t in complete if t.user_attrs.get("retry_of") == failed[0].number)
    assert retry.params == failed[0].params
    evaluations = (tmp_path / "evaluations.txt").read_text().splitlines()
    assert len(evaluations) == trials + 1  # the killed trial's draw was evaluated again
    table = pd.read_csv(tmp_path / "other.csv")
    alone = black_box_search(bowl, SPACE, "random", trials, seed=3)
    pd.testing.assert_frame_equal(table[COLUMNS], alone[COLUMNS])  # the draws of one worker


def test_an_unreachable_search_storage_is_named_with_the_fix(postgres):
    url = f"postgresql://someone:secret@127.0.0.1:{_free_port()}/nothing"
    with pytest.raises(SearchStorageError, match=r"cannot use the search storage "
                                                 r"postgresql://someone:\*\*\*@.*server runs"):
        metaopt.check_search_storage(url)


# ---------------------------------------------------------------------- Ray
SMALLER = {"parameter_paths": {"epochs": 2, "n_train": 200, "seeds": 2, "coordinates": 4},
           "your_own_model": {"T": 20, "seeds": 2}}


def _smaller_notebooks(folder: Path) -> list[str]:
    """Copies of two study notebooks with smaller defaults (and a notebook that fails)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, values in SMALLER.items():
        text = (ROOT / "notebooks" / f"{name}.py").read_text()
        for knob, value in values.items():  # the generated cell: knob: "Optional[T]" = None
            declared = re.search(rf"\n{knob}: [^=\n]* = None", text)
            assert declared, (name, knob)
            text = text.replace(declared.group(0), f"\n{knob} = {value!r}", 1)
        (folder / f"small_{name}.py").write_text(text)  # a copy: a name (and folder) of its own
        paths.append(str(folder / f"small_{name}.py"))
    (folder / "broken.py").write_text(
        '# %% tags=["parameters"]\nprofile = "smoke"  # profile\ndevice = None  # device\n'
        'output_dir = "out"  # folder\n\n# %%\nraise RuntimeError("this notebook fails")\n')
    return paths + [str(folder / "broken.py")]


def _tables(results: Path) -> dict[str, pd.DataFrame]:
    tables = {}
    for name in SMALLER:
        for csv in sorted((results / f"small_{name}").glob("*.csv")):
            df = pd.read_csv(csv)
            tables[f"{name}/{csv.name}"] = df.drop(columns=[c for c in df if "seconds" in c])
    return tables


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster of two worker CPUs (the tests' own module importable by them)."""
    ray = pytest.importorskip("ray", reason="Ray is missing: install the cluster extra "
                                            "(pip install -e '.[cluster]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": _python_env()["PYTHONPATH"]}})
    yield ray
    ray.shutdown()


def test_ray_runs_notebooks_in_parallel_with_the_tables_of_a_sequential_run(
        ray_cluster, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("HPOSTUDY_THREADS", "1")
    selection = _smaller_notebooks(tmp_path / "notebooks")
    alone = execute.run_notebooks(selection[:2], build=tmp_path / "alone", jobs=1,
                                 progress=False, direct=True)
    assert [o.status for o in alone] == ["ran", "ran"], [o.error for o in alone]
    on_ray = {o.name: o for o in execute.run_notebooks(
        selection, build=tmp_path / "ray", progress=False, direct=True, executor="ray")}
    assert on_ray["broken"].status == "failed" and "this notebook fails" in on_ray["broken"].error
    assert [on_ray[f"small_{n}"].status for n in SMALLER] == ["ran", "ran"], [o.error for o in on_ray.values()]
    expected = _tables(tmp_path / "alone" / "smoke" / "results")
    found = _tables(tmp_path / "ray" / "smoke" / "results")
    assert sorted(found) == sorted(expected) and len(found) == 5
    for name, table in expected.items():
        pd.testing.assert_frame_equal(found[name], table, check_exact=True, obj=name)
    again = execute.run_notebooks(selection[:2], build=tmp_path / "ray", progress=False,
                                 direct=True, executor="ray")
    assert [o.status for o in again] == ["skipped (unchanged)"] * 2, [o.note for o in again]
    assert ray_cluster.is_initialized()  # run_notebooks leaves a cluster it did not start


def _meet_another_process(log: str) -> None:
    """Log this process's id in ``log``, then wait until two processes have (at most 30 s), so
    that a unit of an executor test is not done before a helper has taken one."""
    with open(log, "a") as fh:
        fh.write(f"{os.getpid()}\n")
    deadline = time.time() + 30
    while len(set(Path(log).read_text().split())) < 2 and time.time() < deadline:
        time.sleep(0.1)


def square_or_fail(item, checkpoint):
    """A unit for the executor test: fails for item 2, else returns the item's square and its
    process id, after meeting another process (:func:`_meet_another_process`)."""
    item, log = item
    _meet_another_process(log)
    if item == 2:
        raise ArithmeticError("unit 2 fails")
    return item * item, os.getpid()


def spin_then_wait(item, checkpoint):
    """A unit for the CPU-time test: spins 0.3 s of process CPU time, then meets another
    process asleep (:func:`_meet_another_process`); returns its process id."""
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    _meet_another_process(item[1])
    return os.getpid()


def test_ray_helpers_report_the_cpu_time_of_their_units(ray_cluster, tmp_path):
    """A run's CPU time in meta.json counted only the notebook's process: each helper now
    returns its unit's process CPU seconds for the session clock."""
    from hpostudy.study.executors import RayExecutor

    kept, reported, log = {}, [], tmp_path / "pids.txt"
    checkpoints = [store.Checkpoint(tmp_path / f"unit{i}.pt") for i in range(4)]
    RayExecutor().map(spin_then_wait, [(i, str(log)) for i in range(4)], checkpoints,
                      kept.__setitem__, elsewhere=reported.append)
    by_helpers = [i for i, pid in kept.items() if pid != os.getpid()]
    assert sorted(kept) == [0, 1, 2, 3] and by_helpers
    assert len(reported) == len(by_helpers)
    assert all(0.3 <= seconds < 10 for seconds in reported), reported


def test_ray_units_keep_every_result_when_one_fails(ray_cluster, tmp_path):
    from hpostudy.study.executors import RayExecutor

    kept, log = {}, tmp_path / "pids.txt"
    checkpoints = [store.Checkpoint(tmp_path / f"unit{i}.pt") for i in range(5)]
    with pytest.raises(ArithmeticError, match="unit 2 fails"):
        RayExecutor().map(square_or_fail, [(i, str(log)) for i in range(5)], checkpoints,
                          kept.__setitem__)
    assert 2 not in kept and all(kept[i][0] == i * i for i in kept)
    assert len(set(log.read_text().split())) >= 2  # this process and at least one helper
    assert len(kept) == len(log.read_text().split()) - 1  # every unit begun but 2 is kept


def test_cli_refuses_ray_options_that_do_not_fit(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert cli.main(["run", "parameter_paths", "--address", "h:6379"]) == 2
    assert "--executor ray" in capsys.readouterr().err
    assert cli.main(["run", "parameter_paths", "--executor", "ray", "--jobs", "2"]) == 2
    assert "--jobs is for the local executor" in capsys.readouterr().err


def test_ray_missing_gives_the_install_command(monkeypatch):
    from hpostudy.study import executors

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(RuntimeError, match=r"pip install 'hpostudy\[cluster\]'"):
        executors.import_ray()


def test_a_marker_of_another_machine_locks_the_folder_until_it_goes_silent(tmp_path):
    marker = store.RunMarker(tmp_path)
    marker.path.write_text('{"pid": 1, "host": "another-node", "started": "then", '
                           '"status": "running", "profile": "paper"}')
    assert store.folder_state(tmp_path) == "running"
    with pytest.raises(store.FolderBusy, match="process 1 on another-node"):
        marker.acquire(profile="paper")
    silent = time.time() - store.MARKER_GRACE - 1
    os.utime(marker.path, (silent, silent))
    assert store.folder_state(tmp_path) == "incomplete"
    assert marker.acquire(profile="paper")["host"] == socket.gethostname()
    marker.release()


def test_a_storage_without_its_driver_names_the_package_and_the_supported_database():
    from hpostudy.metaopt import SearchStorageError, black_box_search

    with pytest.raises(SearchStorageError, match="needs the Python package 'MySQLdb'.*PostgreSQL"):
        black_box_search(lambda p: p["x"], {"x": (0.0, 1.0)}, "random", 2,
                         storage="mysql://user@127.0.0.1/db", study="s")

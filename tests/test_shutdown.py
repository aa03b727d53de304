"""Issue 21, ending cleanly: SIGTERM or Ctrl-C (SIGINT) to ``hpostudy run`` stops every process it
started -- pool workers, papermill kernels (in sessions of their own), scripts -- within seconds,
leaves each unfinished folder incomplete with an ``interrupted`` marker and no live lock, says
so in one line without a traceback, exits with 128 + the signal; the same command then resumes
from the last finished unit.

The runs are of a project in a temporary folder: notebooks ``slow`` and ``slow2`` whose
experiment computes three units, the second and third sleeping ``SLOW_PAUSE`` seconds (an
environment variable, not a setting: the resumed run has the same key). Each unit logs its start
to ``SLOW_LOG``; the signal is sent once every notebook has started its second unit."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hpostudy import store

psutil = pytest.importorskip("psutil")

ROOT = Path(__file__).resolve().parents[1]

SLOW_EXPERIMENT = '''
import dataclasses
import os
import time
from pathlib import Path

import pandas as pd

from hpostudy.study.config import ExperimentConfig
from hpostudy.study.experiment_run import prepare


@dataclasses.dataclass(frozen=True)
class Config(ExperimentConfig):
    units: int = 3  # units of work
    NAME = "slowexp"


def unit(item, checkpoint):
    tag, i = item
    with open(os.environ["SLOW_LOG"], "a") as log:
        log.write(f"{tag} start {i}\\n")
    if i > 0:
        time.sleep(float(os.environ.get("SLOW_PAUSE", "0")))
    return i


def run(cfg):
    tag = Path(cfg.output_dir).name
    with prepare(cfg) as run:
        done = run.map(unit, [(tag, i) for i in range(cfg.units)],
                       names=[f"u{i}" for i in range(cfg.units)])
        run.save_tables(values=pd.DataFrame({"unit": done}))
'''

SLOW_NOTEBOOK = '''# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   hpostudy:
#     chapter: slow
#     experiment: slowexp
# ---

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper
device = None  # cpu | cuda
output_dir = None  # tables
units = None  # units of work

# %%
import slowexp

slowexp.run(slowexp.Config.from_notebook(globals()))
'''


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "_config.yml").write_text("title: test\n")
    (root / "slowexp.py").write_text(SLOW_EXPERIMENT)
    for name in ("slow", "slow2"):
        (root / "notebooks" / f"{name}.py").write_text(SLOW_NOTEBOOK)
    return root


def hpostudy(project: Path, args: list[str], pause: float, log: Path, out: Path):
    """``hpostudy run ARGS`` in ``project`` as a process of a session of its own."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project), str(ROOT)]),
           "SLOW_LOG": str(log), "SLOW_PAUSE": str(pause), "HPOSTUDY_THREADS": "1",
           "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    return subprocess.Popen([sys.executable, "-m", "hpostudy.study.cli", "run", *args],
                            cwd=project, env=env, start_new_session=True,
                            stdout=open(out.with_suffix(".out"), "w"),
                            stderr=open(out.with_suffix(".err"), "w"))


def starts(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def running(process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def left_in_group(pgid: int) -> list:
    """Processes of process group ``pgid`` still running (zombies are dead)."""
    left = []
    for p in psutil.process_iter():
        try:
            if os.getpgid(p.pid) == pgid and running(p):
                left.append(p)
        except (ProcessLookupError, psutil.NoSuchProcess):
            pass
    return left


CASES = [  # signal, sent to the command (pid) or its group (a terminal's Ctrl-C), arguments
    (signal.SIGTERM, "pid", ["slow", "slow2", "--jobs", "2"]),  # pool workers and kernels
    (signal.SIGINT, "group", ["slow", "slow2", "--jobs", "2"]),
    (signal.SIGTERM, "pid", ["slow", "--no-notebook"]),  # a script child of the command
    (signal.SIGINT, "group", ["slow", "slow2", "--no-notebook", "--jobs", "2"]),
]


@pytest.mark.parametrize("sig, target, args", CASES,
                         ids=["term-jobs2", "int-jobs2", "term-script", "int-script-jobs2"])
def test_a_signal_stops_every_process_and_the_same_command_resumes(project, tmp_path, sig,
                                                                   target, args):
    log, notebooks = tmp_path / "starts.log", [a for a in args if a.startswith("slow")]
    command = hpostudy(project, args, 600, log, tmp_path / "first")
    deadline = time.monotonic() + 300
    while not all(f"{nb} start 1" in starts(log) for nb in notebooks):
        assert command.poll() is None, (tmp_path / "first.err").read_text()[-3000:]
        assert time.monotonic() < deadline, "the units did not start within 300 s"
        time.sleep(0.2)
    started = psutil.Process(command.pid).children(recursive=True)  # kernels included
    assert started
    if target == "group":
        os.killpg(command.pid, sig)
    else:
        os.kill(command.pid, sig)
    sent = time.monotonic()
    assert command.wait(timeout=30) == 128 + sig
    assert time.monotonic() - sent < 15

    assert not left_in_group(command.pid)
    with pytest.raises(ProcessLookupError):  # not even a zombie
        os.killpg(command.pid, 0)
    assert not [p for p in started if running(p)], "a worker, kernel or script survived"

    err = (tmp_path / "first.err").read_text()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    name = signal.Signals(sig).name
    assert f"stopped by {name}" in lines[0] and "again to resume" in lines[0]
    assert f"hpostudy run {' '.join(args)}" in lines[0]
    for nb in notebooks:
        assert nb in lines[0]
        folder = project / "build" / "smoke" / "results" / nb
        assert store.folder_state(folder) == "incomplete"
        marker = store.RunMarker(folder).read()
        assert marker["status"] == "interrupted" and name in marker["reason"]
        assert not store.marker_alive(marker, folder / store.MARKER)
        assert "interrupted" in store.incomplete_reason(folder)

    again = hpostudy(project, args, 0, log, tmp_path / "again")
    assert again.wait(timeout=600) == 0, (tmp_path / "again.err").read_text()[-3000:]
    for nb in notebooks:
        assert store.folder_state(project / "build" / "smoke" / "results" / nb) == "complete"
        assert starts(log).count(f"{nb} start 0") == 1  # the finished unit was not redone
        assert starts(log).count(f"{nb} start 2") == 1



def test_an_unreachable_ray_address_fails_in_seconds_naming_it(monkeypatch):
    """``--executor ray --address`` where nothing listens: an error naming the address and how
    to check the cluster, within ``HPOSTUDY_RAY_TIMEOUT``, instead of minutes of Ray retrying."""
    import socket

    ray = pytest.importorskip("ray")
    from hpostudy.study import executors

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(executors.RAY_TIMEOUT, "5")
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=rf"cannot reach the Ray cluster at 127\.0\.0\.1:{port} "
                                           r".*ray status --address"):
        executors.connect(f"127.0.0.1:{port}")
    assert time.monotonic() - started < 10 and not ray.is_initialized()
    monkeypatch.setenv(executors.RAY_TIMEOUT, "soon")
    with pytest.raises(ValueError, match="HPOSTUDY_RAY_TIMEOUT='soon'"):
        executors.connect(f"127.0.0.1:{port}")

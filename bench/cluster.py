"""Benchmark of the Ray executor (not a test): notebooks on one worker against two.

For each setting -- ``local-N`` (``hpostudy run --jobs N``, no Ray) and ``ray-N`` (a Ray head
with N worker CPUs, ``ray start --head --num-cpus N --block``, then ``hpostudy run --executor
ray --address ...``; its start is not timed) -- the selected notebooks run from scratch (a fresh build folder, so no cached
unit is reused) with ``HPOSTUDY_THREADS=1``. Reported per run: wall seconds of the command and
CPU seconds of every process involved (the CLI, Ray's daemons and workers, the kernels), read
from a cgroup of their own (cgroup v1 ``cpuacct`` or v2; root needed, else CPU is not shown).
Repetitions are interleaved; the machine's load average is recorded beside each run.

    python bench/cluster.py --notebooks parameter_paths your_own_model --repeats 2
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CGROUP_V1 = Path("/sys/fs/cgroup/cpuacct")
CGROUP_V2 = Path("/sys/fs/cgroup/unified")


class CpuGroup:
    """A cgroup counting the CPU time of the processes started into it (None where it cannot
    be made)."""

    def __init__(self, name: str):
        self.path = None
        for base in (CGROUP_V1, CGROUP_V2):
            try:
                (base / name).mkdir(exist_ok=True)
                self.path, self.v1 = base / name, base == CGROUP_V1
                break
            except OSError:
                continue

    def enter(self) -> None:
        """Move the calling process (a child before it executes) into the group."""
        if self.path is not None:
            (self.path / ("tasks" if self.v1 else "cgroup.procs")).write_text(str(os.getpid()))

    def seconds(self) -> float | None:
        if self.path is None:
            return None
        if self.v1:
            return int((self.path / "cpuacct.usage").read_text()) / 1e9
        usage = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines())
        return int(usage["usage_usec"]) / 1e6

    def remove(self) -> None:
        if self.path is not None:
            self.path.rmdir()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one_run(setting: str, notebooks: list[str], project: Path, env: dict) -> dict:
    """One run of ``notebooks`` in ``project`` (a fresh folder whose ``notebooks/`` and
    ``_config.yml`` link to this checkout's, so that its ``build/`` starts empty)."""
    group = CpuGroup(f"hpostudy-bench-{os.getpid()}-{setting}")
    cli = [sys.executable, "-m", "hpostudy.study.cli", "run", *notebooks, "--force",
           "--profile", "smoke"]
    head = None
    try:
        if setting.startswith("local"):
            cli += ["--jobs", setting.split("-")[1]]
        else:
            port = _free_port()
            head = subprocess.Popen(
                [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block",
                 f"--port={port}", f"--num-cpus={setting.split('-')[1]}", "--num-gpus=0",
                 "--include-dashboard=false"], env=env, preexec_fn=group.enter,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cli += ["--executor", "ray", "--address", f"127.0.0.1:{port}"]
            time.sleep(10)  # the head's daemons come up (not counted in the wall time)
        load = os.getloadavg()[0]
        start = time.perf_counter()
        proc = subprocess.run(cli, cwd=project, env=env, preexec_fn=group.enter,
                              capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode:
            raise RuntimeError(f"{setting}: {proc.stderr[-2000:]}")
    finally:
        if head is not None:
            head.terminate()
            head.wait()
    cpu = group.seconds()
    group.remove()
    return {"setting": setting, "wall_seconds": round(wall, 1),
            "cpu_seconds": None if cpu is None else round(cpu, 1),
            "load_average": round(load, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebooks", nargs="+", default=["parameter_paths", "your_own_model"])
    parser.add_argument("--settings", nargs="+", default=["local-1", "local-2", "ray-1", "ray-2"],
                        help="local-N: hpostudy run --jobs N; ray-N: a Ray head with N CPUs")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "cluster_cpu.csv"))
    args = parser.parse_args()
    env = {**os.environ, "HPOSTUDY_THREADS": "1", "OMP_NUM_THREADS": "1", "RAY_AUTH_MODE": "token",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    rows = []
    for repeat in range(args.repeats):
        for setting in args.settings:
            project = Path(tempfile.mkdtemp(prefix="hpostudy-bench-"))
            for name in ("notebooks", "_config.yml"):
                (project / name).symlink_to(ROOT / name)
            try:
                row = {"repeat": repeat, **one_run(setting, args.notebooks, project, env)}
            finally:
                shutil.rmtree(project, ignore_errors=True)
            rows.append(row)
            print(row, flush=True)
    for setting in args.settings:
        walls = [r["wall_seconds"] for r in rows if r["setting"] == setting]
        cpus = [r["cpu_seconds"] for r in rows if r["setting"] == setting and r["cpu_seconds"]]
        print(f"{setting:8s} wall median {statistics.median(walls):7.1f} s  CPU median "
              f"{statistics.median(cpus) if cpus else float('nan'):7.1f} s")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    meta = (f"# notebooks: {' '.join(args.notebooks)}; profile smoke; HPOSTUDY_THREADS=1; "
            f"{os.cpu_count()} cores; {sys.version.split()[0]}\n")
    Path(args.out).with_suffix(".txt").write_text(meta)


if __name__ == "__main__":
    main()

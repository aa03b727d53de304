"""Benchmark of the hypergradient methods against plain PyTorch (not a test): time, memory and
agreement.

Task: MLP 784-50-50-50-10 (tanh), batch 128, per-unit log10 L2 on the weights (160
hyperparameters), SGD with momentum 0.9 in the thesis' form (gamma = 58982/2^16, the value the
exact method represents, so every method follows the same dynamics), float32, T steps. Data:
MNIST (15,000 training / 5,000 validation images) from ``$HPOSTUDY_DATA``, else random inputs
of MNIST's shape (the ``data`` column says which).

Rows (methods):

* ``plain``    -- the baseline: an ``nn.Module`` and ``torch.optim.SGD`` (lr = alpha (1 - gamma),
  momentum gamma: the thesis' form), the same batches and penalty, written here without hpostudy;
* ``train``    -- the same training through hpostudy's dynamics (``hpostudy.dynamics.train``);
* ``reverse``, ``reverse_sqrt`` (checkpointed), ``exact``, ``drmad``, ``forward`` -- hpostudy;
* ``implicit_cg`` -- hpostudy's implicit-function-theorem hypergradient at w_T, conjugate
  gradient with its default 100 iterations (``residual`` and ``hvps`` columns: where the solve
  stopped and the Hessian-vector products it used); ``truncated`` -- reverse mode through the
  last K = T/10 steps (``steps`` column);
* ``autograd`` -- ``create_graph=True`` through the unrolled loop, in plain PyTorch;
* ``higher``, ``torchopt`` -- the peer libraries (benchmark-only extras:
  ``pip install -c constraints.txt higher torchopt``).

Measurement: every (method, T, repetition) runs in its own process, after an untimed two-step
warm-up of the same method; repetitions are interleaved (all configurations once, then again).
Time is process CPU time (user + system, with the thread count fixed by ``--threads``) with wall
time beside it; on CUDA the wall time is taken between ``torch.cuda.synchronize()`` calls and is
the one to read. Memory is the peak above the warm process: on CPU the resident set's high-water
mark (reset after the warm-up through ``/proc/self/clear_refs``) minus the resident set then; on
CUDA ``torch.cuda.max_memory_allocated`` above the allocation after the warm-up. Ratios use the
best time: ``x_plain`` against ``plain``, ``x_train`` against ``train``, ``x_autograd`` against
``autograd`` at the same T. ``rel_err`` is the relative error of the hypergradient against the
method in ``vs`` (``reverse`` where it ran at that T, else ``exact``).

``load_max`` is the machine's 1-minute load average when the runs started (other work competes
for the cores and caches; read CPU times from a loaded machine with that in mind).

Feasibility: a configuration is run only if its predicted peak memory -- the footprint
*measured* at smaller T of the same method, a line through the two largest (fixed cost plus per
step) -- stays below ``--memory-fraction`` of the memory available (CPU: ``MemAvailable`` when it
starts; CUDA: the GPU's total), and its predicted time -- wall seconds per step measured at a
smaller T, times T -- below ``--max-seconds``. With fewer than two smaller T measured, probe runs
at T = 100 and 1,000 are made first. Skipped rows say why, with the prediction.

    python bench/hypergrad.py --T 100 1000 10000 --repeats 3 --repeat-seconds 600
    python bench/hypergrad.py --T 200000 --methods plain train exact drmad forward --repeats 1 \\
        --out bench/results/hypergrad_cpu_long.csv
    python bench/hypergrad.py --device cuda --T 100 1000 10000

Failures are kept whole: a worker's full traceback goes to the log next to the CSV
(``<out>.log``) and its last line into the row's ``status``.

Per-step overhead on a GPU: a reverse step is one ``Problem.linearize`` (gradient with its
graph) and one ``Dynamics.vjp`` (double backward), a few dozen small kernels. The place to cut
their launch overhead is that pair: capture it in a CUDA graph over static batch buffers (the
training loss must then read its batch from a fixed tensor instead of indexing by step) -- not
done here; ``torch.compile`` does not support the double backward the Hessian-vector product
needs.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

GAMMA = 58982 / 65536  # 0.9 as the exact method represents it (k = 16)
LR = 0.1  # thesis-form learning rate alpha
HIDDEN = (50, 50, 50)
ALL = ["plain", "train", "reverse", "reverse_sqrt", "exact", "drmad", "forward", "implicit_cg",
       "truncated", "autograd", "higher", "torchopt"]
OPTIONS = {  # hpostudy rows that are a method with options: (method, options at horizon T)
    "reverse_sqrt": lambda T: ("reverse", {"checkpoint_every": "sqrt"}),
    "implicit_cg": lambda T: ("implicit", {"solver": "cg"}),
    "truncated": lambda T: ("truncated", {"steps": max(1, T // 10)}),
}
PROBE_T = 100


# --------------------------------------------------------------------------- the task
def build(device: str):
    """The task through hpostudy, and the data source."""
    from hpostudy import data
    from hpostudy.hyper import Group, HyperSpace
    from hpostudy.models import MLP, FlatModel
    from hpostudy.problems import ClassificationTask

    try:
        splits, source = data.load_mnist(n_train=15000, n_val=5000, n_test=10), "MNIST"
    except data.DatasetMissing:
        g = torch.Generator().manual_seed(0)
        x, y = torch.rand(20010, 784, generator=g), torch.randint(0, 10, (20010,), generator=g)
        splits = data.Splits(x[:15000], y[:15000], x[15000:20000], y[15000:20000], x[20000:],
                             y[20000:], 10, "random")
        source = "random inputs"
    model = FlatModel(MLP(784, HIDDEN, 10, activation="tanh", seed=0).to(device))
    space = HyperSpace(model, [Group("l2", "log10_l2", "unit", init=-4.0)])
    task = ClassificationTask(model, splits.to(device), space, batch_size=128, seed=0)
    w0 = model.initial(device=device)
    return task, task.problem(w0), space, source


class PlainTask:
    """The same data, batches, model and penalty for the plain-PyTorch rows, without hpostudy's
    functional machinery: ``batch(t)`` and ``penalty(weights, theta)`` over ``nn.Linear``
    weights (per-unit coefficients ``10**theta`` along each weight's output units)."""

    def __init__(self, task):
        self.task = task
        self.x, self.y = task.splits.x_train, task.splits.y_train
        self.x_val, self.y_val = task.splits.x_val, task.splits.y_val
        self.units = [*HIDDEN, 10]

    def module(self):
        from hpostudy.models import MLP

        return MLP(784, HIDDEN, 10, activation="tanh", seed=0).to(self.x.device)

    def batch(self, t: int):
        idx = self.task.stream.indices(t).to(self.x.device)
        return self.x[idx], self.y[idx]

    def penalty(self, weights, theta):
        coefs = torch.pow(10.0, theta).split(self.units)
        return sum(torch.dot(c, w.square().sum(1)) for c, w in zip(coefs, weights))


def weights_of(params: dict) -> list:
    return [p for name, p in params.items() if name.endswith("weight")]


# --------------------------------------------------------------------------- the methods
def run_plain(plain: PlainTask, theta, T: int):
    import torch.nn.functional as F

    net = plain.module()
    opt = torch.optim.SGD(net.parameters(), lr=LR * (1 - GAMMA), momentum=GAMMA)
    weights = weights_of(dict(net.named_parameters()))
    for t in range(T):
        x, y = plain.batch(t)
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y) + plain.penalty(weights, theta)
        loss.backward()
        opt.step()
    return None


def run_autograd(plain: PlainTask, theta, T: int):
    """The hypergradient by ``create_graph=True`` through the unrolled loop (thesis form)."""
    import torch.nn.functional as F
    from torch.func import functional_call

    net = plain.module()
    theta = theta.clone().requires_grad_(True)
    names = [n for n, _ in net.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in net.parameters()]
    velocity = [torch.zeros_like(p) for p in params]
    for t in range(T):
        x, y = plain.batch(t)
        current = dict(zip(names, params))
        loss = F.cross_entropy(functional_call(net, current, (x,)), y) + \
            plain.penalty(weights_of(current), theta)
        grads = torch.autograd.grad(loss, params, create_graph=True)
        velocity = [GAMMA * v - (1 - GAMMA) * g for v, g in zip(velocity, grads)]
        params = [p + LR * v for p, v in zip(params, velocity)]
    val = F.cross_entropy(functional_call(net, dict(zip(names, params)), (plain.x_val,)),
                          plain.y_val)
    return torch.autograd.grad(val, theta)[0]


def run_higher(plain: PlainTask, theta, T: int):
    import higher
    import torch.nn.functional as F

    net = plain.module()
    theta = theta.clone().requires_grad_(True)
    opt = torch.optim.SGD(net.parameters(), lr=LR * (1 - GAMMA), momentum=GAMMA)
    with higher.innerloop_ctx(net, opt, copy_initial_weights=True) as (fnet, diffopt):
        for t in range(T):
            x, y = plain.batch(t)
            weights = [p for p in fnet.parameters() if p.dim() == 2]
            diffopt.step(F.cross_entropy(fnet(x), y) + plain.penalty(weights, theta))
        val = F.cross_entropy(fnet(plain.x_val), plain.y_val)
        return torch.autograd.grad(val, theta)[0]


def run_torchopt(plain: PlainTask, theta, T: int):
    import torch.nn.functional as F
    import torchopt

    net = plain.module()
    theta = theta.clone().requires_grad_(True)
    opt = torchopt.MetaSGD(net, lr=LR * (1 - GAMMA), momentum=GAMMA)
    for t in range(T):
        x, y = plain.batch(t)
        weights = weights_of(dict(net.named_parameters()))
        opt.step(F.cross_entropy(net(x), y) + plain.penalty(weights, theta))
    val = F.cross_entropy(net(plain.x_val), plain.y_val)
    return torch.autograd.grad(val, theta)[0]


PEERS = {"plain": run_plain, "autograd": run_autograd, "higher": run_higher,
         "torchopt": run_torchopt}


def run(method: str, task, plain: PlainTask, problem, dynamics, theta, T: int):
    """Run one configuration; returns the hypergradient (or None) and scalar diagnostics."""
    from hpostudy import hypergrad as hg
    from hpostudy.dynamics import train

    if method in PEERS:
        return PEERS[method](plain, theta, T), {}
    if method == "train":
        train(problem, dynamics, theta, T)
        return None, {}
    name, options = OPTIONS[method](T) if method in OPTIONS else (method, {})
    res = hg.hypergradient(name, problem, dynamics, theta, T, **options)
    return res.hypergrad, res.diagnostics.scalars()


# --------------------------------------------------------------------------- one process
def _status_kb(key: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{key}:\s+(\d+) kB", text, re.M).group(1))


def device_line(device: str, threads: int) -> str:
    """The machine, threads, torch version and (from ``$BENCH_COMMIT``) the code measured."""
    commit = os.environ.get("BENCH_COMMIT", "")
    code = f", hpostudy {commit[:10]}" if commit else ""
    if device == "cuda":
        return (f"{torch.cuda.get_device_name(0)}, CUDA {torch.version.cuda}, "
                f"torch {torch.__version__}{code}")
    model = platform.processor() or "CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{model} ({os.cpu_count()} cores), {threads} thread{'s' * (threads > 1)}, "
            f"torch {torch.__version__}{code}")


def worker(method: str, T: int, device: str, threads: int, out: str) -> None:
    from hpostudy.dynamics import SGDMomentum

    torch.set_num_threads(threads)
    if device == "cuda":
        torch.use_deterministic_algorithms(True, warn_only=True)
    task, problem, space, source = build(device)
    plain = PlainTask(task)
    theta = space.init(dtype=torch.float32, device=device)
    dynamics = SGDMomentum(lr=LR, momentum=GAMMA)
    run(method, task, plain, problem, dynamics, theta, 2)  # untimed warm-up, every method alike
    import gc

    gc.collect()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = _status_kb("VmRSS") * 1024
        Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark
    load = os.getloadavg()[0]  # other work on the machine while this ran (1-minute average)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    hypergrad, diagnostics = run(method, task, plain, problem, dynamics, theta, T)
    if device == "cuda":
        torch.cuda.synchronize()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = _status_kb("VmHWM") * 1024 - base
    if hypergrad is not None:
        torch.save(hypergrad.detach().cpu().double(), out + ".pt")
    Path(out + ".json").write_text(json.dumps({
        "cpu_s": cpu, "wall_s": wall, "peak_bytes": max(peak, 0), "load": load,
        "device": device_line(device, threads), "data": source, **diagnostics}))


# --------------------------------------------------------------------------- the driver
def available_memory(device: str) -> float:
    """Memory a run may use now: the GPU's total, or the machine's MemAvailable (other
    processes keep theirs)."""
    if device == "cuda":
        return float(torch.cuda.get_device_properties(0).total_memory)
    text = Path("/proc/meminfo").read_text()
    return float(re.search(r"^MemAvailable:\s+(\d+) kB", text, re.M).group(1)) * 1024


class Driver:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="bench-hypergrad-")
        self.raw: list[dict] = []
        self.out = Path(args.out or f"bench/results/hypergrad_{args.device}.csv")
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.log = self.out.with_suffix(".log")
        self.log.write_text("")

    def launch(self, method: str, T: int, stem: str) -> dict:
        cmd = [sys.executable, __file__, "--device", self.args.device, "--threads",
               str(self.args.threads), "--worker", method, str(T), stem]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else \
                f"exit status {proc.returncode}"
            with self.log.open("a") as fh:
                fh.write(f"==== {method} T={T}: exit status {proc.returncode}\n$ {' '.join(cmd)}\n"
                         f"{proc.stderr}\n")
            return {"status": f"failed: {last} (full traceback in {self.log.name})"}
        return {"status": "ok", **json.loads(Path(stem + ".json").read_text())}

    def measured(self, method: str, below: int) -> list[dict]:
        """The successful rows of ``method`` below ``below``, one per T, largest T first."""
        rows = {}
        for r in self.raw:
            if r["method"] == method and r["status"] == "ok" and r["T"] < below:
                rows[r["T"]] = max(rows.get(r["T"], r), r, key=lambda x: x["peak_bytes"])
        return [rows[T] for T in sorted(rows, reverse=True)]

    @staticmethod
    def predicted_peak(rows: list[dict], T: int) -> tuple[float, str]:
        """Peak bytes at T: a line through the two largest measured T (fixed cost plus a
        per-step footprint), or the per-step average of one (an over-estimate)."""
        big = rows[0]
        if len(rows) >= 2:
            small = rows[1]
            slope = max((big["peak_bytes"] - small["peak_bytes"]) / (big["T"] - small["T"]), 0.0)
            fixed = big["peak_bytes"] - slope * big["T"]
            return fixed + slope * T, (f"{slope / 1e6:.3f} MB/step measured between T = "
                                       f"{small['T']} and {big['T']}")
        slope = big["peak_bytes"] / big["T"]
        return slope * T, f"{slope / 1e6:.3f} MB/step measured at T = {big['T']}"

    def probe(self, method: str, T: int) -> dict:
        stem = os.path.join(self.tmp, f"{method}_{T}_probe")
        row = {"method": method, "T": T, "rep": -1, **self.launch(method, T, stem)}
        self.raw.append(row)
        return row

    def why_not(self, method: str, T: int) -> str:
        """Why ``method`` is not run at ``T`` ('' to run it): predicted time over the budget or
        predicted peak memory over the allowed fraction, from runs at smaller T (probes at
        T = 100 and 1,000 when there are none)."""
        rows = self.measured(method, T)
        for probe_T in (PROBE_T, 10 * PROBE_T):
            if len(rows) >= 2 or probe_T >= T or any(r["T"] == probe_T for r in rows):
                continue
            if rows and self.too_slow(rows[0], T):
                break  # the time alone rules it out: no second probe
            probe = self.probe(method, probe_T)
            if probe["status"] != "ok":
                return f"skipped: the probe at T = {probe_T} failed ({probe['status']})"
            rows = self.measured(method, T)
        if not rows:
            return ""
        slow = self.too_slow(rows[0], T)
        if slow:
            return slow
        total = available_memory(self.args.device)
        need, basis = self.predicted_peak(rows, T)
        if need > self.args.memory_fraction * total:
            return (f"skipped: needs about {need / 1e9:.1f} GB ({basis}), over "
                    f"{self.args.memory_fraction:.0%} of the {total / 1e9:.0f} GB available")
        return ""

    def too_slow(self, ref: dict, T: int) -> str:
        seconds = ref["wall_s"] / ref["T"] * T
        if seconds > self.args.max_seconds:
            return (f"skipped: limited by time, about {seconds / 3600:.1f} h predicted "
                    f"({ref['wall_s'] / ref['T']:.3f} s/step wall measured at T = {ref['T']}), "
                    f"over the {self.args.max_seconds / 3600:.1f} h budget of one run")
        return ""

    def why_not_again(self, method: str, T: int) -> str:
        """Repetitions are skipped for configurations whose first run took longer than
        ``--repeat-seconds`` (the row's ``repeats`` says how many ran)."""
        first = [r for r in self.raw if r["method"] == method and r["T"] == T and r["rep"] == 0]
        if first and first[0]["status"] == "ok" and first[0]["wall_s"] > self.args.repeat_seconds:
            return "once"
        return ""

    def main(self) -> None:
        args = self.args
        configs = [(m, T) for T in sorted(args.T) for m in args.methods]
        skipped: dict[tuple, str] = {}
        for rep in range(args.repeats):  # interleaved repetitions
            for method, T in configs:
                if (method, T) in skipped:
                    continue
                why = self.why_not(method, T) if rep == 0 else self.why_not_again(method, T)
                if why and rep > 0:
                    skipped[(method, T)] = why
                    continue
                if why:
                    skipped[(method, T)] = why
                    self.raw.append({"method": method, "T": T, "rep": rep, "status": why})
                    print(f"{method:13s} T={T:<7d} {why}", flush=True)
                    continue
                stem = os.path.join(self.tmp, f"{method}_{T}_{rep}")
                row = {"method": method, "T": T, "rep": rep, **self.launch(method, T, stem)}
                self.raw.append(row)
                if row["status"] == "ok":
                    print(f"rep {rep} {method:13s} T={T:<7d} cpu {row['cpu_s']:9.2f} s  wall "
                          f"{row['wall_s']:9.2f} s  {row['peak_bytes'] / 1e6:9.1f} MB", flush=True)
                else:
                    print(f"rep {rep} {method:13s} T={T:<7d} {row['status']}", flush=True)
                self.write()
        table = self.write()
        print(table.to_string(index=False))
        print(f"written {self.out}")

    def write(self):
        import pandas as pd

        raw = pd.DataFrame(self.raw)
        raw.to_csv(self.out.with_name(self.out.stem + "_raw.csv"), index=False)
        table = summarize(raw, self.tmp)
        table.to_csv(self.out, index=False)
        return table


def summarize(raw, tmp: str):
    import pandas as pd

    raw = raw[raw.rep >= 0]
    ok = raw[raw.status == "ok"]

    def best(method, T, col="cpu_s"):
        g = ok[(ok.method == method) & (ok["T"] == T)]
        return g[col].min() if len(g) else None

    out = []
    for (method, T), grp in raw.groupby(["method", "T"], sort=False):
        good = grp[grp.status == "ok"]
        row = {"method": method, "T": T}
        if good.empty:
            row["status"] = grp.status.iloc[0]
            out.append(row)
            continue
        row["status"] = "ok"
        row["repeats"] = len(good)
        row["cpu_s_best"] = round(good.cpu_s.min(), 3)
        row["cpu_s_median"] = round(statistics.median(good.cpu_s), 3)
        row["wall_s_best"] = round(good.wall_s.min(), 3)
        row["load_max"] = round(good.load.max(), 1)
        for label, ref in (("x_plain", "plain"), ("x_train", "train"), ("x_autograd", "autograd")):
            base = best(ref, T)
            if base and method != ref and not (ref == "autograd" and method in
                                               ("plain", "train", "autograd")):
                row[label] = round(good.cpu_s.min() / base, 2)
        peak = good.peak_bytes.max()
        row["peak_MB"] = round(peak / 1e6, 2)
        row["MB_per_step"] = round(peak / 1e6 / T, 4)
        # every method's memory is diagnostics.stored_bytes; raw files recorded earlier hold
        # exact reversal's under buffer_bytes (recorded files are history)
        for key, label, scale in (("stored_bytes", "stored_MB", 1e-6),
                                  ("buffer_bytes", "stored_MB", 1e-6),
                                  ("buffer_bits_per_param_step", "bits_per_param_step", 1),
                                  ("information_bound_bits", "bound_bits", 1),
                                  ("reverse_steps", "reverse_steps", 1),
                                  ("steps", "steps", 1), ("hvps", "hvps", 1),
                                  ("residual", "residual", 1)):
            if key in good and not pd.isna(good[key].iloc[0]):
                value = good[key].iloc[0] * scale
                row[label] = round(value, 4) if isinstance(value, float) else value
        if "buffer_bits_per_param_step" in good and not pd.isna(good.buffer_bits_per_param_step.iloc[0]):
            P = 784 * 50 + 50 * 50 * 2 + 50 * 10 + 160
            row["info_MB"] = round(good.buffer_bits_per_param_step.iloc[0] * P * T / 8 / 1e6, 4)
        for vs in ("reverse", "exact"):
            ref, mine = Path(tmp, f"{vs}_{T}_0.pt"), Path(tmp, f"{method}_{T}_0.pt")
            if method != vs and ref.exists() and mine.exists():
                a, b = torch.load(mine), torch.load(ref)
                row["rel_err"] = float((a - b).norm() / b.norm())
                row["vs"] = vs
                break
        row["device"] = good.device.iloc[0]
        row["data"] = good.data.iloc[0]
        out.append(row)
    columns = ["method", "T", "status", "repeats", "cpu_s_best", "cpu_s_median", "wall_s_best", "load_max",
               "x_plain", "x_train", "x_autograd", "peak_MB", "MB_per_step", "stored_MB",
               "info_MB", "bits_per_param_step", "bound_bits", "reverse_steps", "steps", "hvps",
               "residual", "rel_err", "vs",
               "data", "device"]
    table = pd.DataFrame(out)
    return table[[c for c in columns if c in table]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--T", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--methods", nargs="+", default=ALL, choices=ALL)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-fraction", type=float, default=0.6,
                        help="largest predicted peak, as a fraction of the machine's memory")
    parser.add_argument("--max-seconds", type=float, default=4 * 3600,
                        help="largest predicted time of one run")
    parser.add_argument("--repeat-seconds", type=float, default=float("inf"),
                        help="run a configuration once if its first run took longer")
    parser.add_argument("--out", default=None, help="CSV path (default bench/results/...)")
    parser.add_argument("--worker", nargs=3, metavar=("METHOD", "T", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        try:
            worker(args.worker[0], int(args.worker[1]), args.device, args.threads, args.worker[2])
        except BaseException:
            traceback.print_exc()
            sys.exit(1)
        return
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is visible to torch")
    if any(T <= 0 for T in args.T) or args.repeats <= 0 or args.threads <= 0:
        parser.error("--T, --repeats and --threads must be positive")
    if not 0 < args.memory_fraction < 1 or args.max_seconds <= 0:
        parser.error("--memory-fraction must be in (0, 1) and --max-seconds positive")
    Driver(args).main()


if __name__ == "__main__":
    main()

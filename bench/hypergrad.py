"""Benchmark of the hypergradient methods (not a test): time, memory and agreement.

Task (issue "Hypergradient engine"): MLP 784-50-50-50-10 (tanh), batch 128, per-unit log10 L2
(160 hyperparameters), SGD with momentum 0.9 (thesis form; gamma = 58982/2^16 so that every
method, the exact one included, follows the same dynamics), float32, T steps. Data: MNIST from
the data root when present, else random inputs of MNIST's shape (the row says which).

For every (method, T): wall time per hypergradient, its ratio to plain training for T steps, peak
memory above the process' baseline and its growth per step, and the relative error of the
hypergradient against our stored-trajectory reverse mode at the same T. Each configuration runs
in its own process; repetitions are interleaved; best and median are reported.

    python bench/hypergrad.py --device cpu --T 100 1000 --repeats 3
    python bench/hypergrad.py --device cuda --T 100 1000 10000 200000

Methods: train (plain training), reverse, reverse_sqrt (checkpointed), exact, drmad, forward,
autograd (create_graph=True through the unrolled loop), higher, torchopt (the peer libraries;
``pip install higher torchopt``).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

GAMMA = 58982 / 65536  # 0.9 as the exact method represents it (k = 16)
LR = 0.1  # thesis-form learning rate
ALL = ["train", "reverse", "reverse_sqrt", "exact", "drmad", "forward", "autograd", "higher",
       "torchopt"]
BYTES_PER_STEP = {"reverse": 2, "autograd": 5, "higher": 6, "torchopt": 6}  # parameter vectors


def build(device: str):
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
    model = FlatModel(MLP(784, (50, 50, 50), 10, activation="tanh", seed=0).to(device))
    space = HyperSpace(model, [Group("l2", "log10_l2", "unit", init=-4.0)])
    task = ClassificationTask(model, splits.to(device), space, batch_size=128, seed=0)
    w0 = model.initial(device=device)
    return task, task.problem(w0), space, source


def peer_hypergrad(kind: str, task, problem, theta, T: int):
    """The same hypergradient by autograd through the unrolled loop, higher or torchopt."""
    import torch.nn.functional as F

    theta = theta.clone().requires_grad_(True)
    if kind == "autograd":
        w = problem.w0.clone().requires_grad_(True)
        v = torch.zeros_like(w)
        w_t = w
        for t in range(T):
            g, = torch.autograd.grad(problem.train_loss(w_t, theta, t), w_t, create_graph=True)
            v = GAMMA * v - (1 - GAMMA) * g
            w_t = w_t + LR * v
        f = problem.val_loss(w_t, theta)
        return torch.autograd.grad(f, theta)[0]
    model = task.model.module
    with torch.no_grad():
        for p, q in zip(model.parameters(), task.model.unflatten(problem.w0).values()):
            p.copy_(q)
    # PyTorch's SGD (buf = gamma*buf + g; w -= lr*buf) with lr*(1-gamma) is the thesis' form
    torch_lr = LR * (1 - GAMMA)

    def penalized(fmodel_params, t):
        idx = task.stream.indices(t).to(problem.w0.device)
        x, y = task.splits.x_train[idx], task.splits.y_train[idx]
        return F.cross_entropy(fmodel(x) if fmodel_params is None else fmodel_params(x), y)

    def penalty(params):
        flat = torch.cat([p.reshape(-1) for p in params])
        return task.space.l2_penalty(flat, theta)

    if kind == "higher":
        import higher

        opt = torch.optim.SGD(model.parameters(), lr=torch_lr, momentum=GAMMA)
        with higher.innerloop_ctx(model, opt, copy_initial_weights=True) as (fmodel, diffopt):
            for t in range(T):
                loss = penalized(fmodel, t) + penalty(fmodel.parameters())
                diffopt.step(loss)
            flat = torch.cat([p.reshape(-1) for p in fmodel.parameters()])
            f = problem.val_loss(flat, theta)
            return torch.autograd.grad(f, theta)[0]
    import torchopt

    net = type(model)(784, (50, 50, 50), 10, activation="tanh", seed=0).to(problem.w0.device)
    net.load_state_dict(model.state_dict())
    opt = torchopt.MetaSGD(net, lr=torch_lr, momentum=GAMMA)
    for t in range(T):
        loss = penalized(net, t) + penalty(list(net.parameters()))
        opt.step(loss)
    flat = torch.cat([p.reshape(-1) for p in net.parameters()])
    return torch.autograd.grad(problem.val_loss(flat, theta), theta)[0]


def worker(method: str, T: int, device: str, out: str) -> None:
    from hpostudy.dynamics import SGDMomentum

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", torch.get_num_threads())))
    if device == "cuda":
        torch.use_deterministic_algorithms(True, warn_only=True)
    task, problem, space, source = build(device)
    theta = space.init(dtype=torch.float32, device=device)
    dynamics = SGDMomentum(lr=LR, momentum=GAMMA)
    run(method, task, problem, space, dynamics, theta, 2)  # untimed warm-up, every method alike
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base_gpu = torch.cuda.memory_allocated()
    start = time.perf_counter()
    result, diagnostics = run(method, task, problem, space, dynamics, theta, T)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated() - base_gpu
        device_name = torch.cuda.get_device_name(0)
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base_rss
        device_name = f"CPU, {torch.get_num_threads()} threads"
    if result is not None:
        torch.save(result.detach().cpu().double(), out + ".pt")
    Path(out + ".json").write_text(json.dumps({
        "seconds": seconds, "peak_bytes": max(peak, 0), "device_name": device_name,
        "data": source, "diagnostics": diagnostics}))


def run(method, task, problem, space, dynamics, theta, T):
    from hpostudy import hypergrad as hg
    from hpostudy.dynamics import train

    if method == "train":
        train(problem, dynamics, theta, T)
        return None, {}
    if method in ("autograd", "higher", "torchopt"):
        return peer_hypergrad(method, task, problem, theta, T), {}
    options = {"reverse_sqrt": {"checkpoint_every": "sqrt"}}.get(method, {})
    name = "reverse" if method == "reverse_sqrt" else method
    res = hg.hypergradient(name, problem, dynamics, theta, T, **options)
    return res.hypergrad, {k: v for k, v in res.diagnostics.items() if isinstance(v, (int, float))}


def feasible(method: str, T: int, device: str, P: int = 44860) -> str:
    """Why a configuration is skipped, or '' (memory estimate against the machine)."""
    per_step = BYTES_PER_STEP.get(method, 0) * P * 4
    limit = (torch.cuda.get_device_properties(0).total_memory if device == "cuda"
             else os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) * 0.7
    if per_step * T > limit:
        return f"skipped: needs about {per_step * T / 1e9:.0f} GB"
    if method == "forward" and T > (1000 if device == "cuda" else 100):
        return "skipped: 160 JVPs per step, too slow at this T on this device"
    if method in ("autograd", "higher", "torchopt", "reverse") and T > 20000:
        return "skipped: too slow for this benchmark"
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--T", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--methods", nargs="+", default=ALL, choices=ALL)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None, help="CSV path (default bench/results/...)")
    parser.add_argument("--worker", nargs=3, metavar=("METHOD", "T", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), args.device, args.worker[2])
        return
    import pandas as pd

    rows, tmp = [], tempfile.mkdtemp()
    out = Path(args.out or f"bench/results/hypergrad_{args.device}.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    table = None
    configs = [(m, T) for T in args.T for m in args.methods]
    for rep in range(args.repeats):  # interleaved repetitions
        for method, T in configs:
            why = feasible(method, T, args.device)
            if why:
                if rep == 0:
                    rows.append({"method": method, "T": T, "rep": rep, "status": why})
                continue
            stem = os.path.join(tmp, f"{method}_{T}_{rep}")
            proc = subprocess.run([sys.executable, __file__, "--device", args.device,
                                   "--worker", method, str(T), stem], capture_output=True, text=True)
            if proc.returncode:
                rows.append({"method": method, "T": T, "rep": rep,
                             "status": "failed: " + proc.stderr.strip().splitlines()[-1][:120]})
                continue
            info = json.loads(Path(stem + ".json").read_text())
            rows.append({"method": method, "T": T, "rep": rep, "status": "ok", **{
                k: v for k, v in info.items() if k != "diagnostics"}, **info["diagnostics"]})
            print(f"rep {rep} {method:13s} T={T:<7d} {info['seconds']:9.2f} s "
                  f"{info['peak_bytes'] / 1e6:9.1f} MB", flush=True)
            table = summarize(pd.DataFrame(rows), tmp, args.repeats)
            table.to_csv(out, index=False)  # partial results survive an interrupted run
    if table is not None:
        print(table.to_string(index=False))
    print(f"written {out}")


def summarize(raw, tmp: str, repeats: int):
    import pandas as pd

    out = []
    for (method, T), grp in raw.groupby(["method", "T"], sort=False):
        ok = grp[grp.status == "ok"]
        row = {"method": method, "T": T}
        if ok.empty:
            row["status"] = grp.status.iloc[0]
            out.append(row)
            continue
        train = raw[(raw.method == "train") & (raw["T"] == T) & (raw.status == "ok")]
        best, median = ok.seconds.min(), statistics.median(ok.seconds)
        row.update({"status": "ok", "device": ok.device_name.iloc[0], "data": ok.data.iloc[0],
                    "best_s": round(best, 3), "median_s": round(median, 3),
                    "x_train": round(best / train.seconds.min(), 2) if len(train) else None,
                    "peak_MB": round(ok.peak_bytes.max() / 1e6, 1),
                    "MB_per_step": round(ok.peak_bytes.max() / 1e6 / T, 4)})
        for key in ("buffer_bits_per_param_step", "information_bound_bits", "reverse_steps", "m"):
            if key in ok and not pd.isna(ok[key].iloc[0]):
                row[key] = ok[key].iloc[0]
        ref, mine = Path(tmp, f"reverse_{T}_0.pt"), Path(tmp, f"{method}_{T}_0.pt")
        if ref.exists() and mine.exists() and method != "reverse":
            a, b = torch.load(mine), torch.load(ref)
            row["rel_err_vs_reverse"] = float((a - b).norm() / b.norm())
        out.append(row)
    return pd.DataFrame(out)


if __name__ == "__main__":
    main()

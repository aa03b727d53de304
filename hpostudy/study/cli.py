"""``hpostudy`` command line: ``list``, ``show``, ``run``, ``book``, ``record``,
``rejudge`` and ``cells``.

    hpostudy list
    hpostudy show NOTEBOOK [--profile smoke|cpu|paper]
    hpostudy run [NOTEBOOK ...] [--profile smoke|cpu|paper] [--device cpu|cuda] [-p KEY=VALUE ...]
                 [--jobs N] [--force] [--no-notebook]
                 [--executor local|ray] [--address HOST:PORT] [--storage URL]
    hpostudy book [--profile smoke|cpu|paper] [--chapters CHAPTER ...]
    hpostudy record [--profile cpu|paper] [--only NAME ...] [--partial]
    hpostudy cells [NOTEBOOK ...] [--check]

NOTEBOOK is a name from notebooks/ or a path to any jupytext .py notebook (a copy of one of
the study's, adapted to your model); without one, every notebook of notebooks/ runs.
--executor ray runs the notebooks and their units of work as tasks of a Ray cluster (README,
"Running on a cluster"); --storage puts every black-box search on one shared Optuna storage.
"""
from __future__ import annotations

import argparse
import ast
import shlex
import sys

from .profiles import DEVICES, PROFILES

EXPECTED_ERRORS = (ValueError, TypeError, RuntimeError, FileNotFoundError)


def parse_assignment(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` with VALUE read as a Python literal where it is one (else a string)."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got '{text}'")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key.isidentifier():
        raise argparse.ArgumentTypeError(f"'{key}' is not a parameter name (in '{text}')")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hpostudy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the notebooks, their chapters and titles")
    show = sub.add_parser("show", help="every parameter of a notebook: type, range, the "
                                       "profile's value, comment")
    show.add_argument("notebook", metavar="NOTEBOOK",
                      help="a name from notebooks/ or a path to a .py notebook")
    show.add_argument("--profile", choices=list(PROFILES), default="smoke")
    run = sub.add_parser("run", help="execute notebooks with papermill")
    run.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                     help="names from notebooks/ or paths to .py notebooks (default: all)")
    run.add_argument("--only", nargs="+", metavar="NAME", default=[],
                     help="the same as giving NOTEBOOK names")
    run.add_argument("--profile", default="smoke", choices=list(PROFILES))
    run.add_argument("--device", choices=list(DEVICES), default=None,
                     help="default: the profile's device (cuda for paper)")
    run.add_argument("-p", dest="params", action="append", type=parse_assignment, default=[],
                     metavar="KEY=VALUE", help="override one parameter (repeatable)")
    run.add_argument("--jobs", type=int, default=None,
                     help="notebooks run at the same time (default: one per core)")
    run.add_argument("--force", action="store_true", help="re-run unchanged notebooks too")
    run.add_argument("--no-notebook", action="store_true",
                     help="run each notebook's code as a plain Python script (no Jupyter; "
                          "tables and figures only)")
    run.add_argument("--executor", choices=("local", "ray"), default="local",
                     help="local: worker processes on this machine (default); ray: notebooks "
                          "and their units as tasks of a Ray cluster (one GPU each on cuda)")
    run.add_argument("--address", default=None, metavar="HOST:PORT",
                     help="the running Ray cluster to use (default: RAY_ADDRESS, else a new "
                          "local one); only with --executor ray")
    run.add_argument("--storage", default=None, metavar="URL",
                     help="an Optuna storage shared by the black-box searches, e.g. "
                          "postgresql://user:password@host/db (default: a file per run)")
    book = sub.add_parser("book", help="build the HTML book from the executed notebooks")
    book.add_argument("--profile", default="smoke", choices=list(PROFILES))
    book.add_argument("--chapters", nargs="+", metavar="CHAPTER",
                      help="only these chapter pages (default: all), from their notebooks' runs")
    rec = sub.add_parser("record", help="keep a profile's finished results in book/recorded/")
    rec.add_argument("--profile", default="cpu", choices=list(PROFILES))
    rec.add_argument("--only", nargs="+", metavar="NAME")
    rec.add_argument("--partial", action="store_true",
                     help="keep the finished units and latest checkpoints of unfinished runs in "
                          "book/recorded/<profile>/<notebook>/partial/ (not results: the next "
                          "`hpostudy run` with the same settings and code resumes from them)")
    judge = sub.add_parser("rejudge", help="recompute the comparison tables of recorded runs "
                                           "from their recorded tables by today's verdict rules")
    judge.add_argument("--profile", default="cpu",
                       help="the folder of book/recorded/ to judge again (cpu, h100, ...)")
    judge.add_argument("--only", nargs="+", metavar="NAME")
    cells = sub.add_parser("cells", help="write each notebook's parameters cell from its "
                                         "experiment's Config (the one declaration of a knob)")
    cells.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                       help="names from notebooks/ or paths to .py notebooks (default: all)")
    cells.add_argument("--check", action="store_true",
                       help="write nothing; exit 1 if a cell differs from what would be written")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The ``hpostudy`` command: parse ``argv`` and run the subcommand.

    Args:
        argv: the arguments (None: the process's).

    Returns:
        int: the exit status; 2 after an expected error, printed as one line.
    """
    args = _parser().parse_args(argv)
    args.resume = shlex.join(["hpostudy", *(sys.argv[1:] if argv is None else argv)])
    try:
        return _dispatch(args)
    except EXPECTED_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _dispatch(args) -> int:
    from . import book, execute, record
    from .project import project_root

    if args.command == "list":
        from .notebooks import discover

        for nb in discover(project_root()).values():
            print(f"{nb.name:24s} {nb.chapter or '-':16s} {nb.title}")
        return 0
    if args.command == "show":
        print(show(args.notebook, args.profile))
        return 0
    if args.command == "record" and args.partial:
        from .partial import record_partial

        print("\n".join(record_partial(args.profile, args.only)))
        return 0
    if args.command == "record":
        print(f"recorded into {record.record_results(args.profile, args.only)}")
        return 0
    if args.command == "rejudge":
        from .rejudge import rejudge_all

        target = project_root() / "book" / "recorded" / args.profile
        if not target.is_dir():
            there = sorted(p.name for p in target.parent.glob("*") if p.is_dir())
            raise FileNotFoundError(f"no recorded runs in {target}: --profile names a folder of "
                                    f"book/recorded/ ({', '.join(there) or 'none yet'})")
        print(f"judged again: {', '.join(rejudge_all(target, args.only))}")
        return 0
    if args.command == "cells":
        return write_cells(args.notebooks, args.check)
    if args.command == "book":
        html = book.build_book(args.profile, chapters=args.chapters)
        print(f"book written to {html}/index.html")
        return 0
    if args.jobs is not None and args.jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
    if args.executor == "ray" and args.jobs is not None:
        raise ValueError("--jobs is for the local executor: with --executor ray the cluster's "
                         "GPUs and CPUs decide how many notebooks run at once")
    if args.address and args.executor != "ray":
        raise ValueError("--address names a Ray cluster: use it with --executor ray")
    params = dict(args.params)
    if "profile" in params:
        raise ValueError(f"-p profile={params['profile']}: the profile is not a notebook "
                         "parameter here (it sets every knob's default and the output folder); "
                         f"give it as --profile {params['profile']}")
    device = params.pop("device", None) or args.device
    selection = list(args.notebooks) + list(args.only)
    from . import shutdown

    with shutdown.stopping(args.resume):  # SIGINT, SIGTERM: stop all it started, one line
        outcomes = execute.run_notebooks(selection or None, args.profile, device, params,
                                        force=args.force, jobs=args.jobs,
                                        direct=args.no_notebook, executor=args.executor,
                                        address=args.address, storage=args.storage)
    for o in outcomes:
        print(f"{o.status:22s} {o.name:24s} {o.seconds:7.1f} s  -> {o.results}"
              + (f"  ({o.note})" if o.note else ""))
    failed = [o for o in outcomes if o.status == "failed"]
    for o in failed:
        print(f"error: notebook '{o.name}' failed: {o.error}", file=sys.stderr)
    return 1 if failed else 0


def write_cells(selection: list[str], check: bool = False) -> int:
    """``hpostudy cells``: rewrite the parameters cell of the notebooks of ``selection``
    (default: all of ``notebooks/``) from their configurations, naming each one changed; with
    ``check``, name the cells that differ and return 1 if any does, writing nothing."""
    from . import cells
    from .project import root_or_cwd
    from .notebooks import resolve

    paths = [nb.path for nb in resolve(selection or None, root_or_cwd())]
    if check:
        differ = cells.stale(paths)
        for path in differ:
            print(f"{path}: its parameters cell differs from its Config")
        if differ:
            print("rewrite them with `hpostudy cells`")
        return 1 if differ else 0
    for path in paths:
        if cells.write(path):
            print(f"rewrote the parameters cell of {path}")
    return 0


def show(notebook: str, profile: str = "smoke") -> str:
    """The text of ``hpostudy show``: one block per parameter of the notebook, with its type,
    range, the value ``profile`` gives it and its comment (the Config's, else the cell's)."""
    from .project import root_or_cwd
    from .notebooks import resolve

    (nb,) = resolve([notebook], root_or_cwd())
    config = nb.config
    if config is None:
        rows = [{"knob": k, "type": "", "range": "", "value": default, "comment": comment}
                for k, (default, comment) in nb.parameters.items()]
    else:
        rows = config.knob_table(profile)
        for row in rows:
            row["comment"] = row["comment"] or nb.parameters.get(row["knob"], (None, ""))[1]
    lines = [f"{nb.name} ({nb.path}), profile {profile}: -p KNOB=VALUE to change one"]
    width = max(len(r["knob"]) for r in rows)
    for r in rows:
        kind = r["type"] + (f", {r['range']}" if r["range"] else "")
        lines.append(f"  {r['knob']:{width}s}  {r['value']!r}" + (f"  ({kind})" if kind else ""))
        if r["comment"]:
            lines.append(f"  {'':{width}s}    {r['comment']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

"""``hpostudy`` command line: ``list``, ``run`` and ``book``.

    hpostudy list
    hpostudy run [--profile smoke|cpu|paper] [--only NAME ...] [--device cpu|cuda] [-p KEY=VALUE ...]
    hpostudy book [--profile smoke|cpu|paper]
    hpostudy record [--profile cpu|paper] [--only NAME ...]
"""
from __future__ import annotations

import argparse
import ast
import sys

from . import registry
from .profiles import PROFILES


def parse_assignment(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` with VALUE read as a Python literal where it is one (else a string)."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got '{text}'")
    key, raw = text.split("=", 1)
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key.strip(), value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hpostudy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the notebooks and the figures they produce")
    run = sub.add_parser("run", help="execute notebooks with papermill")
    run.add_argument("--profile", default="smoke", choices=list(PROFILES))
    run.add_argument("--only", nargs="+", metavar="NAME", help="notebooks to run (default: all)")
    run.add_argument("--device", choices=["cpu", "cuda"], default=None,
                     help="default: the profile's device (cuda for paper)")
    run.add_argument("-p", dest="params", action="append", type=parse_assignment, default=[],
                     metavar="KEY=VALUE", help="override one parameter (repeatable)")
    run.add_argument("--force", action="store_true", help="re-run unchanged notebooks too")
    run.add_argument("--no-notebook", action="store_true",
                     help="call the experiments directly, without papermill (tables and figures "
                          "only; for machines without Jupyter)")
    book = sub.add_parser("book", help="build the HTML book from the executed notebooks")
    book.add_argument("--profile", default="smoke", choices=list(PROFILES))
    rec = sub.add_parser("record", help="keep a profile's tables and figures in book/recorded/")
    rec.add_argument("--profile", default="cpu", choices=list(PROFILES))
    rec.add_argument("--only", nargs="+", metavar="NAME")
    args = parser.parse_args(argv)

    if args.command == "list":
        for nb in registry.NOTEBOOKS.values():
            print(f"{nb.name:24s} {', '.join(nb.figures):30s} {nb.title}")
        return 0
    if args.command == "record":
        from .runner import record_results

        try:
            print(f"recorded into {record_results(args.profile, args.only)}")
        except FileNotFoundError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        return 0
    if args.command == "book":
        from .runner import build_book

        try:
            html = build_book(args.profile)
        except FileNotFoundError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(f"book written to {html}/index.html")
        return 0

    from .profiles import get_profile
    from .runner import run_notebooks

    device = args.device or get_profile(args.profile).default_device
    params = dict(args.params)
    if args.no_notebook:
        return _run_directly(args.only or list(registry.NOTEBOOKS), args.profile, device, params)
    try:
        outcomes = run_notebooks(args.only, args.profile, device, params, force=args.force)
    except (ValueError, TypeError, RuntimeError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    failed = [o for o in outcomes if o.status == "failed"]
    for o in outcomes:
        print(f"{o.status:22s} {o.name:24s} {o.seconds:7.1f} s  -> {o.results}")
    for o in failed:
        print(f"error: notebook '{o.name}' failed: {o.error}", file=sys.stderr)
    return 1 if failed else 0


def _run_directly(names: list[str], profile: str, device: str, params: dict) -> int:
    import time

    from .runner import validate

    try:
        configs = validate(names, profile, device, params)
    except (ValueError, TypeError, RuntimeError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for name, cfg in configs.items():
        out = f"build/{profile}/direct/{name}"
        cfg = cfg.replace(output_dir=out) if "output_dir" not in params else cfg
        start = time.perf_counter()
        registry.get(name).run_directly(cfg)
        print(f"ran {name:24s} {time.perf_counter() - start:7.1f} s  -> {cfg.output_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``hpostudy book``: the executed notebooks and their results assembled into the book.

Only finished runs are published (:func:`hpostudy.study.stamps.unfinished`); Jupyter Book
builds the HTML and executes nothing.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .. import store
from . import notebooks as nbs, provenance, verdict_page
from .project import project_root
from .stamps import STAMP, unfinished


def build_book(profile: str = "smoke", build: Path | None = None, strict: bool = True,
               chapters: list[str] | None = None, output: Path | None = None) -> Path:
    """Copy the executed notebooks (each labelled with its profile) and their results into
    ``book/generated``, write the tables of where each chapter's results come from
    (:mod:`.provenance`) and build the HTML book with Jupyter Book (which executes nothing).
    ``chapters`` (chapter page names) builds the book of those chapters only, with the
    introduction and the reference pages, from their notebooks' runs (their links to the
    chapters left out are the only warnings such a book may have). Returns the HTML folder.

    Only finished runs are published: each notebook's stamp, ``meta.json``, listed files and
    executed notebook must be the ones its execution left (:func:`unfinished`). Paths into the
    build folder are shown on the pages relative to it (``build/<profile>/...``), wherever it
    lies. ``output`` is the folder that receives ``book/generated`` and ``_build/html``: by
    default the project itself; any other folder gets a copy of the book's sources (``book/``
    without ``generated/``, ``_config.yml``, ``_toc.yml``, ``bench/results/``) and the
    project's own book is left untouched (the tests build there)."""
    import nbformat

    root = project_root()
    build = (Path(build or root / "build") / profile).resolve()
    source = root if output is None else _book_sources(root, Path(output).resolve())
    every = nbs.discover(root)
    found = every
    toc = source / "_toc.yml"
    generated = source / "book" / "generated"
    if chapters:
        toc_text = _toc_of_chapters(toc, chapters)
        found = {n: nb for n, nb in every.items() if nb.chapter in chapters}
    missing = {n: unfinished(build / "results" / n, build / "executed" / f"{n}.ipynb")
               for n in found}
    missing = {n: why for n, why in missing.items() if why}
    if missing:
        raise FileNotFoundError(
            f"no finished run of {sorted(missing)} in {build} ("
            + "; ".join(f"{n}: {why}" for n, why in sorted(missing.items()))
            + f"): run `hpostudy run --profile {profile} {' '.join(sorted(missing))}` first")
    if generated.exists():
        shutil.rmtree(generated)
    for name, nb in found.items():
        chapter = nb.chapter or "other"
        dest = generated / "notebooks" / chapter / f"{name}.ipynb"
        dest.parent.mkdir(parents=True, exist_ok=True)
        executed = nbformat.read(build / "executed" / f"{name}.ipynb", as_version=4)
        readable_page(executed)
        executed.cells.insert(1, nbformat.v4.new_markdown_cell(
            _profile_banner(build / "results" / name, profile)))
        shown = nbformat.writes(executed).replace(f"{build.parent}{os.sep}", "build/")
        store.atomic_write(dest, shown)
        shutil.copytree(build / "results" / name, generated / name,
                        ignore=shutil.ignore_patterns(STAMP, store.MARKER, "checkpoints",
                                                      "*.pt", "*.tmp"))
    by_chapter: dict[str, list[str]] = {}
    for name, nb in every.items():
        if nb.chapter:
            by_chapter.setdefault(nb.chapter, []).append(name)
    provenance.write_tables(source / "book", by_chapter)
    verdict_page.write_tables(source / "book", by_chapter)
    if chapters:
        toc = generated / "_toc.yml"
        toc.write_text(toc_text)
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe), "build", str(source), "--path-output", str(source), "--toc", str(toc)]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    done = subprocess.run(cmd, cwd=source, capture_output=True, text=True)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    left_out = _chapter_pages(source / "_toc.yml") - set(chapters) if chapters else set()
    if done.returncode and not _only_links_to(left_out, done.stdout + done.stderr):
        problems = [line for line in (done.stdout + done.stderr).splitlines()
                    if "WARNING" in line or "ERROR" in line]
        raise BookBuildError(
            "the book did not build (jupyter-book exit status "
            f"{done.returncode}{'; warnings are errors' if strict else ''}):\n"
            + "\n".join(problems[:30] or done.stderr.splitlines()[-30:]))
    return source / "_build" / "html"


def readable_page(notebook) -> None:
    """An executed notebook made fit for its page, in place: the output folder papermill
    injected (``output_dir = ...``, a path of the machine that ran it) left out of the
    injected-parameters cell, and outputs that only print what a cell returned about files (a
    dict of ``PosixPath`` objects, e.g. the paths of the figures just drawn) dropped; the
    figures themselves and every table stay."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = "\n".join(line for line in cell.source.splitlines()
                                    if not line.startswith("output_dir ="))
        cell.outputs = [o for o in cell.get("outputs", []) if not _paths_only(o)]


def _paths_only(output) -> bool:
    """True for an output whose only content is the plain text of paths (``PosixPath(...)``)."""
    data = output.get("data", {})
    text = data.get("text/plain", "")
    text = "".join(text) if isinstance(text, list) else text
    return (output.get("output_type") == "execute_result" and set(data) == {"text/plain"}
            and ("PosixPath(" in text or "WindowsPath(" in text))


def _book_sources(root: Path, output: Path) -> Path:
    """A copy of the book's sources of ``root`` in ``output`` (its generated pages left out),
    to build a book there; returns ``output``."""
    output.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, output / name)
    if (output / "book").exists():
        shutil.rmtree(output / "book")
    shutil.copytree(root / "book", output / "book", ignore=shutil.ignore_patterns("generated"))
    if (root / "bench" / "results").is_dir():  # the engine page's benchmark tables
        shutil.rmtree(output / "bench" / "results", ignore_errors=True)
        shutil.copytree(root / "bench" / "results", output / "bench" / "results")
    return output


class BookBuildError(RuntimeError):
    """Jupyter Book failed; the message lists its warnings and errors."""


def _chapter_pages(toc: Path) -> set[str]:
    """The names of the chapter pages (``book/chapters/<name>``) of the table of contents
    ``toc``."""
    import yaml

    content = yaml.safe_load(Path(toc).read_text())
    return {p["file"].removeprefix("book/chapters/") for part in content.get("parts", [])
            for p in part["chapters"] if p["file"].startswith("book/chapters/")}


def _only_links_to(left_out: set[str], output: str) -> bool:
    """True if Sphinx finished the build (``output``, what it printed) and its only warnings
    are links to the chapter pages ``left_out`` of a book of some chapters (``Unknown source
    document 'book/chapters/<name>'``): the reference pages link to chapters that such a book
    does not hold, and nothing else may be wrong."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    finished = re.search(r"build finished with problems, (\d+) warnings?", plain)
    problems = [line for line in plain.splitlines() if "WARNING" in line or "ERROR" in line]
    links = [line for line in problems
             if (m := re.search(r"WARNING: Unknown source document 'book/chapters/([^']+)'",
                                line)) and m.group(1) in left_out]
    return (finished is not None and bool(links) and len(links) == len(problems)
            == int(finished.group(1)))


def _toc_of_chapters(toc: Path, chapters: list[str]) -> str:
    """The table of contents ``toc`` without the chapter pages (``book/chapters/<name>``) not
    named in ``chapters`` (YAML text)."""
    import yaml

    content = yaml.safe_load(Path(toc).read_text())
    pages = _chapter_pages(toc)
    unknown = sorted(set(chapters) - pages)
    if unknown:
        raise ValueError(f"no chapter page {unknown} in {toc}: choose from {sorted(pages)}")
    parts = []
    for part in content["parts"]:
        kept = [p for p in part["chapters"] if not p["file"].startswith("book/chapters/")
                or p["file"].removeprefix("book/chapters/") in chapters]
        if kept:
            parts.append({**part, "chapters": kept})
    return yaml.safe_dump({**content, "parts": parts}, sort_keys=False)


def _profile_banner(results: Path, profile: str) -> str:
    try:
        meta = json.loads((results / "meta.json").read_text())
    except (OSError, ValueError):
        meta = {}
    settings = meta.get("settings", {})
    where = f"{meta.get('device', 'unknown device')}, torch {meta.get('torch', '?')}"
    data = settings.get("dataset", "see the parameters")
    note = (" The `smoke` profile runs tiny sizes on embedded data to check the code path: its "
            "numbers say little about the papers' claims." if profile == "smoke" else "")
    return (f"```{{note}}\nThis page was executed with profile **{profile}** "
            f"(data: {data}; {settings.get('seeds', 1)} seed(s); {where}).{note}\n```")

"""Adding a notebook to the study touches only the notebook, its experiment module and its
chapter page (issue 22): a copy of a study notebook under a new name, with a new section of its
chapter page, runs and is shown in the book of that chapter with no other edit -- no list of
notebooks, no registry, no table of contents to extend."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
from bs4 import BeautifulSoup

from hpostudy.study import notebooks as nbs
from hpostudy.study.book import _book_sources, _only_links_to

ROOT = Path(__file__).resolve().parents[1]
ORIGINAL = "dropout_seed"  # a notebook that runs in seconds on the smoke profile
COPY = "dropout_seed_again"
TITLE = "# # The dropout seed, again"
SECTION = f"""

## The dropout seed, again

```{{figure}} ../generated/{COPY}/fig2_3.png

Fig 2.3 from the copy, this build.
```

```{{comparison-table}} Paper vs reproduced: the dropout seed from the copy, this build
:file: ../generated/{COPY}/comparison.csv
```
"""


def hpostudy(project: Path, *args: str) -> None:
    """Run the ``hpostudy`` command line in ``project`` (one thread per process)."""
    done = subprocess.run([str(Path(sys.executable).parent / "hpostudy"), *args], cwd=project,
                          capture_output=True, text=True,
                          env={**os.environ, "HPOSTUDY_THREADS": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def sources(project: Path) -> dict[str, str]:
    """Digest of every source file of ``project`` (notebooks, book pages and their data, the
    book's configuration and table of contents), by path; what the study writes (``build/``,
    ``_build/``, ``book/generated/``) left out."""
    files = [project / "_config.yml", project / "_toc.yml",
             *(p for folder in ("notebooks", "book", "bench")
               for p in (project / folder).rglob("*") if p.is_file())]
    return {str(p.relative_to(project)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files if "generated" not in p.relative_to(project).parts}


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


def test_a_copied_notebook_with_a_new_chapter_section_runs_and_is_shown(tmp_path):
    project = _book_sources(ROOT, tmp_path / "project")
    shutil.copytree(ROOT / "notebooks", project / "notebooks")
    study = sources(project)
    original = (project / "notebooks" / f"{ORIGINAL}.py").read_text()
    title = next(line for line in original.splitlines() if line.startswith("# # "))
    (project / "notebooks" / f"{COPY}.py").write_text(original.replace(title, TITLE, 1))
    chapter = nbs.read(project / "notebooks" / f"{COPY}.py").chapter
    page = project / "book" / "chapters" / f"{chapter}.md"
    page.write_text(page.read_text() + SECTION)
    mine = {f"notebooks/{COPY}.py", f"book/chapters/{chapter}.md"}
    assert changed(study, sources(project)) == mine

    of_chapter = [n for n, nb in nbs.discover(project).items() if nb.chapter == chapter]
    assert COPY in of_chapter
    hpostudy(project, "run", *of_chapter, "--profile", "smoke")
    hpostudy(project, "book", "--profile", "smoke", "--chapters", chapter)

    results = project / "build" / "smoke" / "results"
    html = project / "_build" / "html" / "book"
    soup = BeautifulSoup((html / "chapters" / f"{chapter}.html").read_text(), "html.parser")
    section = soup.find("section", id="the-dropout-seed-again")
    assert section is not None and section.h2.get_text().startswith("The dropout seed, again")
    (figure,) = section.find_all("img")
    shown = (html / "chapters" / figure["src"]).resolve()
    assert shown.read_bytes() == (results / COPY / "fig2_3.png").read_bytes()
    assert figure["src"] not in [img["src"] for img in soup.find_all("img")
                                 if img.find_parent("section") is not section]
    table = section.find("table")  # the comparison table (its rules follow, folded)
    assert "from the copy" in table.caption.get_text()
    comparison = pd.read_csv(results / COPY / "comparison.csv", keep_default_na=False)
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")]
            for tr in table.tbody.find_all("tr")]
    assert [r[:2] for r in rows] == comparison[["finding", "verdict"]].values.tolist()

    provenance = [[td.get_text(" ", strip=True) for td in tr.find_all("td")]
                  for details in soup.find_all("details")
                  if "results come from" in details.summary.get_text()
                  for tr in details.find_all("tr")]
    assert [r[:2] for r in provenance if COPY in r] == [["this build", COPY]]
    executed = BeautifulSoup((html / "generated" / "notebooks" / chapter
                              / f"{COPY}.html").read_text(), "html.parser")
    assert executed.h1.get_text().startswith(TITLE.removeprefix("# # "))
    assert changed(study, sources(project)) == mine  # the run and the book wrote no source


SPHINX_END = "build finished with problems, {} warning{}."
LINK = ("/p/book/engine.md:20: WARNING: Unknown source document 'book/chapters/{}' "
        "[myst.xref_missing]")


def test_a_book_of_some_chapters_tolerates_only_links_to_the_chapters_left_out():
    left_out = {"stn", "franceschi"}
    link = LINK.format("stn")
    assert _only_links_to(left_out, f"\x1b[91m{link}\x1b[39;49;00m\n" + SPHINX_END.format(1, ""))
    two = f"{link}\n{LINK.format('franceschi')}\n" + SPHINX_END.format(2, "s")
    assert _only_links_to(left_out, two)
    assert not _only_links_to(left_out, LINK.format("stm") + "\n" + SPHINX_END.format(1, ""))
    other = "/p/book/chapters/x.md:3: WARNING: image file not readable: ../generated/a.png"
    assert not _only_links_to(left_out, f"{link}\n{other}\n" + SPHINX_END.format(2, "s"))
    assert not _only_links_to(left_out, link)  # Sphinx did not finish
    assert not _only_links_to(left_out, f"{link}\n" + SPHINX_END.format(2, "s"))

"""The repository keeps its promises: environment.yml matches pyproject.toml, CI runs the
README's test command, the README's layout matches the folders."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"])
    for extra in ("book", "test"):
        wanted |= set(project["optional-dependencies"][extra])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {p for p in pip if not p.startswith("-e")}
    assert {_name(r) for r in wanted} == {_name(r) for r in listed}
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    for req in listed:
        name = _name(req)
        if name in pins:
            assert req == f"{name}=={pins[name]}", "environment.yml pins what constraints.txt pins"
        else:
            assert req in wanted, f"{req} differs from pyproject.toml"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make book" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_layout_matches_the_tree():
    readme = (ROOT / "README.md").read_text()
    for folder in ("book/", "notebooks/", "hpostudy/", "data/", "tests/", "bench/", ".ci/"):
        assert folder in readme and (ROOT / folder).exists(), folder
    for file in ("_config.yml", "_toc.yml", "environment.yml", "pyproject.toml", "Makefile"):
        assert file in readme and (ROOT / file).exists(), file


def test_book_pages_show_every_registered_notebook_and_figure():
    from hpostudy import registry

    toc = (ROOT / "_toc.yml").read_text()
    pages = "\n".join(p.read_text() for p in (ROOT / "book" / "chapters").glob("*.md"))
    for nb in registry.NOTEBOOKS.values():
        assert f"book/generated/notebooks/{nb.name}" in toc, f"{nb.name} missing from _toc.yml"
        assert (ROOT / "book" / "chapters" / f"{nb.chapter}.md").exists(), nb.chapter
        for fig in nb.figures:
            assert f"generated/{nb.name}/{fig}.png" in pages, f"{fig} not shown in the book"
        assert f"generated/{nb.name}/comparison.csv" in pages, f"{nb.name}: no paper-vs-reproduced table"

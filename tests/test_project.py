"""The repository keeps its promises: environment.yml matches pyproject.toml, CI runs the
README's test command, the README's layout matches the folders."""
from __future__ import annotations

import ast
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


# Layers of the package, bottom first: a module may import its own layer and those below.
LAYERS = [
    ("store", "verdicts", "importing", "data", "models", "hyper", "dynamics", "problems",
     "hypergrad", "projections", "multitask"),
    ("metaopt", "stn"),
    ("study.profiles", "study.config", "study.executors", "study.run"),
    ("settings",),
    ("experiments",),
    ("study.notebooks", "study.runner", "study.cli", "study"),
]


def _layer(module: str) -> int | None:
    name = module.removeprefix("hpostudy.")
    for level, members in enumerate(LAYERS):
        if any(name == m or name.startswith(m + ".") for m in members):
            return level
    return None


def _imports(path: Path) -> set[str]:
    package = "hpostudy." + ".".join(path.relative_to(ROOT / "hpostudy").with_suffix("").parts)
    if path.name == "__init__.py":
        package = package.rsplit(".", 1)[0] + "._"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("hpostudy")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level)[0]
                target = f"{base}.{node.module}" if node.module else base
                found |= {target} if node.module else {f"{base}.{a.name}" for a in node.names}
            elif node.module and node.module.startswith("hpostudy"):
                found.add(node.module)
    return found


def test_no_module_imports_upward():
    wrong = []
    for path in sorted((ROOT / "hpostudy").rglob("*.py")):
        module = "hpostudy." + ".".join(path.relative_to(ROOT / "hpostudy").with_suffix("").parts)
        module = module.removesuffix(".__init__")
        if module == "hpostudy":
            continue  # the package's __init__ imports nothing of it
        imported = _imports(path)
        if module.startswith("hpostudy.figures"):
            wrong += [f"{module} -> {i}" for i in imported if not i.startswith("hpostudy.figures")]
            continue
        own = _layer(module)
        assert own is not None, f"{module} belongs to no layer: add it to LAYERS"
        for target in imported:
            level = _layer(target)
            if level is not None and level > own:
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports from a higher layer:\n" + "\n".join(wrong)

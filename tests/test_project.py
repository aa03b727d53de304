"""The repository keeps its promises: environment.yml matches pyproject.toml, CI runs the
README's test command, the README's layout matches the folders."""
from __future__ import annotations

import ast
import json
import tomllib
from importlib import metadata
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _requirements() -> set[str]:
    """What the book is built and tested with: the package's dependencies, book and test."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"])
    for extra in ("book", "test", "cluster"):
        wanted |= set(project["optional-dependencies"][extra])
    return wanted


def _pins() -> dict[str, str]:
    """constraints.txt: normalized name -> pinned version."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_environment_yml_matches_pyproject_and_installs_the_pinned_versions():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-c constraints.txt" in pip and "-e ." in pip
    assert {p for p in pip if not p.startswith("-")} == _requirements()
    assert "-c constraints.txt -e '.[book,test,cluster]'" in (ROOT / "Makefile").read_text()


def test_constraints_pin_every_requirement_within_its_range():
    pins = _pins()
    for line in sorted(_requirements()):
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"constraints.txt does not pin {name} (pyproject.toml: {line})"
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject.toml's {line}"


def test_constraints_pin_every_dependency_of_what_they_pin():
    """The pins are a whole environment: every package that a pinned package needs (here, as
    installed at its pinned version) is pinned too."""
    pins, checked = _pins(), 0
    for name, version in pins.items():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if dist.version != version:
            continue
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            assert canonicalize_name(requirement.name) in pins, \
                f"{name} needs {requirement.name}, which constraints.txt does not pin"
        checked += 1
    assert checked >= len(pins) // 2, "this environment is not the pinned one: make lock"


def test_readme_names_the_torch_of_every_recorded_gpu_run():
    readme = (ROOT / "README.md").read_text()
    for meta_file in sorted((ROOT / "book" / "recorded").glob("*/*/meta.json")):
        meta = json.loads(meta_file.read_text())
        if not meta["device"].startswith("CPU"):
            assert meta["torch"] in readme, f"{meta_file}: torch {meta['torch']} not in README"


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
    ("store", "verdicts", "importing", "progress", "data", "models", "hyper", "dynamics",
     "problems", "hypergrad", "projections", "multitask"),
    ("metaopt", "stn"),
    ("study.profiles", "study.config", "study.ray_cluster", "study.executors",
     "study.session_time", "study.experiment_run"),
    ("settings",),
    ("experiments",),
    ("study.notebooks", "study.kernel", "study.project", "study.jobs", "study.stamps",
     "study.execute", "study.record", "study.book", "study.cli", "study"),
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
        if module.startswith("hpostudy.figures"):  # drawing: its own package, the file
            # writer (store) and the intervals it draws (verdicts), nothing that computes
            allowed = ("hpostudy.figures", "hpostudy.store", "hpostudy.verdicts")
            wrong += [f"{module} -> {i}" for i in imported if not i.startswith(allowed)]
            continue
        own = _layer(module)
        assert own is not None, f"{module} belongs to no layer: add it to LAYERS"
        for target in imported:
            level = _layer(target)
            if level is not None and level > own:
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports from a higher layer:\n" + "\n".join(wrong)

"""Keys of results: the settings of a run and the digest of the code that computes it.

:func:`settings_key` hashes an experiment's settings with a code digest; the digest of an
experiment module (:func:`dependency_digest`, :func:`experiment_digest`) reads the package
modules it imports, transitively, less ``PRESENTATION``, as what they compute
(:func:`code_statements`). The package's docstring (:mod:`hpostudy.store`) says why.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from .files import digest

PACKAGE_DIR = Path(__file__).resolve().parents[1]

# Presentation and orchestration code: changing it does not change any computed number, so it
# is left out of the key of checkpoints and cached results (comparison tables are recomputed
# from the cached results on every run; the store only stores what others compute).
PRESENTATION = ("figures", "study", "verdicts", "store", "progress.py")


@functools.lru_cache(maxsize=None)
def code_digest(include_presentation: bool = False) -> str:
    """SHA-256 of the library's Python sources (by default without the presentation and
    orchestration modules listed in ``PRESENTATION``)."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR).as_posix()
        if not include_presentation and relative.startswith(PRESENTATION):
            continue
        h.update(relative.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _read_source(relative: str) -> bytes:
    """The source of the package's file ``relative`` (a path below ``PACKAGE_DIR``)."""
    return (PACKAGE_DIR / relative).read_bytes()


def _module_file(module: str) -> str | None:
    """The package-relative path of ``module`` (dotted, ``hpostudy.…``), None if it is not a
    file of this package."""
    parts = module.split(".")
    if parts[0] != PACKAGE_DIR.name:
        return None
    if len(parts) == 1:
        return "__init__.py"
    stem = "/".join(parts[1:])
    for candidate in (f"{stem}/__init__.py", f"{stem}.py"):
        if (PACKAGE_DIR / candidate).is_file():
            return candidate
    return None


def _is_presentation(relative: str) -> bool:
    return relative.split("/")[0] in PRESENTATION


def _imported(source: bytes, package: str, filename: str) -> set[str]:
    """Names of the modules that ``source`` (a module of ``package``, read from ``filename``)
    imports anywhere in it, with each package they lie in; relative imports resolved."""
    tree = ast.parse(source, filename=filename)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # ``from X import y`` imports X, and X.y when y is a submodule
            targets = [source] + [f"{source}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            parts = target.split(".")
            names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return names


@functools.lru_cache(maxsize=None)
def dependencies(module: str) -> tuple[str, ...]:
    """Package-relative paths of the sources ``module`` depends on: itself and every module of
    the package it imports, transitively (the ``__init__`` of each package on the way
    included), without the ``PRESENTATION`` modules and what only they import."""
    start = _module_file(module)
    if start is None:
        raise ValueError(f"{module} is not a module of the {PACKAGE_DIR.name} package "
                         f"({PACKAGE_DIR})")
    parts = module.split(".")
    return _closure(".".join(parts[:i]) for i in range(1, len(parts) + 1))  # with its packages


def _closure(names) -> tuple[str, ...]:
    """Package-relative paths of the modules ``names`` of the package and all they import of
    it, transitively, less ``PRESENTATION`` (names outside the package are passed over)."""
    todo, found = list(names), set()
    while todo:
        name = todo.pop()
        relative = _module_file(name)
        if relative is None or relative in found or _is_presentation(relative):
            continue
        found.add(relative)
        package = name if relative.endswith("__init__.py") else name.rpartition(".")[0]
        todo.extend(_imported(_read_source(relative), package, relative))
    return tuple(sorted(found))


@functools.lru_cache(maxsize=None)
def dependency_digest(module: str) -> str:
    """SHA-256 of the sources of :func:`dependencies` of ``module`` (path and content each)."""
    return _sources_digest(dependencies(module))


def _sources_digest(relatives) -> str:
    """SHA-256 of the code of the package's files ``relatives``: the multiset of their
    top-level definitions as :func:`code_statements` reads them, whichever file holds each.
    Moving a function or constant between modules (splitting a module into a package, say)
    keeps the digest; changing what any definition computes changes it."""
    statements = sorted(digest(s.encode()) for relative in relatives
                        for s in code_statements(_read_source(relative)))
    return digest("\n".join(statements).encode())


def code_statements(source: bytes) -> list[str]:
    """The top-level statements of ``source`` as what they compute: each statement's tokens
    joined by spaces, without its docstrings, comments or layout, and without the statements
    that only name things kept elsewhere (imports, ``__all__``, the module docstring).

    Documenting a method (or fixing its docstring's math), commenting it, reformatting it or
    moving it to another module computes nothing differently, so none of them may restart a
    long run keyed by the code; any change of a token of a definition does. A source that
    does not parse is one statement, kept whole."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return [source.decode(errors="replace")]
    docstring_lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                docstring_lines.update(range(first.lineno, first.end_lineno + 1))
    lines = source.decode().splitlines(keepends=True)
    statements = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) or _names_all(node):
            continue
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", ())])
        text = "".join(line for number, line in enumerate(lines, 1)
                       if first <= number <= node.end_lineno and number not in docstring_lines)
        if text.strip():
            statements.append(_tokens(text))
    return statements


def _names_all(node: ast.stmt) -> bool:
    """Whether ``node`` assigns ``__all__`` (what a module re-exports, not what it computes)."""
    targets = node.targets if isinstance(node, ast.Assign) else (
        [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
    return any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets)


def _tokens(text: str) -> str:
    """``text``'s tokens joined by spaces, indentation kept as INDENT/DEDENT, comments and
    blank lines dropped (:mod:`tokenize`, whose output does not depend on the Python
    version the way :mod:`ast` dumps do)."""
    import io
    import tokenize

    skip = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
    try:
        return " ".join(token.string if token.type not in (tokenize.INDENT, tokenize.DEDENT)
                        else tokenize.tok_name[token.type]
                        for token in tokenize.generate_tokens(io.StringIO(text).readline)
                        if token.type not in skip)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return text


def experiment_digest(module: str) -> str:
    """The code digest of results computed by the experiment module ``module`` (the module of
    its configuration class): :func:`dependency_digest` for a module of the package. For a
    module outside it (a test, a notebook run as a script), the digest of the package modules
    its file imports, transitively -- not of the file itself, whose text changes with the
    parameters injected into a notebook; one without a file (a notebook's Jupyter kernel) is
    keyed by the whole library (less ``PRESENTATION``), since what it imports cannot be read."""
    if _module_file(module) is not None:
        return dependency_digest(module)
    path = getattr(sys.modules.get(module), "__file__", None)
    if path is None:
        return code_digest()
    imported = _imported(Path(path).read_bytes(), module.rpartition(".")[0], path)
    return _sources_digest(_closure(imported))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def settings_key(settings: dict, code: str | None = None, length: int = 16) -> str:
    """Hex key of ``settings`` (any JSON-like dict) together with the library code digest."""
    payload = json.dumps({"settings": _jsonable(settings), "code": code or code_digest()},
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:length]

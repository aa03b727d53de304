"""Where the study's project is: the folder holding ``notebooks/`` and ``_config.yml``."""
from __future__ import annotations

from pathlib import Path


def project_root(start: Path | None = None) -> Path:
    """The folder holding ``notebooks/`` and ``_config.yml`` (the current one or a parent)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "notebooks").is_dir() and (folder / "_config.yml").exists():
            return folder
    raise FileNotFoundError(f"no hpostudy project (notebooks/ and _config.yml) in {here} or its "
                            "parents; run hpostudy from the repository's folder")


def root_or_cwd() -> Path:
    """:func:`project_root`, or the current folder outside a project."""
    try:
        return project_root()
    except FileNotFoundError:
        return Path.cwd()

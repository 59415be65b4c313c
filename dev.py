#!/usr/bin/env python3
"""Set-up and tasks on a fresh machine with only Python 3.10+ and pip: no other tool needed.

    python3 dev.py demo              judge the bundled sample (offline when FIREWORKS_API_KEY unset)
    python3 dev.py test [ARGS]       ruff, mypy and the whole suite in random order (ARGS: pytest's)
    python3 dev.py test --latest     the same in .venv-latest on the newest releases (no pins)
    python3 dev.py setup             only create or refresh the virtual environment
    python3 dev.py lock [--upgrade]  re-resolve requirements/constraints.txt from pyproject.toml

Each task creates ``.venv`` beside this file on first use and installs the package with its test
dependencies at the versions pinned in ``requirements/constraints.txt`` (``pip install -c``); it
reuses the venv afterwards and reinstalls when pyproject.toml or the constraints file changes.
A package that pyproject.toml requires but the constraints file does not pin still installs (its
newest release) with a warning to run ``python3 dev.py lock``, which pins it and keeps every other
pin; ``lock --upgrade`` moves every pin to the newest release (uv, installed into .venv on demand).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
SAMPLE = ROOT / "cookbook" / "data" / "sample_traces.jsonl"
QUIET = ("--quiet", "--disable-pip-version-check")
# The lock tool: uv resolves for every Python the package supports at once (--universal).
UV = "uv>=0.9,<1"
LOWEST_PYTHON = "3.10"


def _run(*args: str | Path) -> int:
    # progress on stderr: `dev.py demo > results.jsonl` keeps stdout to the command's own output
    print("+", " ".join(str(a) for a in args), file=sys.stderr, flush=True)
    return subprocess.call([str(a) for a in args], cwd=ROOT)


def _python(env: Path) -> Path:
    windows = os.name == "nt"
    return env / ("Scripts" if windows else "bin") / ("python.exe" if windows else "python")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _required_names() -> set[str]:
    """Names of every requirement of pyproject.toml (dependencies and all extras)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10: the check is skipped, the install itself is unchanged
        return set()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        specs += extra
    own = _canonical(project["name"])
    names = {_canonical(re.split(r"[\s\[<>=!~;@(]", spec, maxsplit=1)[0]) for spec in specs}
    return names - {own}


def _pinned_names() -> set[str]:
    lines = CONSTRAINTS.read_text(encoding="utf-8").splitlines()
    return {_canonical(line.split("==")[0]) for line in lines if "==" in line and line[0].isalnum()}


def _warn_unpinned() -> None:
    missing = sorted(_required_names() - _pinned_names())
    if missing:
        print(
            f"warning: {CONSTRAINTS.relative_to(ROOT)} pins no version of {', '.join(missing)} "
            "(required by pyproject.toml): installed unpinned; run `python3 dev.py lock` "
            "and commit the file",
            file=sys.stderr,
            flush=True,
        )


def _create(env: Path) -> Path:
    if sys.version_info < (3, 10):  # noqa: UP036 - this file runs before any install
        sys.exit(f"Python 3.10+ is needed, this is {sys.version.split()[0]}")
    python = _python(env)
    if not python.exists():
        print(f"creating {env}", file=sys.stderr, flush=True)
        venv.EnvBuilder(with_pip=True).create(env)
    return python


def setup() -> Path:
    """Create or reuse .venv and install the package (editable) with its dev extras, pinned."""
    python = _create(ROOT / ".venv")
    if not CONSTRAINTS.exists():
        sys.exit(f"{CONSTRAINTS} is missing: restore it from git or run `python3 dev.py lock`")
    stamp = ROOT / ".venv" / ".installed-sha256"
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", CONSTRAINTS):
        digest.update(path.read_bytes())
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return python
    _warn_unpinned()
    if _run(python, "-m", "pip", "install", *QUIET, "-c", CONSTRAINTS, "-e", f"{ROOT}[dev]") != 0:
        sys.exit("installing the package failed")
    stamp.write_text(digest.hexdigest())
    return python


def setup_latest() -> Path:
    """Create or reuse .venv-latest and upgrade everything to the newest releases (no lock)."""
    python = _create(ROOT / ".venv-latest")
    upgrade = ("--upgrade", "--upgrade-strategy", "eager")
    if _run(python, "-m", "pip", "install", *QUIET, *upgrade, "-e", f"{ROOT}[dev]") != 0:
        sys.exit("installing the newest releases failed")
    _run(python, "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check")
    return python


def lock(extra: list[str]) -> int:
    """Re-resolve the constraints file with uv (``--upgrade``: every pin to its newest release)."""
    python = _create(ROOT / ".venv")
    if _run(python, "-m", "pip", "install", *QUIET, UV) != 0:
        sys.exit("installing uv (the lock tool) failed")
    CONSTRAINTS.parent.mkdir(exist_ok=True)
    header = "python3 dev.py lock (or: python3 dev.py lock --upgrade for the newest releases)"
    compile_ = ("pip", "compile", "pyproject.toml", "--all-extras", "--universal")
    return _run(
        python,
        "-m",
        "uv",
        *compile_,
        "--python-version",
        LOWEST_PYTHON,
        "--quiet",
        "--custom-compile-command",
        header,
        "--output-file",
        CONSTRAINTS.relative_to(ROOT),
        *extra,
    )


def demo(extra: list[str]) -> int:
    """Judge the bundled sample: the default model, i.e. the offline judge when no key is set."""
    python = setup()
    return _run(python.parent / "perceived-error", "judge", SAMPLE, *extra)


def test(extra: list[str]) -> int:
    """Lint, type-check and run the whole test suite (in random order: pytest-randomly)."""
    latest = "--latest" in extra
    extra = [arg for arg in extra if arg != "--latest"]
    python = setup_latest() if latest else setup()
    for step in (
        (python, "-m", "ruff", "check", "."),
        (python, "-m", "ruff", "format", "--check", "."),
        (python, "-m", "mypy"),
    ):
        if _run(*step) != 0:
            return 1
    return _run(python, "-m", "pytest", *extra)


def main() -> int:
    """Dispatch ``python3 dev.py TASK [ARGS...]``."""
    task, extra = (sys.argv[1] if len(sys.argv) > 1 else ""), sys.argv[2:]
    if task == "setup":
        setup()
        return 0
    if task == "demo":
        return demo(extra)
    if task == "test":
        return test(extra)
    if task == "lock":
        return lock(extra)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())

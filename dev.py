#!/usr/bin/env python3
"""Set-up and tasks on a fresh machine with only Python 3.10+: no other tool needed.

    python3 dev.py demo    judge the bundled sample (offline judge when FIREWORKS_API_KEY is unset)
    python3 dev.py test    ruff, mypy and the whole test suite
    python3 dev.py setup   only create or refresh the virtual environment

Each task creates ``.venv`` beside this file on first use, installs the package with its test
dependencies, and reuses it afterwards (it reinstalls when pyproject.toml changes).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed-pyproject-sha256"
SAMPLE = ROOT / "cookbook" / "data" / "sample_traces.jsonl"


def _run(*args: str | Path) -> int:
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.call([str(a) for a in args], cwd=ROOT)


def setup() -> None:
    """Create or reuse .venv and install the package (editable) with its dev extras."""
    if sys.version_info < (3, 10):  # noqa: UP036 - this file runs before any install
        sys.exit(f"Python 3.10+ is needed, this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    quiet = ["--quiet", "--disable-pip-version-check"]
    if _run(PYTHON, "-m", "pip", "install", *quiet, "-e", f"{ROOT}[dev]") != 0:
        sys.exit("installing the package failed")
    STAMP.write_text(digest)


def demo(extra: list[str]) -> int:
    """Judge the bundled sample: the default model, i.e. the offline judge when no key is set."""
    setup()
    return _run(BIN / "perceived-error", "judge", SAMPLE, *extra)


def test(extra: list[str]) -> int:
    """Lint, type-check and run the whole test suite."""
    setup()
    for step in (
        (PYTHON, "-m", "ruff", "check", "."),
        (PYTHON, "-m", "ruff", "format", "--check", "."),
        (PYTHON, "-m", "mypy"),
    ):
        if _run(*step) != 0:
            return 1
    return _run(PYTHON, "-m", "pytest", *extra)


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
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())

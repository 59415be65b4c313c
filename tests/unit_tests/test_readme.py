"""The README's examples run and print what the README says they print."""

import contextlib
import io
import re
from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _block_after(heading: str, lang: str, start: int = 0) -> tuple[str, int]:
    position = README.index(heading, start)
    match = re.compile(rf"```{lang}\n(.*?)```", re.DOTALL).search(README, position)
    assert match, f"no ```{lang} block after {heading!r}"
    return match.group(1), match.end()


def test_quick_start_prints_what_the_readme_shows():
    code, end = _block_after("## Quick start (Python)", "python")
    expected, _ = _block_after("prints", "text", end)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue() == expected


def test_readme_opens_with_the_two_set_up_commands():
    first_block, _ = _block_after("# langchain-perceived-error", "bash")
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert commands == ["python3 dev.py demo", "python3 dev.py test"]
    assert README.index("python3 dev.py demo") < README.index("## ")

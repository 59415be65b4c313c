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


def test_the_layout_names_every_module_of_every_subpackage():
    block, _ = _block_after("## Layout", "")
    package = Path(__file__).resolve().parents[2] / "langchain_perceived_error"
    described: dict[str, str] = {}
    current = None
    for line in block.splitlines():
        head = re.match(r"  (\w+)/\s", line)
        if head:
            current = head.group(1)
            described[current] = line
        elif current and line.startswith(" " * 18):
            described[current] += line
        else:
            current = None
    subpackages = {p.parent.name for p in package.glob("*/__init__.py")}
    assert set(described) == subpackages
    missing = {
        f"{layer}/{path.stem}.py"
        for layer in subpackages - {"cli"}  # cli: "one module per command"
        for path in (package / layer).glob("*.py")
        if path.stem != "__init__" and not re.search(rf"\b{path.stem}\b", described[layer])
    }
    assert missing == set()

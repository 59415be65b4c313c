"""atomic_write: whole or nothing, nothing left behind, on both ways of naming the text."""

from __future__ import annotations

import os

import pytest

from langchain_perceived_error.cli import paths
from langchain_perceived_error.cli.paths import atomic_write


def _no_link(*args: object, **kwargs: object) -> None:
    raise OSError("linking an anonymous file is not supported here")


@pytest.mark.parametrize("linkable", [True, False])
def test_the_text_replaces_the_file_whole_and_nothing_else_is_left(tmp_path, monkeypatch, linkable):
    if not linkable:  # systems without O_TMPFILE: the text is copied to the new name
        monkeypatch.setattr(paths.os, "link", _no_link)
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    target.chmod(0o640)
    with atomic_write(target) as out:
        out.write("new ✓\n" * 1000)
        assert target.read_text() == "old\n"  # nothing visible until the end
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
    assert target.read_text(encoding="utf-8") == "new ✓\n" * 1000
    assert oct(target.stat().st_mode & 0o777) == oct(0o640)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_a_failure_keeps_the_old_file_and_leaves_nothing(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")

    def write_half() -> None:
        with atomic_write(target) as out:
            out.write("half")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        write_half()
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_a_new_file_follows_the_umask(tmp_path):
    mask = os.umask(0o027)
    try:
        with atomic_write(tmp_path / "new.jsonl") as out:
            out.write("x\n")
    finally:
        os.umask(mask)
    assert oct((tmp_path / "new.jsonl").stat().st_mode & 0o777) == oct(0o640)

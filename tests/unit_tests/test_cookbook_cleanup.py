"""Cookbook 05 and 06 leave no temporary folder behind, offline or against the local Fireworks."""

import tempfile

import pytest

from tests.unit_tests.test_cookbook import load


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """An empty directory as the process's temporary directory (TMPDIR and tempfile's cache)."""
    tmp = tmp_path / "TMPDIR"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def test_05_without_out_builds_in_a_temporary_folder_it_removes(private_tmp, capsys):
    stats = load("05_build_sft_dataset").main(["--seed", "1"])
    out = capsys.readouterr().out
    assert stats.train.examples + stats.holdout.examples == 52
    assert "validate train.jsonl: ok" in out
    assert f"SFT files in {private_tmp}" in out  # it did use the temporary directory
    assert "now removed: pass --out DIR to keep the files" in out
    assert list(private_tmp.iterdir()) == []


def test_05_with_out_keeps_its_files(private_tmp, tmp_path, capsys):
    load("05_build_sft_dataset").main(["--out", str(tmp_path / "sft")])
    assert {p.name for p in (tmp_path / "sft").iterdir()} >= {"holdout.jsonl", "train.jsonl"}
    assert "now removed" not in capsys.readouterr().out
    assert list(private_tmp.iterdir()) == []


def test_06_dry_run_removes_the_sample_files(private_tmp, monkeypatch, capsys):
    monkeypatch.delenv("FIREWORKS_API_KEY", raising=False)
    calls = load("06_finetune_on_fireworks").main(["--dry-run"])
    assert any(str(private_tmp) in call for call in calls)  # the files were built there
    assert list(private_tmp.iterdir()) == []


def test_06_real_run_removes_the_sample_files(fireworks_env, private_tmp, capsys):
    args = ["--dataset-id", "tmp", "--output-model", "tmp-judge", "--wait", "--poll-interval", "0"]
    status = load("06_finetune_on_fireworks").main(args)
    assert status.state == "COMPLETED"
    assert list(private_tmp.iterdir()) == []

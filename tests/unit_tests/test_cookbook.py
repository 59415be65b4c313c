"""The cookbook scripts run offline and do what they say."""

import importlib.util
from pathlib import Path

COOKBOOK = Path(__file__).resolve().parents[2] / "cookbook"


def load(name):
    spec = importlib.util.spec_from_file_location(name, COOKBOOK / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_01_judge_traces_runs_offline(capsys):
    module = load("01_judge_traces")
    counts = module.main("rules")
    records = module.load_sample()
    expected_skips = sum(r["expected_perceived_error"] is None for r in records)
    assert counts["judged"] + counts["skipped"] == len(records)
    assert counts["skipped"] == expected_skips
    assert counts["failed"] == 0
    assert 0 < counts["flagged"] < counts["judged"]
    out = capsys.readouterr().out
    assert out.count("FLAGGED ") == counts["flagged"]
    assert f"{len(records)} records with rules" in out


def test_07_cascade_routes_what_the_thresholds_do_not_settle(capsys):
    module = load("07_cascade")
    records = module.load_labelled()
    counts = module.main()
    settled, sent = counts["settled by rules"], counts["sent to stand-in"]
    assert settled + sent + counts["skipped"] == len(records) == 52
    assert settled > 0
    assert sent > 0
    assert counts["flagged"] == 0  # the stand-in never flags, and no flag of the rules settles
    out = capsys.readouterr().out
    assert "flagged stands at confidence >= None" in out
    assert f"sent to stand-in: {sent}" in out

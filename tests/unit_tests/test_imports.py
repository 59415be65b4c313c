import langchain_perceived_error
from langchain_perceived_error import __all__

EXPECTED_ALL = [
    "PROMPT_VERSION",
    "SYSTEM_PROMPT",
    "JudgeResult",
    "JudgeStatus",
    "PanelLabeller",
    "PerceivedErrorEvaluator",
    "PerceivedErrorJudge",
    "Verdict",
    "Watcher",
    "__version__",
    "ajudge",
    "build_sft_files",
    "create_async_perceived_error_evaluator",
    "create_perceived_error_evaluator",
    "judge",
]


def test_public_names_are_pinned():
    assert sorted(__all__) == sorted(EXPECTED_ALL)
    for name in __all__:
        assert hasattr(langchain_perceived_error, name), name


def test_version_matches_the_installed_distribution():
    from importlib.metadata import version

    assert langchain_perceived_error.__version__ == version("langchain-perceived-error")

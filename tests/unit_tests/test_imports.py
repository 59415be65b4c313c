import langchain_perceived_error
from langchain_perceived_error import __all__

EXPECTED_ALL = [
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MODEL",
    "PROMPT_VERSION",
    "SYSTEM_PROMPT",
    "JudgeResult",
    "JudgeState",
    "JudgeStatus",
    "ModelSpec",
    "ModelSpecError",
    "PerceivedErrorEvaluator",
    "PerceivedErrorJudge",
    "RulesJudge",
    "TranscriptError",
    "Turn",
    "Verdict",
    "VerdictParseError",
    "__version__",
    "ajudge",
    "ajudge_target",
    "build_judge_graph",
    "build_judge_messages",
    "conversation_examples",
    "create_async_perceived_error_evaluator",
    "create_perceived_error_evaluator",
    "extract_thread",
    "extract_transcript",
    "judge",
    "judge_target",
    "label_match_evaluator",
    "labelled_examples",
    "model_name",
    "parse_verdict",
    "render_transcript",
    "replay_target",
    "resolve_model",
    "skip_reason",
]


def test_public_names_are_pinned():
    assert sorted(__all__) == sorted(EXPECTED_ALL)
    for name in __all__:
        assert hasattr(langchain_perceived_error, name), name


def test_version_matches_the_installed_distribution():
    from importlib.metadata import version

    assert langchain_perceived_error.__version__ == version("langchain-perceived-error")

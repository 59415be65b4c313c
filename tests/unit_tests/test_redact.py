import importlib.util
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from langchain_perceived_error.core.preparation import redact_turns
from langchain_perceived_error.core.schemas import Turn
from langchain_perceived_error.redaction.redact import (
    PatternRedactor,
    chain_redactors,
    redact_text,
)
from tests.redaction_corpus import CASES, lookalike_count, measure, table


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("write to jane.doe+work@example.co.uk today", "write to [email] today", "email"),
        ("call +44 20 7946 0958", "call [phone]", "phone"),
        ("call (415) 829-3741 now", "call [phone] now", "phone"),
        ("call 415-829-3741", "call [phone]", "phone"),
        ("card 4111 1111 1111 1111 expires", "card [card] expires", "card"),
        ("card 4111-1111-1111-1111", "card [card]", "card"),
        ("key sk-proj-abcdefghijklmnop1234 leaked", "key [key] leaked", "key"),
        ("fw_ABCDEFGHIJKLMNOP1234", "[key]", "key"),
        ("lsv2_pt_0123456789abcdef0123456789abcdef_12ab", "[key]", "key"),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz123456", "Authorization: [key]", "key"),
        ("card 4111.1111.1111.1111", "card [card]", "card"),
        ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN [iban] please", "iban"),
        ("from 203.0.113.7 today", "from [ip] today", "ip"),
        ("from 2001:db8::7 today", "from [ip] today", "ip"),
        ("mail josé@bücher.de", "mail [email]", "email"),
        ("AKIAABCDEFGHIJKLMNOP", "[key]", "key"),
        ("token eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4", "token [key]", "key"),
    ],
)
def test_each_kind_is_masked_and_counted(text, expected, kind):
    counts: Counter[str] = Counter()
    assert redact_text(text, counts) == expected
    assert counts == {kind: 1}


@pytest.mark.parametrize(
    "text",
    [
        "order 12345 shipped",
        "on 2024-05-01 at 10:30",
        "on 05/11/2024",
        "server 127.0.0.1:8080",
        "price 1,299.00",
        "card 4111 1111 1111 1112",  # fails the Luhn check
        "version 3.11.7",
        "sk-short",
    ],
)
def test_lookalikes_are_left_alone(text):
    counts: Counter[str] = Counter()
    assert redact_text(text, counts) == text
    assert not counts


def test_redact_turns_keeps_roles_and_reports_counts():
    turns = [
        Turn(role="human", text="I'm jane@example.com, card 4111111111111111"),
        Turn(role="ai", text="Thanks, I'll email jane@example.com."),
    ]
    redacted, counts = redact_turns(turns)
    assert [t.role for t in redacted] == ["human", "ai"]
    assert redacted[0].text == "I'm [email], card [card]"
    assert redacted[1].text == "Thanks, I'll email [email]."
    assert counts == {"email": 2, "card": 1}
    assert turns[0].text.startswith("I'm jane@")  # the input is not modified


CORPUS_THRESHOLDS = {  # kind: (minimum recall, maximum look-alikes masked as this kind)
    "key": (1.0, 0),
    "phone": (0.95, 5),
    "iban": (1.0, 0),
    "card": (1.0, 0),
    "ip": (1.0, 1),
    "email": (1.0, 1),
}


def test_the_corpus_is_large_and_varied_enough():
    values = [case for case in CASES if case.value is not None]
    assert len(values) >= 100
    assert lookalike_count() >= len(values)
    assert len({case.note for case in values if case.kind == "phone"}) >= 12  # countries
    assert len({case.note.split()[0] for case in values if case.kind == "key"}) >= 10  # providers
    for case in values:
        assert case.text.count(case.value) == 1, case


def test_recall_and_false_positives_per_kind_on_the_corpus():
    tallies, _ = measure(redact_text)
    for kind, (min_recall, max_false_positives) in CORPUS_THRESHOLDS.items():
        tally = tallies[kind]
        assert tally.caught / tally.total >= min_recall, (kind, tally.missed)
        assert tally.false_positives <= max_false_positives, kind


def test_the_readme_table_is_the_measured_one():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert table(measure(redact_text)[0]) in readme


def test_a_masked_value_leaves_nothing_of_itself_behind():
    key = "sk-proj-" + "a_b-C1" * 12 + "T3BlbkFJ" + "-x_Y9" * 12
    text = f"key {key}, phone +55 11 91234-5678, card 5555-5555-5555-4444."
    assert redact_text(text) == "key [key], phone [phone], card [card]."


def test_a_custom_redactor_runs_instead_of_the_patterns_and_counts():
    def names(text: str, counts: Counter[str]) -> str:
        counts["name"] += text.count("Jane")
        return text.replace("Jane", "[name]")

    turns = [Turn(role="human", text="I'm Jane, jane@example.com")]
    assert redact_turns(turns, names) == (
        [Turn(role="human", text="I'm [name], jane@example.com")],
        {"name": 1},
    )
    both = chain_redactors(redact_text, names)
    assert redact_turns(turns, both)[0][0].text == "I'm [name], [email]"


def test_phone_settings_change_what_is_read_as_a_phone():
    national_dutch = "bel 020 123 4567"
    assert redact_text(national_dutch) == "bel [phone]"
    only_international = PatternRedactor(phone_regions=())
    assert only_international(national_dutch) == national_dutch
    assert only_international("bel +31 20 123 4567") == "bel [phone]"


def test_the_judge_sends_what_a_custom_redactor_left():
    from langchain_perceived_error import PerceivedErrorJudge
    from tests.fakes import ScriptedChatModel

    def names(text: str, counts: Counter[str]) -> str:
        counts["name"] += text.count("Jane")
        return text.replace("Jane", "[name]")

    model = ScriptedChatModel(script=['{"perceived_error": true, "reason": "corrected"}'])
    judge = PerceivedErrorJudge(model, redactor=chain_redactors(redact_text, names))
    result = judge.judge(
        [("user", "I'm Jane, mail jane@example.com"), ("ai", "Hi Joan"), ("user", "No, Jane!")]
    )
    sent = "\n".join(m.text for m in model.calls[0])
    assert "Jane" not in sent
    assert "jane@" not in sent
    assert result.redactions == {"name": 2, "email": 1}


class FakeAnalyzer:
    """Stands in for presidio_analyzer.AnalyzerEngine (same call, same result attributes)."""

    def __init__(self, found):
        self.found = found
        self.calls = []

    def analyze(self, *, text, entities, language):
        self.calls.append((text, entities, language))
        return [
            SimpleNamespace(
                entity_type=kind, start=text.index(word), end=text.index(word) + len(word)
            )
            for kind, word in self.found
            if word in text
        ]


def test_the_presidio_redactor_masks_what_the_analyzer_finds():
    from langchain_perceived_error.redaction.presidio import PresidioRedactor

    analyzer = FakeAnalyzer([("PERSON", "Jane Doe"), ("LOCATION", "Berlin"), ("PERSON", "Jane")])
    redactor = PresidioRedactor(analyzer)
    counts: Counter[str] = Counter()
    assert redactor("Jane Doe moved to Berlin", counts) == "[person] moved to [location]"
    assert counts == {"person": 1, "location": 1}  # "Jane" inside "Jane Doe" is not masked twice
    assert analyzer.calls == [("Jane Doe moved to Berlin", ["PERSON", "LOCATION", "NRP"], "en")]


def test_without_presidio_the_redactor_says_what_to_install():
    from langchain_perceived_error.redaction.presidio import PresidioRedactor

    if importlib.util.find_spec("presidio_analyzer") is not None:
        pytest.skip("presidio-analyzer is installed here")
    with pytest.raises(ImportError, match=r"pip install 'langchain-perceived-error\[presidio\]'"):
        PresidioRedactor()


def test_the_presidio_redactor_with_a_real_offline_analyzer(tmp_path):
    """Runs where the presidio extra is installed: a blank spaCy pipeline saved to disk stands
    in for a model (Presidio downloads a model name that is neither installed nor a path)."""
    presidio = pytest.importorskip("presidio_analyzer")
    spacy = pytest.importorskip("spacy")
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from langchain_perceived_error.redaction.presidio import PresidioRedactor

    spacy.blank("en").to_disk(tmp_path)
    models = [{"lang_code": "en", "model_name": str(tmp_path)}]
    provider = NlpEngineProvider(nlp_configuration={"nlp_engine_name": "spacy", "models": models})
    analyzer = presidio.AnalyzerEngine(nlp_engine=provider.create_engine())
    for entity, names in (("PERSON", ["Jane Doe", "Jane"]), ("LOCATION", ["Berlin"])):
        analyzer.registry.add_recognizer(
            presidio.PatternRecognizer(supported_entity=entity, deny_list=names)
        )
    counts: Counter[str] = Counter()
    redactor = chain_redactors(redact_text, PresidioRedactor(analyzer))
    text = "Jane Doe moved to Berlin, mail jane@example.com"
    assert redactor(text, counts) == "[person] moved to [location], mail [email]"
    assert counts == {"person": 1, "location": 1, "email": 1}

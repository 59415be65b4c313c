from langchain_perceived_error.redaction.scrub import REDACTED, scrub, secret_values


def test_secret_environment_values_are_scrubbed(monkeypatch):
    monkeypatch.setenv("FIREWORKS_API_KEY", "not-a-known-shape-123456")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-value-987654")
    monkeypatch.setenv("HARMLESS", "not-a-known-shape-123456-but-not-secret-name")
    text = "401 for key not-a-known-shape-123456 and tok-value-987654"
    assert scrub(text) == f"401 for key {REDACTED} and {REDACTED}"
    assert "not-a-known-shape-123456" in secret_values()


def test_key_shaped_tokens_are_scrubbed_even_when_not_in_the_environment(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert scrub("Incorrect API key provided: sk-proj-abcdefghijklmnopqrstuv") == (
        f"Incorrect API key provided: {REDACTED}"
    )


def test_short_values_and_ordinary_text_are_left_alone(monkeypatch):
    monkeypatch.setenv("DEBUG_KEY", "1")
    assert scrub("rate limited: retry in 1 s") == "rate limited: retry in 1 s"

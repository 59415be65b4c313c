from langchain_perceived_error.budget import estimate_tokens, fit_to_budget
from langchain_perceived_error.eligibility import skip_reason
from langchain_perceived_error.schemas import Turn


def turn(role, text):
    return Turn(role=role, text=text)


def test_a_transcript_that_fits_is_untouched():
    turns = [turn("human", "hi"), turn("ai", "hello"), turn("human", "no, wrong")]
    assert fit_to_budget(turns, 1000) == (turns, None)


def test_other_turns_go_first_oldest_first_and_the_gap_is_marked():
    long = "x" * 4000  # ~1,000 tokens each
    turns = [
        turn("human", "start " + long),
        turn("human", "more " + long),
        turn("ai", "answer one " + long),
        turn("human", "No, I said Tuesday."),
        turn("ai", "Sorry, fixed."),
    ]
    kept, cut = fit_to_budget(turns, 1200)
    assert cut is not None
    assert cut.turns_dropped == 2  # the two opening user turns; then it fits
    assert [t.text.split("\n")[-1][:10] for t in kept] == ["answer one", "No, I said", "Sorry, fix"]
    assert kept[0].text.startswith("[... 2 earlier turns cut to fit the judge's context ...]")
    assert cut.tokens_after <= 1200 < cut.tokens_before
    assert skip_reason(kept) is None  # the evidence pair is still there to judge


def test_evidence_alone_over_budget_is_shortened_in_the_middle():
    answer = "BEGIN " + "y" * 40_000 + " END"
    turns = [turn("human", "q"), turn("ai", answer), turn("human", "That's wrong.")]
    kept, cut = fit_to_budget(turns, 2000)
    assert cut is not None
    assert cut.turns_dropped == 1  # the opening question is not evidence
    assert cut.chars_cut > 30_000
    assert estimate_tokens(kept) <= 2000
    assert kept[0].text.startswith(
        "[... 1 earlier turn cut to fit the judge's context ...]\nBEGIN "
    )
    assert kept[0].text.endswith(" END")
    assert "characters cut to fit the judge's context" in kept[0].text
    assert kept[1].text == "That's wrong."

from hypothesis import given, settings
from hypothesis import strategies as st

from langchain_perceived_error.core.budget import fit_to_budget
from langchain_perceived_error.core.eligibility import skip_reason
from langchain_perceived_error.core.schemas import Turn
from langchain_perceived_error.core.tokens import estimate_transcript_tokens


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
    assert estimate_transcript_tokens(kept) <= 2000
    assert kept[0].text.startswith(
        "[... 1 earlier turn cut to fit the judge's context ...]\nBEGIN "
    )
    assert kept[0].text.endswith(" END")
    assert "characters cut to fit the judge's context" in kept[0].text
    assert kept[1].text == "That's wrong."


def test_the_budget_follows_the_models_context_when_its_profile_gives_it():
    from langchain_perceived_error import PerceivedErrorJudge
    from langchain_perceived_error.core.budget import DEFAULT_MAX_INPUT_TOKENS, budget_for_model
    from tests.fakes import ScriptedChatModel

    long_context = ScriptedChatModel(script=["x"], profile={"max_input_tokens": 128_000})
    assert budget_for_model(long_context) == 96_000
    assert budget_for_model(ScriptedChatModel(script=["x"])) == DEFAULT_MAX_INPUT_TOKENS
    assert PerceivedErrorJudge(long_context).max_input_tokens == 96_000
    assert PerceivedErrorJudge(long_context, max_input_tokens=5000).max_input_tokens == 5000


def test_evidence_that_cannot_fit_is_cut_once_per_turn_and_the_overrun_recorded():
    """Many short evidence pairs under a tiny budget: the cut stops (it used to loop forever)."""
    turns = [turn("ai" if i % 2 == 0 else "human", f"{i} " + "y" * 600) for i in range(84)]
    kept, cut = fit_to_budget(turns, 400)
    assert cut is not None
    assert len(kept) == 84  # every turn is evidence: none dropped ...
    assert all("characters cut to fit" in t.text for t in kept)  # ... each shortened once
    assert all(len(t.text) < 600 for t in kept)
    assert cut.tokens_after > cut.budget_tokens  # over budget, and it says so
    assert cut.tokens_after < cut.tokens_before


roles = st.sampled_from(["human", "ai"])
texts = st.text(alphabet="ab \n", min_size=0, max_size=3000)


@settings(max_examples=60, deadline=None)
@given(turns=st.lists(st.builds(turn, roles, texts), max_size=40), budget=st.integers(1, 3000))
def test_fitting_always_ends_and_never_adds_tokens(turns, budget):
    kept, cut = fit_to_budget(turns, budget)
    if cut is None:
        assert kept == turns
        assert estimate_transcript_tokens(turns) <= budget
    else:
        assert cut.tokens_after == estimate_transcript_tokens(kept) <= cut.tokens_before

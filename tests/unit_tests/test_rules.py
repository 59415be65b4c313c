"""The offline rules judge: signals, non-signals, eligibility and the chat-model shell."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from langchain_perceived_error.core.prompts import (
    SYSTEM_PROMPT,
    build_judge_messages,
    build_retry_messages,
)
from langchain_perceived_error.core.schemas import Turn, Verdict
from langchain_perceived_error.rules import (
    MAX_QUOTE_CHARS,
    NO_SIGNAL_REASON,
    NO_USER_TURN_AFTER_AI_REASON,
    SIGNAL_KINDS,
    RulesConfig,
    RulesJudge,
    Signal,
    detect_signals,
    judge_turns,
    normalize_text,
    reason_for,
)

REQUEST = "Book a table for two at 7pm on Tuesday at Luigi's."
ANSWER = "Done: I booked a table for four at 7pm on Wednesday at Luigi's."


def h(text: str) -> Turn:
    return Turn(role="human", text=text)


def a(text: str) -> Turn:
    return Turn(role="ai", text=text)


def after_answer(reply: str, answer: str = ANSWER) -> list[Turn]:
    """A request, the assistant's answer, and the user's reply under test."""
    return [h(REQUEST), a(answer), h(reply)]


# (kind, the user's reply after ANSWER, words the reason must quote)
SIGNAL_CASES = [
    # corrections
    ("correction", "No, I said Tuesday.", "No, I said Tuesday"),
    ("correction", "That's wrong, it was two people.", "That's wrong, it was two people"),
    ("correction", "that 's not right", "that's not right"),
    ("correction", "This is not what I asked for.", "This is not what I asked for"),
    ("correction", "I meant the Luigi's on Main Street.", "I meant the Luigi's on Main Street"),
    ("correction", "No, it should be two people.", "No, it should be two people"),
    ("correction", "You got the day wrong.", "You got the day wrong"),
    ("correction", "That's the wrong restaurant.", "That's the wrong restaurant"),
    ("correction", "you misunderstood me", "you misunderstood me"),
    ("correction", "wrong.", "wrong."),
    ("correction", "For two people, not four.", "For two people, not four"),
    ("correction", "no, i was asking about tuesday", "no, i was asking about tuesday"),
    ("correction", "Wrong evening. I said Tuesday at 7.", "I said Tuesday at 7"),
    ("correction", "I asked for the patio - it's quieter.", "I asked for the patio - it's quieter"),
    ("correction", "I needed the patio, not the bar.", "I needed the patio, not the bar"),
    ("correction", "Das ist leider falsch.", "Das ist leider falsch"),
    ("correction", "Nein, ich meinte Dienstag.", "Nein, ich meinte Dienstag"),
    ("correction", "Eso está mal, era para dos.", "Eso está mal, era para dos"),
    ("correction", "Non, c'est faux.", "Non, c'est faux"),
    # rejections and undo requests
    ("rejection", "Undo that.", "Undo that"),
    ("rejection", "please revert it", "please revert it"),
    ("rejection", "Put it back the way it was.", "Put it back the way it was"),
    ("rejection", "Don't do that again.", "Don't do that again"),
    ("rejection", "Cancel that.", "Cancel that"),
    ("rejection", "I never asked you to book anything.", "I never asked you to book anything"),
    ("rejection", "stop doing that", "stop doing that"),
    # challenges
    ("challenge", "I never said Wednesday.", "I never said Wednesday"),
    ("challenge", "I didn't ask for four seats.", "I didn't ask for four seats"),
    ("challenge", "Why did you change the day?", "Why did you change the day"),
    ("non_understanding", "that doesn 't make sense", "that doesn't make sense"),
    ("non_understanding", "doesnt make any sense", "doesnt make any sense"),
    ("challenge", "What are you talking about?", "What are you talking about"),
    ("challenge", "Are you even listening to me?", "Are you even listening to me"),
    ("challenge", "You didn't answer my question.", "You didn't answer my question"),
    ("challenge", "But you said it was free on Tuesday!", "But you said it was free on Tuesday"),
    ("challenge", "what does that have to do with it?", "what does that have to do with it"),
    ("challenge", "Are you sure?", "Are you sure?"),
    ("non_understanding", "huh?", "huh?"),
    ("non_understanding", "no idea what you're talking about", "no idea what you're talking about"),
    ("challenge", "That's not an answer.", "That's not an answer"),
    ("challenge", "I didn't want the late slot.", "I didn't want the late slot"),
    ("challenge", "Hold on, you booked it already?", "Hold on, you booked it already?"),
    ("challenge", "you CANCELLED my other table?!", "you CANCELLED my other table?"),
    # swearing at / insulting the assistant
    ("insult", "You're useless.", "You're useless"),
    ("insult", "you are so fucking stupid", "you are so fucking stupid"),
    ("insult", "Stupid bot.", "Stupid bot"),
    ("insult", "Oh shut up.", "Oh shut up"),
    ("insult", "screw you", "screw you"),
    ("insult", "what the hell are you doing", "what the hell are you doing"),
    ("insult", "ffs. I only need a table for two.", "ffs"),
    ("insult", "Oh come on, I only need it for two.", "Oh come on, I only need it for two"),
    ("insult", "omg, seriously? you booked Wednesday", "omg, seriously"),
    # the user does not understand the reply
    ("non_understanding", "I don't understand you.", "I don't understand you"),
    ("non_understanding", "sorry, I didn't get that", "sorry, I didn't get that"),
    ("non_understanding", "What do you mean?", "What do you mean?"),
    ("non_understanding", "what?? what??", "what?? what??"),
    ("non_understanding", "Hmm, you lost me there.", "Hmm, you lost me there"),
    ("non_understanding", "lol what", "lol what"),
    (
        "non_understanding",
        "What? Since when do you sell bikes",
        "What? Since when do you sell bikes",
    ),
    ("non_understanding", "hmm, I'm confused", "hmm, I'm confused"),
    ("non_understanding", "You're confusing me.", "You're confusing me"),
    # re-asking after an evasive or off-topic answer
    ("re_ask", "No, where is it exactly?", "No, where is it exactly?"),
    ("re_ask", "I asked whether they take cards.", "I asked whether they take cards"),
    ("re_ask", "My question was about the deposit.", "My question was about the deposit"),
    ("re_ask", "Could you just answer my question?", "Could you just answer my question"),
    ("re_ask", "Answer me.", "Answer me."),
    # sarcasm or mockery about the assistant's competence
    ("sarcasm", "Well, thanks for nothing.", "Well, thanks for nothing"),
    ("sarcasm", "Wow, very helpful... not.", "Wow, very helpful... not"),
    ("sarcasm", "Great, thanks genius.", "Great, thanks genius"),
    (
        "sarcasm",
        "A pocket calculator is smarter than you.",
        "A pocket calculator is smarter than you",
    ),
    ("sarcasm", "Is that really the best you can do?", "Is that really the best you can do"),
    ("sarcasm", "Do you even know what a weekday is?", "Do you even know what a weekday is"),
    ("sarcasm", "You sound like a broken record.", "You sound like a broken record"),
    # the user feels the answer missed the subject
    (
        "correction",
        "I'm talking about the one on Main Street.",
        "I'm talking about the one on Main Street",
    ),
    ("correction", "lol I was not asking for a recipe", "lol I was not asking for a recipe"),
    ("challenge", "whoa, rude", "whoa, rude"),
    ("challenge", "Why would I want to do that?", "Why would I want to do that"),
    ("correction", "no no no", "no no no"),
    ("correction", "Not that one, the other Luigi's.", "Not that one, the other Luigi's"),
    ("correction", "wrong restaurant", "wrong restaurant"),
    ("repetition", "Ok, I told you that already.", "Ok, I told you that already"),
    # explicit repetition
    ("repetition", "Like I said, two people on Tuesday.", "Like I said, two people on Tuesday"),
    ("repetition", "I already told you: Tuesday.", "I already told you: Tuesday"),
    ("repetition", "for the third time, TWO people", "for the third time, TWO people"),
    ("repetition", "Please answer my question.", "Please answer my question"),
    (
        "repetition",
        "A restaurant I can actually get to by bus?",
        "A restaurant I can actually get to by bus",
    ),
]

# The user's reply after ANSWER: none of these is a perceived error.
NON_SIGNAL_CASES = [
    # thanks and praise
    "Thanks, that's perfect!",
    "Great job, that is exactly what I needed.",
    "you are amazing",
    "That makes sense, thank you.",
    # genuine follow-up questions / asking for more detail
    "Do they have a vegetarian menu?",
    "What does 'prix fixe' mean?",
    "Why do restaurants close on Mondays?",
    "Could you explain the cancellation policy in more detail?",
    "what do you mean by a deposit?",
    # neutral narrowing or changing the request
    "Make it shorter.",
    "Now do the same for Friday.",
    "Actually, can you also book a taxi?",
    "It should be somewhere quiet.",
    "Sure, go ahead and send it.",
    # collaborative debugging reporting new results
    "I ran it and now I get a KeyError on line 3.",
    "OK that worked, next the tests fail with a timeout.",
    # frustration with the world, other people or a product
    "My boss is an idiot, he moved the dinner again.",
    "This traffic is fucking awful.",
    "ugh, the printer is useless",
    "I'm so stupid, I forgot my wallet.",
    # negations that are not corrections
    "No thanks, that's all.",
    "No problem!",
    "no worries, take your time",
    "No, that's fine.",
    "nope, nothing else",
    "You are not wrong.",
    "I don't think that's a problem.",
    # look-alikes
    "How do I undo a reservation on their website?",
    "I meant to ask: do they have parking?",
    "It doesn't make sense to drive there, right?",
    "What's wrong with their website?",
    "Stop the timer and restart it.",
    "I said to my wife we'd go on Tuesday.",
    "My kids just won't shut up about pizza.",
    "Move the dinner back an hour.",
    "Stop this reminder at 9pm.",
    "It's not right that they charge for tap water.",
    "Reverse the order of the list.",
    "You're so helpful.",
    "you are helpful, thanks",
    "OK, that's making sense now.",
    "That's the question I had, thanks.",
    "Are you reading anything good lately?",
    "I don't want you to worry about the deposit.",
    "Who said that quote about Rome?",
    "My job has nothing to do with it.",
    "For the second time this week my flight was delayed.",
    "Did I tell you the awful news?",
    "I never told my mom about the trip.",
    "I didn't agree with my boss on the budget.",
    "What are you talking about in your speech tomorrow?",
    # look-alikes of the newer patterns
    "I said yes to the wine pairing, by the way.",
    "I asked for the bill last time and it took ages, so let's pay upfront.",
    "I didn't want to bother you earlier.",
    "I never wanted kids, honestly.",
    "Wait, you mean the one near the park?",
    "You booked it? Great, thanks!",
    "ffs, the parking there is a nightmare.",
    "ugh, my landlord raised the rent again.",
    "Omg you booked it already, thanks!!",
    "Seriously, thank you so much.",
    "Nein, danke.",
    "No, gracias.",
    "I wanted to ask whether they have a kids menu.",
    # look-alikes of the sarcasm, non-understanding and re-asking families
    "Wow, very helpful, thank you!",
    "Nice job, that's exactly it.",
    "Thanks, that's genius advice.",
    "My sister is smarter than me at chess.",
    "No, what about you?",
    "Nah, how about you?",
    "I don't understand why the deposit is so high.",
    "What do you mean by corkage?",
    "My question was answered, thanks.",
    "Is that the best table they have left?",
    "I'm confused about their opening hours, can you check?",
    "What? That's amazing, thank you!!",
    "Why would I need a deposit for two people?",
    "I told you about my allergy last week, right?",
    # a pasted log from collaborative debugging
    'Now I get:\nTraceback (most recent call last):\n  File "app.py", line 3\n'
    "ValueError: expected 2 guests, not 4",
]


def _kind_phrase(kind: str) -> str:
    return {
        "correction": "corrects",
        "rejection": "rejects",
        "challenge": "challenges",
        "insult": "insults",
        "sarcasm": "mocks the assistant's competence",
        "non_understanding": "makes no sense to them",
        "re_ask": "asks again",
        "repetition": "repeats",
        "admission": "acknowledges an error",
    }[kind]


@pytest.mark.parametrize(("kind", "reply", "quote"), SIGNAL_CASES)
def test_signal_is_flagged_and_quoted(kind: str, reply: str, quote: str) -> None:
    verdict = judge_turns(after_answer(reply))
    assert verdict.perceived_error is True
    assert _kind_phrase(kind) in verdict.reason
    assert f'"{quote}"' in verdict.reason
    signals = detect_signals(after_answer(reply))
    assert [s.kind for s in signals][:1] == [kind] or kind in {s.kind for s in signals}
    assert all(s.turn_index == 2 for s in signals)


@pytest.mark.parametrize("reply", NON_SIGNAL_CASES)
def test_non_signal_is_not_flagged(reply: str) -> None:
    verdict = judge_turns(after_answer(reply))
    assert verdict.perceived_error is False, verdict.reason
    assert verdict.reason == NO_SIGNAL_REASON
    assert detect_signals(after_answer(reply)) == []


def test_every_signal_kind_is_covered_by_a_case() -> None:
    covered = {kind for kind, _, _ in SIGNAL_CASES} | {"admission", "retry"}
    assert covered == set(SIGNAL_KINDS)


@pytest.mark.parametrize(
    ("admission", "quote"),
    [
        (
            "You're right, sorry about that. Booked for two on Tuesday.",
            "You're right, sorry about that",
        ),
        ("My mistake, it is Tuesday.", "My mistake, it is Tuesday"),
        ("I apologize for the confusion. Fixed.", "I apologize for the confusion"),
        ("I was wrong: the table is for two.", "I was wrong: the table is for two"),
        ("Sorry, I misunderstood your request.", "Sorry, I misunderstood your request"),
        # an apology and a mistake word in one clause
        (
            "Apologies - I booked the wrong evening. Fixed.",
            "Apologies - I booked the wrong evening",
        ),
        (
            "I'm sorry, that was the old menu. Here is the new one.",
            "I'm sorry, that was the old menu",
        ),
        ("Sorry, that was Friday's list. Tuesday is free.", "Sorry, that was Friday's list"),
        (
            "So sorry, the time I gave you was wrong. It is 8pm.",
            "So sorry, the time I gave you was wrong",
        ),
        # an admission without an apology
        (
            "I shouldn't have booked it without asking. Cancelled.",
            "I shouldn't have booked it without asking",
        ),
        (
            "I used the wrong date earlier; it is Tuesday now.",
            "I used the wrong date earlier; it is Tuesday now",
        ),
        ("I mixed up the two evenings. Tuesday it is.", "I mixed up the two evenings"),
        # Spanish, German, French
        ("Perdón, me equivoqué de día. Ya está el martes.", "Perdón, me equivoqué de día"),
        (
            "Entschuldigung, das Datum war falsch. Jetzt Dienstag.",
            "Entschuldigung, das Datum war falsch",
        ),
        ("Désolé, je me suis trompé de jour.", "Désolé, je me suis trompé de jour"),
        ("Stimmt, da habe ich mich verlesen.", "Stimmt, da habe ich mich verlesen"),
    ],
)
def test_assistant_admission_is_flagged(admission: str, quote: str) -> None:
    turns = [*after_answer("Please book it for Tuesday."), a(admission)]
    verdict = judge_turns(turns)
    assert verdict.perceived_error is True
    assert verdict.reason == f'The assistant acknowledges an error: "{quote}".'
    assert detect_signals(turns) == [Signal(kind="admission", turn_index=3, quote=quote)]


@pytest.mark.parametrize(
    "reply",
    [
        "Sure! Booked for two on Tuesday as well.",
        "I'm sorry to hear that your evening was ruined.",
        "You're right that Tuesdays are busy. Booked anyway.",
        "Sorry, I can't book taxis.",
        "I apologize, but I cannot browse the web.",
        "Booked. If I misunderstood anything, let me know.",
        "Unless I'm mistaken, Tuesday is their quiet day.",
        # empathy and service apologies, not admissions
        "Sorry to hear the last dinner went wrong. Booked for Tuesday.",
        "Sorry for the wait - booked for Tuesday.",
        "I'm sorry, but I can't tell what went wrong with their site.",
        "Sorry, what went wrong with the old booking?",
        "Sorry, that was quick! Booked for Tuesday.",
        "If I used the wrong date, tell me.",
        "I noticed the wrong year in your note, so I booked this Tuesday.",
        "I should have the confirmation in a minute.",
        "Lo siento, no queda sitio el martes.",
    ],
)
def test_assistant_politeness_is_not_an_admission(reply: str) -> None:
    turns = [*after_answer("Please book it for Tuesday too."), a(reply)]
    assert judge_turns(turns).perceived_error is False


def test_admission_in_the_first_assistant_turn_is_not_read() -> None:
    """An apology answering the first user message admits no earlier assistant error."""
    turns = [h(REQUEST), a("My mistake, I cannot book tables."), h("OK, thanks anyway.")]
    assert judge_turns(turns).perceived_error is False


def test_correction_like_first_message_is_not_a_signal() -> None:
    turns = [
        h("No, I said Tuesday! That's wrong, undo that, you idiot."),
        a("Sorry, which booking do you mean?"),
        h("The one at Luigi's, thanks."),
    ]
    assert detect_signals(turns) == []
    assert judge_turns(turns) == Verdict(perceived_error=False, reason=NO_SIGNAL_REASON)


def test_user_turns_before_any_assistant_turn_are_not_read() -> None:
    turns = [h("That's wrong."), h("I never said that."), a("How can I help?"), h("Book Luigi's.")]
    assert detect_signals(turns) == []


def test_no_user_turn_after_an_assistant_turn() -> None:
    for turns in ([h(REQUEST)], [h(REQUEST), a(ANSWER)], [a("Hi!"), a("Anyone there?")], []):
        verdict = judge_turns(turns)
        assert verdict == Verdict(perceived_error=False, reason=NO_USER_TURN_AFTER_AI_REASON)


def test_later_signal_is_found_after_neutral_turns() -> None:
    turns = [
        h(REQUEST),
        a(ANSWER),
        h("Thanks. Do they have parking?"),
        a("Yes, there is a car park behind the restaurant."),
        h("Hold on, I never said Wednesday."),
    ]
    signals = detect_signals(turns)
    assert [(s.kind, s.turn_index) for s in signals] == [("challenge", 4)]
    assert judge_turns(turns).reason == (
        'The user challenges the assistant: "Hold on, I never said Wednesday".'
    )


def test_repeated_request_is_a_repetition() -> None:
    turns = [
        h("What is the cancellation policy at Luigi's?"),
        a("Luigi's is an Italian restaurant on Main Street."),
        h("what is the cancellation policy at luigi's"),
    ]
    verdict = judge_turns(turns)
    assert verdict.perceived_error is True
    assert verdict.reason == (
        'The user repeats an earlier request: "what is the cancellation policy at luigi\'s".'
    )


def test_rephrased_request_is_a_repetition() -> None:
    turns = [
        h("Can you give me the cancellation policy for Luigi's restaurant?"),
        a("Luigi's is an Italian restaurant on Main Street."),
        h("Please give me the cancellation policy for Luigi's restaurant."),
    ]
    assert [s.kind for s in detect_signals(turns)] == ["repetition"]


@pytest.mark.parametrize(
    "turns",
    [
        # short acknowledgements repeat without signalling anything
        [h("yes ok"), a("Shall I book it?"), h("yes ok")],
        [h("thanks!"), a("You're welcome."), h("thanks!")],
        # a similar request about something new is narrowing, not repetition
        [
            h("Summarise the February sales report."),
            a("February: revenue up 4%."),
            h("Summarise the March sales report."),
        ],
        # a repeat the assistant asked for (a clarifying question, not a failure to understand)
        [
            h("Find me an Italian restaurant near the station."),
            a("Could you clarify which station you mean?"),
            h("Find me an Italian restaurant near the station."),
        ],
        # only the request the assistant just answered can be repeated
        [
            h("Find me an Italian restaurant near the station."),
            a("Luigi's is near the station."),
            h("Book it for two."),
            a("Booked."),
            h("Find me an Italian restaurant near the station."),
        ],
    ],
)
def test_not_a_repetition(turns: list[Turn]) -> None:
    assert detect_signals(turns) == []


def test_declining_an_offer_is_not_a_rejection() -> None:
    turns = after_answer("No, don't send it.", answer="Would you like me to send the invite?")
    assert judge_turns(turns).perceived_error is False
    turns = after_answer("No, don't send it!", answer="Sending the invite to all 40 guests now.")
    verdict = judge_turns(turns)
    assert verdict.perceived_error is True
    assert verdict.reason == (
        "The user rejects or undoes the assistant's action: \"No, don't send it\"."
    )


def test_contrast_is_a_correction_only_when_the_assistant_stated_it() -> None:
    asked = after_answer("Thursday, not Tuesday.", answer="Tuesday or Thursday?")
    assert judge_turns(asked).perceived_error is False
    stated = after_answer("Thursday, not Tuesday.", answer="Booked for Tuesday.")
    assert judge_turns(stated).reason == 'The user corrects the assistant: "Thursday, not Tuesday".'
    idiom = after_answer("Fine, not bad.", answer="The food there is not bad.")
    assert judge_turns(idiom).perceived_error is False


def test_reason_picks_the_highest_priority_kind() -> None:
    turns = after_answer("Like I said, you're useless. That's wrong.")
    kinds = {s.kind for s in detect_signals(turns)}
    assert kinds == {"correction", "insult", "repetition"}
    assert judge_turns(turns).reason == 'The user corrects the assistant: "That\'s wrong".'


def test_long_quotes_are_truncated() -> None:
    filler = "and I also want a window seat with a view of the garden and some candles "
    reply = f"{filler * 3}but honestly that's wrong because I wanted it for Tuesday {filler}"
    verdict = judge_turns(after_answer(reply))
    assert verdict.perceived_error is True
    quote = verdict.reason.split('"')[1]
    assert len(quote) <= MAX_QUOTE_CHARS + 6
    assert "that's wrong" in quote
    assert quote.startswith("...") or quote.endswith("...")
    assert "\n" not in verdict.reason


def test_quotes_replace_double_quotes() -> None:
    verdict = judge_turns(after_answer('That\'s wrong, I said "Tuesday".'))
    assert verdict.reason == "The user corrects the assistant: \"That's wrong, I said 'Tuesday'\"."


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("that doesn 't make sense", "that doesn't make sense"),
        ("i 'm here", "i'm here"),
        ("i do n't know", "i don't know"),
        ("That\u2019s   wrong", "That's wrong"),
        ("doesn`t work", "doesn't work"),
        ("  you ' re   wrong  ", "you're wrong"),
    ],
)
def test_normalize_text(raw: str, normal: str) -> None:
    assert normalize_text(raw) == normal


def test_reason_for_no_signals() -> None:
    assert reason_for([]) == NO_SIGNAL_REASON


# ----------------------------------------------------------------------------------------------
# The chat-model shell
# ----------------------------------------------------------------------------------------------


def test_invoke_returns_verdict_json() -> None:
    judge = RulesJudge()
    output = judge.invoke(build_judge_messages(after_answer("No, I said Tuesday.")))
    assert isinstance(output, AIMessage)
    assert isinstance(output.content, str)
    verdict = Verdict.model_validate_json(output.content)
    assert verdict.perceived_error is True
    assert verdict.reason == 'The user corrects the assistant: "No, I said Tuesday".'
    assert set(json.loads(output.content)) == {"perceived_error", "reason"}
    assert output.usage_metadata is None


async def test_ainvoke_returns_the_same_verdict() -> None:
    judge = RulesJudge()
    messages = build_judge_messages(after_answer("Thanks, perfect."))
    output = await judge.ainvoke(messages)
    assert output.content == judge.invoke(messages).content
    assert Verdict.model_validate_json(str(output.content)) == Verdict(
        perceived_error=False, reason=NO_SIGNAL_REASON
    )
    assert output.usage_metadata is None


def test_model_identity() -> None:
    judge = RulesJudge()
    assert judge.model_name == "rules"
    assert judge._llm_type == "perceived-error-rules"


def test_multiline_turns_survive_the_rendering() -> None:
    turns = after_answer("Thanks for trying.\nBut that's wrong:\n  I said Tuesday.")
    output = RulesJudge().invoke(build_judge_messages(turns))
    verdict = Verdict.model_validate_json(str(output.content))
    assert verdict.reason == 'The user corrects the assistant: "But that\'s wrong".'


def test_transcript_is_found_after_a_retry_prompt() -> None:
    messages = [
        *build_judge_messages(after_answer("undo that")),
        *build_retry_messages("not json", "invalid JSON"),
    ]
    verdict = Verdict.model_validate_json(str(RulesJudge().invoke(messages).content))
    assert verdict.perceived_error is True


@pytest.mark.parametrize(
    "messages",
    [
        [SystemMessage(content=SYSTEM_PROMPT), HumanMessage(content="Judge this conversation.")],
        [HumanMessage(content="<transcript> not really a block")],
        [AIMessage(content="<transcript>\nuser: hi\n</transcript>")],
        [],
    ],
)
def test_prompt_without_transcript_raises(messages: list) -> None:
    with pytest.raises(ValueError, match="transcript"):
        RulesJudge().invoke(messages)


async def test_prompt_without_transcript_raises_async() -> None:
    with pytest.raises(ValueError, match="transcript"):
        await RulesJudge().ainvoke([HumanMessage(content="hello")])


def test_short_restatement_of_a_missed_request_is_a_repetition() -> None:
    turns = [
        h("What's the forecast for Oslo and Bergen tomorrow?"),
        a("Oslo: 4 degrees and light rain all day."),
        h("Bergen."),
    ]
    assert detect_signals(turns) == [Signal(kind="repetition", turn_index=2, quote="Bergen.")]
    format_ignored = [
        h("List the top five launch risks as a table."),
        a("The launch carries several risks. The biggest is the vendor delay, then ..."),
        h("Just the table, please."),
    ]
    assert judge_turns(format_ignored).reason == (
        'The user repeats an earlier request: "Just the table, please.".'
    )


@pytest.mark.parametrize(
    "turns",
    [
        # the short reply answers the assistant's question
        [
            h("Find trains to Oslo or Bergen on Friday."),
            a("Which city do you prefer?"),
            h("Bergen."),
        ],
        # the answer did mention it
        [h("What's the forecast for Bergen tomorrow?"), a("Bergen: 6 degrees, dry."), h("Bergen.")],
        # a word the user never asked about is a new request
        [h("What's the forecast for Oslo tomorrow?"), a("Oslo: 4 degrees."), h("Bergen?")],
        # acknowledgements and ritual turns said again
        [h("Book the late train to Bergen please."), a("Booked the 21:10."), h("Perfect, thanks.")],
        [h("<PAUSE>"), a("Hello there."), h("<PAUSE>")],
        # a longer turn is not a short restatement
        [
            h("What's the forecast for Oslo and Bergen tomorrow?"),
            a("Oslo: 4 degrees."),
            h("And what should I pack for Bergen in that case?"),
        ],
    ],
)
def test_not_a_short_restatement(turns: list[Turn]) -> None:
    assert detect_signals(turns) == []


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        ("Freitag, nicht Samstag.", "Ich habe den Tisch für Samstag reserviert."),
        ("Martes, no miércoles.", "Reservé una mesa para el miércoles."),
        ("jeudi, pas mercredi", "J'ai réservé pour mercredi."),
    ],
)
def test_contrast_in_other_languages(reply: str, answer: str) -> None:
    verdict = judge_turns(after_answer(reply, answer=answer))
    assert verdict.perceived_error is True
    assert "corrects" in verdict.reason


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        # the assistant asked, it did not state
        ("Sábado, no domingo.", "¿Sábado o domingo?"),
        # idioms
        ("Bueno, no pasa nada.", "Lo siento, no pasa nada con la reserva."),
        ("Thanks, no problem at all.", "No problem, the booking is done."),
        # a shared hypothesis ruled out, not the assistant corrected
        (
            "So it's the cache, not the database like I suspected.",
            "It could be the database or the cache.",
        ),
        ("Turns out it's DNS, not the firewall as we assumed.", "Check the firewall first."),
    ],
)
def test_contrast_look_alikes_are_not_corrections(reply: str, answer: str) -> None:
    assert judge_turns(after_answer(reply, answer=answer)).perceived_error is False


def test_contrast_against_a_stated_cause_is_still_a_correction() -> None:
    turns = after_answer("It's the cache, not the database.", answer="The database is the cause.")
    assert judge_turns(turns).reason == (
        'The user corrects the assistant: "It\'s the cache, not the database".'
    )


@pytest.mark.parametrize(
    "failure",
    [
        "Sorry, I don't understand.",
        "I'm not sure what you mean.",
        "I don't know how to help with that.",
        "Sorry, I can't help with that.",
    ],
)
def test_a_new_attempt_after_the_assistant_failed_to_understand_is_a_retry(failure: str) -> None:
    turns = [
        h("Put the gym session somewhere on Thursday evening."),
        a(failure),
        h("Thursday, after work, add a gym slot to my calendar."),
    ]
    verdict = judge_turns(turns)
    assert verdict.reason == (
        "The user tries again after the assistant failed to understand: "
        '"Thursday, after work, add a gym slot to my calendar.".'
    )


@pytest.mark.parametrize("closing", ["ok never mind", "Thanks anyway!", "no worries, bye"])
def test_closing_after_the_assistant_failed_to_understand_is_not_a_retry(closing: str) -> None:
    turns = [h("Put the gym session on Thursday."), a("Sorry, I don't understand."), h(closing)]
    assert [s.kind for s in detect_signals(turns)] == []


def test_a_reworded_request_is_a_repetition() -> None:
    # number words, inflections and an added word do not hide the repeat
    turns = [
        h("Can you list three vegan dinners under twenty minutes?"),
        a("Vegan cooking relies on legumes, grains and vegetables."),
        h("List 3 vegan dinner recipes under 20 minutes please"),
    ]
    assert [s.kind for s in detect_signals(turns)] == ["repetition"]


def test_the_same_command_again_after_it_was_carried_out_is_not_a_repetition() -> None:
    turns = [
        h("Water the greenhouse plants with the drip system."),
        a("Done: the greenhouse plants were watered with the drip system."),
        h("Water the greenhouse plants with the drip system."),
    ]
    assert detect_signals(turns) == []


def test_the_same_command_again_after_it_failed_is_a_repetition() -> None:
    turns = [
        h("Water the greenhouse plants with the drip system."),
        a("The greenhouse is 24 degrees today."),
        h("Water the greenhouse plants with the drip system."),
    ]
    assert [s.kind for s in detect_signals(turns)] == ["repetition"]


@pytest.mark.parametrize(
    ("reply", "quote"),
    [
        # a question mark before the signal does not leak into the quote
        ("The 22nd? I said the 21st.", "I said the 21st"),
        # a dotted file name is one word, not a sentence end
        ("That's wrong, it lives in parser.rs now.", "That's wrong, it lives in parser.rs now"),
    ],
)
def test_quotes_are_whole_sentences(reply: str, quote: str) -> None:
    turns = [
        h("Which file handles tokens, and what date is the release?"),
        a("Tokens are handled in lexer.rs; the release is on the 22nd."),
        h(reply),
    ]
    assert judge_turns(turns).reason == f'The user corrects the assistant: "{quote}".'


def test_rules_config_limits_the_families() -> None:
    turns = after_answer("Well, thanks for nothing.")
    assert judge_turns(turns).perceived_error is True
    only_corrections = RulesConfig(families=("correction",))
    assert judge_turns(turns, only_corrections) == Verdict(
        perceived_error=False, reason=NO_SIGNAL_REASON
    )


def test_a_short_command_said_again_after_a_miss_is_a_repetition() -> None:
    turns = [
        h("play rainy mood jazz"),
        a("Here is the weather for today: light rain."),
        h("play rainy mood jazz"),
    ]
    assert [s.kind for s in detect_signals(turns)] == ["repetition"]


@pytest.mark.parametrize(
    "turns",
    [
        # the command was carried out: saying it again asks for it again
        [h("play rainy mood jazz"), a("Playing rainy mood jazz."), h("play rainy mood jazz")],
        # the assistant asked something: the repeat answers it
        [h("play jazz radio"), a("On which speaker?"), h("play jazz radio")],
        # rituals said twice
        [h("thank you very much"), a("Anything else?"), h("thanks very much")],
        [h("ok bye"), a("Goodbye!"), h("ok bye")],
    ],
)
def test_not_a_repeated_short_command(turns: list[Turn]) -> None:
    assert detect_signals(turns) == []

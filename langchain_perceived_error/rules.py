"""The built-in offline judge: deterministic rules behind the same chat-model interface.

:class:`RulesJudge` is a :class:`~langchain_core.language_models.BaseChatModel`, so it runs
through exactly the same judge graph as an LLM judge. It receives the messages built by
:func:`~langchain_perceived_error.prompts.build_judge_messages`, reads the turns back from the
rendered ``<transcript>`` block, looks for perceived-error signals and answers with the verdict
JSON from :func:`~langchain_perceived_error.prompts.render_verdict`. It needs no keys, no network
and reports no token usage.

The analysis is a set of pure functions (:func:`normalize_text`, :func:`detect_signals`,
:func:`judge_turns`) over general English patterns taken from the definition of a perceived
error. Only user turns that come after an assistant turn are read (plus the assistant turns that
answer them); the rules prefer precision, so an unclear turn is not flagged.

Signal kinds, in the order they are reported:

- ``correction``: "no, I said Tuesday", "that's wrong", "not what I asked", "I meant ...",
  "I wanted X, not Y", "X, not Y" against what the assistant stated (also "X, nicht Y",
  "X, pas Y", "X, no Y"), and a few Spanish, German and French forms ("das ist falsch").
- ``rejection``: "undo that", "revert it", "put it back", "don't send it", "cancel that".
- ``challenge``: "I never said that", "why did you delete it", "that doesn't make sense",
  "what are you talking about", "you didn't answer my question", "I didn't want the large
  one", alarm at an action ("wait, you sent it?").
- ``insult``: swearing at or insulting the assistant ("you're useless", "stupid bot"), or an
  exasperated "WTF" / "ffs" in a turn that also complains about the answer.
- ``repetition``: the user repeats or rephrases an earlier request ("like I said", a later
  user turn nearly the same as an earlier one, or a very short turn restating the part of the
  request the answer missed: "Thursday.").
- ``admission``: the assistant acknowledges an error ("you're right, sorry", "my mistake",
  "sorry - I used the wrong file", "I shouldn't have sent it", "me equivoqué").
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import BaseModel, ConfigDict, Field

from langchain_perceived_error.eligibility import skip_reason
from langchain_perceived_error.prompts import parse_rendered_transcript, render_verdict
from langchain_perceived_error.schemas import Turn, Verdict

__all__ = [
    "NO_SIGNAL_REASON",
    "NO_USER_TURN_AFTER_AI_REASON",
    "SIGNAL_KINDS",
    "RulesJudge",
    "Signal",
    "SignalKind",
    "detect_signals",
    "judge_turns",
    "normalize_text",
    "reason_for",
]

SignalKind = Literal["correction", "rejection", "challenge", "insult", "repetition", "admission"]
"""What kind of evidence a :class:`Signal` is."""

SIGNAL_KINDS: tuple[SignalKind, ...] = (
    "correction",
    "rejection",
    "challenge",
    "insult",
    "repetition",
    "admission",
)
"""All signal kinds, in reporting priority (the first kind found names the verdict)."""

NO_SIGNAL_REASON = "No user turn after an assistant turn signals an error."
"""The reason given when user turns follow the assistant but none signals an error."""

NO_USER_TURN_AFTER_AI_REASON = "No user turn follows an assistant turn to signal an error."
"""The reason given when the transcript has no user turn after an assistant turn."""

MAX_QUOTE_CHARS = 80
"""Quotes in reasons are cut to about this many characters."""

REPEAT_MIN_TOKENS = 4
"""A user turn needs at least this many words to count as a repeated request."""

REPEAT_MIN_CONTENT_TOKENS = 3
"""... and at least this many non-stopwords, so greetings and "yes, ok" never count."""

REPEAT_SIMILARITY_THRESHOLD = 0.85
"""Fuzzy content-word overlap (Dice) from which a later user turn repeats an earlier one.

A content word counts as shared when the other turn has a word at least
:data:`REPEAT_WORD_MATCH_RATIO` alike (so typos still match). One changed word in six stays below
the threshold, so "now the same for March" is narrowing, not repetition.
"""

REPEAT_WORD_MATCH_RATIO = 0.8
"""How alike (:func:`difflib.SequenceMatcher` ratio) two words must be to count as the same."""

_FLAGS = re.IGNORECASE

# ---------------------------------------------------------------------------------------------
# Reusable fragments (all used with re.IGNORECASE on normalised text: straight apostrophes,
# contractions re-joined, single spaces, line breaks kept). Apostrophes are optional because chat
# users drop them.
# ---------------------------------------------------------------------------------------------
_YOU = r"(?:you|u|ya)"
_YOU_ARE = r"(?:you'?re|you\s+are|you\s+were|u\s+r|u\s+are|ur|youre)"
_THAT_IS = r"(?:that'?s|that\s+is|that\s+was|this\s+is|this\s+was|thats)"
_NOT = r"(?:n'?t|\s+not)"
_DIDNT = r"(?:didn'?t|did\s+not|never|haven'?t|have\s+not|still\s+haven'?t|still\s+didn'?t)"
_DONT = r"(?:don'?t|do\s+not|didn'?t|did\s+not)"
_CLAUSE_START = (
    r"(?:^|[.!?;,:]\s*|\b(?:please|pls|plz|just|now|so|ok|okay|no+|nope|then|and|but|"
    r"can\s+you|could\s+you|would\s+you|will\s+you)\s+)"
)
_TO_ME = r"(?=\s*(?:[.!?,;]|$|to\s+me\b|to\s+what\b|what\s+i\b|my\b))"
_I_NEVER = (
    r"i\s+(?:never|didn'?t|did\s+not|don'?t\s+remember|do\s+not\s+remember|haven'?t|have\s+not)"
    r"(?:\s+(?:ever|even))?"
)
_NOT_IF = r"(?<!\bif\s)(?<!\bunless\s)(?<!\bcase\s)(?<!\bwhether\s)"
_SENTENCE_START = r"(?:^|(?<=[.!?;:\n]))\W*"
_ACTION_VERBS = (
    r"(?:sent|deleted|removed|booked|cancell?ed|posted|published|pushed|merged|deployed|emailed|"
    r"submitted|paid|bought|ordered|purchased|ran|executed|dropped|overwr(?:o|i)te|overwritten|"
    r"wiped|erased|replied|forwarded|shared|charged|moved|renamed|changed|reset|closed|archived|"
    r"uninstalled|installed|restarted|killed|committed|transferred|declined|accepted|scheduled|"
    r"invited|unsubscribed|reverted|rebooted|formatted|signed|replaced|rewrote|rewritten|"
    r"truncated|cleared|emptied|published|tweeted|texted|called|messaged)"
)
_SWEAR_START = r"(?:^|[.!?;,:]\s*|\b(?:oh|just|please|so|now|ok|okay|well|and|omg|god|jeez)\s+)"
_INTENSIFIERS = (
    r"(?:(?:such|so|really|very|a|an|most|fucking|f\W{0,3}ing|freaking|frigging|bloody|"
    r"damn|completely|totally|absolutely|truly|just|being|kind\s+of|kinda|pretty|utterly|"
    r"actually|literally|absolute|complete|total|big|little)\s+)*"
)
_INSULT_WORDS = (
    r"(?:idiot|idiotic|stupid|dumb|moron|moronic|useless|worthless|pathetic|retard(?:ed)?|"
    r"imbecile|dumbass|dumb\s*ass|dummy|fool|incompetent|garbage|trash|rubbish|terrible|awful|"
    r"horrible|annoying|weird|rude|creepy|boring|joke|clown|loser|brainless|clueless|hopeless|"
    r"dense|broken|crap|crappy|"
    r"shit|shitty|jerk|asshole|arsehole|ass|bitch|piece\s+of\s+(?:shit|crap|junk|garbage|trash))"
)


def _compile(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern, _FLAGS) for pattern in patterns)


CORRECTION_PATTERNS: tuple[re.Pattern[str], ...] = _compile(
    # "no, I said Tuesday", "no I meant the other one", "nope, I asked for two"
    r"\b(?:no+|nope|nah)\b[\s,.!-]*(?:i|we)\s+(?:said|meant|asked|wanted|told\s+you|wrote|"
    r"typed|specified|mentioned)\b",
    # "no, I was asking about ...", "actually I was talking about the other one"
    r"\b(?:no+|nope|nah|but|actually)\b[\s,.!-]*(?:i|we)(?:'m|\s+am|\s+was|\s+were)\s+"
    r"(?:asking|talking\s+about|referring\s+to|saying)\b",
    # "that's wrong", "this is incorrect", "that was false"
    rf"\b{_THAT_IS}\s+(?:(?:just|simply|totally|completely|all|so|clearly|definitely)\s+)?"
    r"(?:wrong|incorrect|false|inaccurate|untrue|mistaken)\b",
    # "that's not right", "this isn't correct", "that's not true", "it's not correct"
    rf"\b(?:that|this|it)(?:'?s|\s+is|\s+was){_NOT}\s+(?:(?:quite|exactly|even)\s+)?"
    r"(?:right|correct|true|accurate|it|the\s+case|how\s+it\s+works|what)\b"
    r"(?!\s+(?:that|to|for|of|how|when|if)\b)",
    r"\b(?:that|this|it)\s+(?:isn'?t|wasn'?t)\s+(?:(?:quite|exactly|even)\s+)?"
    r"(?:right|correct|true|accurate|it|the\s+case|what)\b(?!\s+(?:that|to|for|of|how|when|if)\b)",
    # "not what I asked", "not what I meant", "not what I wanted"
    r"\bnot\s+(?:at\s+all\s+)?what\s+(?:i|we)\s+(?:asked|wanted|meant|said|requested|needed|"
    r"need|want|mean|ordered|was\s+(?:asking|looking)|had\s+in\s+mind)",
    # "I meant the second one" (not "I meant to ask ...")
    r"\bi\s+(?:actually\s+)?meant\b(?!\s+to\b)(?!\s+it\b)",
    # "no, it should be 42", "but it was supposed to be blue", "should be X, not Y"
    r"\b(?:no+|nope|but|actually)\b[\s,.!-]*(?:it|that|this|the\s+\w+|they)\s+"
    r"(?:should|must|needs?\s+to|has\s+to|is\s+supposed\s+to|was\s+supposed\s+to|"
    r"'?s\s+supposed\s+to)\s+(?:be|say|read|show|have\s+been)\b"
    r"(?!\s+(?:all|it|fine|ok|okay|good|great|enough|everything|perfect)\b)",
    r"\bshould\s+(?:be|have\s+been|say|read)\s+[^.!?]{1,40}?,?\s+not\s+\w",
    # "you're wrong", "you are mistaken", "you got it wrong", "you've got that backwards"
    rf"\b{_YOU_ARE}\s+(?:(?:so|totally|completely|just|simply|clearly|dead)\s+)?"
    r"(?:wrong|mistaken|incorrect)\b",
    rf"\b{_YOU}(?:'ve|\s+have)?\s+(?:got|get|had|have)\s+(?:it|that|this|them|the\s+\w+|my\s+\w+)"
    r"\s+(?:all\s+)?(?:wrong|backwards|mixed\s+up|confused)\b",
    # "that's the wrong file", "you used the wrong date"
    rf"\b(?:{_THAT_IS}|it'?s|it\s+is|those\s+are|these\s+are|{_YOU}\s+\w+)\s+(?:the|a)\s+"
    r"wrong\b",
    # "you misunderstood", "you mixed up the dates", "you forgot my name"
    rf"\b{_YOU}\s+(?:completely\s+|totally\s+|clearly\s+)?(?:misunderstood|misread|misheard|"
    r"mixed\s+up|mixed\s+(?:it|them|that)\s+up|confused\s+(?:it|them|me\s+with|the|my)|"
    r"ignored|overlooked|forgot\s+(?:to|my|the|about|that)|left\s+out|got\s+confused)\b",
    # the whole turn is "wrong." / "nope, incorrect" / "not true"
    r"^\W*(?:no+|nope|nah)?\W*(?:wrong|incorrect|not\s+(?:right|correct|true))\W*$",
    # "no, not that one", "no, not the blue one"
    r"\b(?:no+|nope)\b[\s,.!-]+not\s+(?:that|this|the|those|these|what|like\s+that|there)\b",
    # "your answer is wrong", "your code is broken"
    r"\byour\s+(?:answer|response|reply|code|fix|solution|calculation|math|summary|"
    r"information|info|translation|statement)\s+(?:is|was)\s+(?:\w+\s+)?"
    r"(?:wrong|incorrect|false|broken|inaccurate|off)\b",
    rf"\b{_YOU}\s+broke\s+(?:it|that|this|the|my|everything)\b",
    # "you're doing it wrong"
    rf"\b(?:{_YOU_ARE}|your)\s+(?:\w+\s+)?doing\s+(?:it|this|that)\s+(?:all\s+)?wrong\b",
    # a sentence (not only the turn) that starts "I said ...": "Wrong month. I said May."
    rf"{_SENTENCE_START}(?:but\s+|and\s+)?i\s+(?:said|specified|told\s+you)\b"
    r"(?!\s+(?:to|goodbye|bye|hello|hi|yes|thanks|thank|that\s+i|i|we|it\s+was\s+fine)\b)"
    r"(?![^.!?\n]*\?)",
    # "I asked for the PDF." (a statement, not "I asked for X, is it ready?")
    rf"{_SENTENCE_START}(?:but\s+|and\s+)?i\s+(?:asked|was\s+asking)\s+(?:you\s+)?for"
    r"(?:\s+[\w'-]+){1,5}(?=\s*(?:[.!;]|$)|\s[-\u2013\u2014]\s)",
    # "I wanted the red one, not the blue one", "I needed a list, not a table"
    r"\bi\s+(?:wanted|needed|asked\s+for|requested|meant)\s+[^.!?\n,]{1,40}?,?\s+"
    r"(?:not|instead\s+of)\s+\w",
    # Spanish, German and French: "eso está mal", "das ist falsch", "c'est faux"
    r"\b(?:eso\s+|esto\s+)?(?:est[aá]\s+mal|es\s+incorrecto|no\s+es\s+(?:correcto|cierto|lo\s+que\s+"
    r"(?:ped[ií]|quer[ií]a|dije)))\b",
    r"\b(?:das|es|dies)\s+(?:ist|war)\s+(?:(?:leider|so|ganz|v[öo]llig)\s+)?falsch\b",
    r"\b(?:das\s+stimmt\s+(?:so\s+)?nicht|nicht\s+das,?\s+was\s+ich\s+(?:wollte|meinte|gesagt))\b",
    r"\b(?:c'est|c'[ée]tait)\s+(?:faux|incorrect|pas\s+(?:[çc]a|ce\s+que\s+j))",
    r"\bce\s+n'est\s+pas\s+(?:[çc]a|ce\s+que\s+j|correct|juste)\b",
    # "Nein, ich meinte ...", "No, dije ...", "Non, j'ai dit ..."
    r"^\W*(?:nein|no|non)\b[\s,.!-]*(?:ich\s+(?:sagte|meinte|wollte|hab(?:e)?\s+(?:doch\s+)?"
    r"(?:\w+\s+)?(?:gesagt|gemeint))|(?:yo\s+)?(?:dije|quer[ií]a|quise\s+decir|ped[ií])|"
    r"j'ai\s+dit|je\s+(?:voulais|voulais\s+dire|disais))\b",
)
"""The user says the assistant got something wrong, or states what it should have been."""

REJECTION_PATTERNS: tuple[re.Pattern[str], ...] = _compile(
    # "undo that", "please revert it", "roll back the change"
    rf"{_CLAUSE_START}(?:undo|revert|roll\s*back)\b(?:\s+(?:that|this|it|the|your|what|"
    r"those|these|everything|all|my|last|changes?)\b|\s*[.!]*\s*$)",
    # "put it back", "change it back"
    rf"{_CLAUSE_START}(?:put|change|set|switch)\s+(?:it|that|this|them|"
    r"everything|things|the\s+\w+)\s+back\b(?!\s+(?:on|in|to\s+me|later|up))",
    rf"{_CLAUSE_START}(?:restore|bring\s+back)\s+(?:it|that|this|them|the\s+(?:previous|original|"
    r"old|earlier))\b",
    r"\bgo\s+back\s+to\s+(?:the\s+)?(?:previous|original|old|earlier)\s+(?:version|one|code|text|"
    r"draft|wording|value|file)\b",
    r"\b(?:go\s+back|change\s+it)\s+to\s+(?:how|the\s+way|what)\s+it\s+was\b",
    # "don't do that again"
    r"\b(?:don'?t|do\s+not|never)\s+do\s+(?:that|this|it)\s+again\b",
    rf"{_CLAUSE_START}(?:please\s+)?(?:don'?t|do\s+not)\s+do\s+that\b",
    # "cancel that", "stop it", "stop doing that", "stop repeating"
    rf"{_CLAUSE_START}(?:cancel|stop)\s+(?:that|this|it)\b(?=\s*(?:[.!,;]|$|please\b|now\b|"
    r"right\s+now\b|immediately\b))",
    rf"{_CLAUSE_START}stop\s+(?:doing\s+(?:that|this|it)|saying|repeating|asking|changing|adding|"
    r"using|talking\s+about|ignoring)\b",
    # "I didn't want you to do that", "I never asked you to"
    r"\bi\s+(?:didn'?t|did\s+not|never)\s+(?:want|ask|asked|tell|told)\s+"
    rf"{_YOU}\s+to\b",
    r"\bi\s+told\s+you\s+not\s+to\b",
)
"""The user rejects or undoes something the assistant did or proposed."""

STOP_ACTION_PATTERNS: tuple[re.Pattern[str], ...] = _compile(
    # "don't send it", "do not delete that"
    r"\b(?:don'?t|do\s+not|never)\s+(?:send|delete|remove|change|touch|post|publish|commit|push|"
    r"merge|deploy|run|modify|overwrite|book|email|rename|move|submit)\s+(?:it|that|this|"
    r"anything|them|those|these|my)\b",
)
"""The user stops an action: a rejection, unless it declines what the assistant just offered."""

OFFER_PATTERN: re.Pattern[str] = re.compile(
    r"\b(?:(?:would|do)\s+you\s+(?:like|want)\s+(?:me\s+)?to|shall\s+i|should\s+i|"
    r"(?:want|like)\s+me\s+to|may\s+i|can\s+i|is\s+it\s+ok(?:ay)?\s+(?:if|to)|"
    r"please\s+confirm|do\s+you\s+confirm|confirm\s+(?:that|the|this))\b",
    _FLAGS,
)
"""An assistant turn that offers or asks permission: declining it is an answer, not a rejection."""

CHALLENGE_PATTERNS: tuple[re.Pattern[str], ...] = _compile(
    # "I never said that", "I didn't say", "I don't remember saying"
    rf"\b{_I_NEVER}\s+(?:say|said|saying|mention|mentioned|mentioning)\b"
    r"(?!\s+(?:goodbye|bye|hello|hi|thanks|a\s+word|anything\s+to|it\s+to|to)\b)",
    rf"\b{_I_NEVER}\s+(?:tell|told|telling)\s+{_YOU}\b",
    rf"\b{_I_NEVER}\s+(?:agree|agreed|write|wrote|type|typed|claim|claimed|ask\s+for|asked\s+for)"
    r"\s+(?:to\s+)?(?:that|this|it|anything|so)\b",
    # "I didn't ask for that", "I never asked about this", "I didn't ask"
    r"\bi\s+(?:never|didn'?t|did\s+not)\s+(?:even\s+)?(?:ask|asked|request|requested)"
    r"(?:\s+(?:you\s+)?(?:for|about)\b|\s+(?:that|this)\b|\s*[.!?]*\s*$)",
    r"\bi\s+(?:never|didn'?t|did\s+not)\s+(?:even\s+)?(?:want|wanted)\s+(?:that|this)\s*(?:[.!?]|$)",
    # "I didn't want the large one", "I never wanted two copies" (not "... want to go")
    r"\bi\s+(?:never|didn'?t|did\s+not)\s+(?:even\s+|really\s+)?want(?:ed)?\s+"
    r"(?:the|a|an|any|it(?!\s+to\b)|that\s+\w+|those|these|two|three|\d+)\b",
    # alarm at what the assistant did: "wait, you deleted it?", "you SENT it?!"
    rf"{_SENTENCE_START}(?:wait|hold\s+on|hang\s+on|hold\s+up|what|wh?a+t\?+|seriously|excuse\s+me|"
    rf"huh|um+|uh+|oh\s+no|omg)\W+{_YOU}\s+(?:already\s+|actually\s+|just\s+|really\s+)?"
    rf"{_ACTION_VERBS}\b[^.!?\n]{{0,40}}\?",
    rf"\b{_YOU}\s+(?:already\s+|actually\s+|just\s+|really\s+)?(?=(?-i:[A-Z]{{3,}})\b)"
    rf"{_ACTION_VERBS}\b[^.!?\n]{{0,40}}[?!]",
    r"\bwho\s+said\s+(?:anything|i|so)\b",
    # "why did you delete it", "why would you say that", "why are you talking about X"
    rf"\bwhy\s+(?:did|would|do|are|were|have|'?d|'?re)\s+{_YOU}\s+(?:even\s+|just\s+|keep\s+|"
    r"always\s+|suddenly\s+|now\s+|still\s+)?(?:do\s+(?:that|this|it)|did\s+(?:that|this)|"
    r"say\s+(?:that|this)|said\s+(?:that|this)|delete|deleted|remove|removed|change|changed|"
    r"ignore|ignored|ignoring|add|added|send|sent|assume|assumed|assuming|bring|bringing|brought|"
    r"talk(?:ing)?\s+about|saying|asking|repeat|repeating|overwrite|overwrote|drop|dropped|"
    r"skip|skipped|book(?:ed)?|cancel(?:l?ed)?|break|broke|answer(?:ing)?\s+(?:like|that|with)|"
    r"respond(?:ing)?\s+(?:like|that|with)|changing|making\s+(?:things|stuff)\s+up|make\s+up|"
    r"made\s+up)\b",
    # "that doesn't make sense", "you make no sense", "you aren't making sense"
    r"\b(?:that|this|you|your\s+\w+|what\s+you\s+(?:said|wrote|say)|it)\s*(?:'?s\s+)?"
    rf"(?:{_DONT}|doesn'?t|does\s+not)\s+(?:even\s+|really\s+)?make\s+(?:any\s+|much\s+|"
    r"a\s+lot\s+of\s+)?sense\b(?!\s+(?:to|that|why|how|for|when|if)\b)",
    r"\b(?:that|this|you|it|your\s+\w+)\s*(?:'?s\s+)?makes?\s+(?:absolutely\s+)?no\s+sense\b"
    r"(?!\s+(?:to|that|why|how|for|when|if)\b)",
    rf"\b(?:{_YOU_ARE}|that'?s|that\s+is|this\s+is|it'?s){_NOT}\s+making\s+"
    r"(?:any\s+)?sense\b",
    # the sentence starts with it: "doesn't make sense", "not making any sense"
    r"(?:^|[.!?]\s*)(?:(?:that|this|it|but|which|sorry|um+|uh+|hmm+)\W*)?(?:(?:doesn'?t|does\s+"
    r"not|didn'?t|did\s+not)\s+(?:even\s+|really\s+)?make|(?:not|isn'?t)\s+making|makes\s+no)"
    r"\s+(?:any\s+|much\s+)?sense\b(?!\s+(?:to|that|why|how|for|when|if)\b)",
    r"\bnothing\s+(?:you\s+(?:say|said|are\s+saying|'re\s+saying|write|wrote))\s+(?:is\s+)?"
    r"mak(?:es|ing)\s+(?:any\s+)?sense\b",
    rf"\b(?:{_THAT_IS}|it'?s|it\s+is)\s+(?:just\s+|complete\s+|total\s+|utter\s+)?"
    r"(?:nonsense|gibberish)\b",
    # "what are you talking about", "what are you even saying"
    rf"\bwhat\s+(?:are|r|were)\s+{_YOU}\s+(?:even\s+|actually\s+|now\s+)?(?:talking|going\s+on|"
    r"on\s+about|rambling|babbling)\b(?!\s+(?:about\s+)?(?:in|at|with|for|on|to|tomorrow|today|next|this|"
    r"during)\b)",
    # "no idea what you're talking about", "I'm not sure what you mean by that" is NOT here
    r"\b(?:no\s+idea|not\s+sure|(?:don'?t|do\s+not)\s+(?:know|understand)|can'?t\s+tell|"
    r"not\s+following)\s+(?:(?:i\s+)?(?:know|understand)\s+)?what\s+(?:you'?re|you\s+are|your|"
    r"ur|u\s+r|youre)\s+(?:even\s+)?(?:talking\s+about|on\s+about|getting\s+at)\b",
    # the whole sentence is a bewildered "what?" / "huh?"
    r"^\W*(?:(?:u+m+|h+m+|u+h+|e+r+m*|wait|sorry)\W+)?(?:what|wut|wat|huh)\s*\?[?!\s]*$",
    # "are you sure?", "are you sure about that?"
    r"(?:^|[.!?]\s*)(?:(?:um+|hmm+|wait|really)\W+)?are\s+(?:you|u)\s+(?:really\s+)?"
    r"(?:sure|certain)(?:\s+about\s+(?:that|this))?\s*\?",
    # "that's not a good answer", "that isn't an answer", "what a weird response"
    r"\b(?:that|this|it)(?:'?s|\s+is|\s+was)?(?:\s+not|\s+isn'?t|\s+wasn'?t|n'?t)\s+(?:an?\s+)?"
    r"(?:(?:very|really|real|good|great|helpful|useful|proper|valid|serious)\s+)*"
    r"(?:response|answer|reply)\b",
    r"\b(?:that'?s|that\s+is|this\s+is|that\s+was|it'?s|what|wow|such)\s+(?:an?\s+)?"
    r"(?:(?:very|really|pretty|so)\s+)?(?:bad|terrible|awful|weird|odd|strange|stupid|useless|"
    r"wrong|poor|horrible|lame|nonsensical|random|non-?)\s*(?:response|answer|reply)\b",
    # "what does that have to do with anything", "that has nothing to do with my question"
    r"\bwhat\s+(?:does|do|did)\s+(?:that|this|it|any\s+of\s+(?:that|this))\s+(?:have|has)\s+"
    r"to\s+do\s+with\b",
    r"\b(?:that|this|which|your\s+\w+)\s+(?:has|had|have)\s+nothing\s+to\s+do\s+with\b",
    # "that's off topic", "that's irrelevant", "you changed the subject"
    rf"\b(?:{_THAT_IS}|{_YOU_ARE})\s+(?:completely\s+|totally\s+|so\s+|very\s+)?"
    r"(?:off[\s-]topic|irrelevant|not\s+relevant|random|changing\s+the\s+(?:subject|topic))\b",
    rf"\b{_YOU}\s+(?:just\s+)?(?:changed|switched)\s+the\s+(?:subject|topic)\b",
    # "you didn't answer my question", "you still haven't replied"
    rf"\b{_YOU}\s+{_DIDNT}\s+(?:even\s+|actually\s+|really\s+)?(?:answer(?:ed)?|respond(?:ed)?|"
    rf"repl(?:y|ied)|address(?:ed)?|(?:read|listen(?:ed)?){_TO_ME}|understand|understood|ask(?:ed)?\s+"
    r"(?:me\s+)?(?:where|what|when|which|how|for|about|if))\b",
    rf"\b(?:{_THAT_IS}|it'?s|it\s+is){_NOT}\s+(?:an?\s+)?answer\s+(?:to\s+)?"
    r"(?:my|the)\s+question\b",
    r"\b(?:that|this|it)\s+(?:doesn'?t|does\s+not|didn'?t|did\s+not)\s+answer\s+(?:my|the)\b",
    rf"\b(?:{_THAT_IS}|it'?s|it\s+is){_NOT}\s+(?:my|the)\s+question\b",
    # "are you even listening", "you're not listening", "you don't understand me"
    rf"\b(?:are|r)\s+{_YOU}\s+even\s+(?:listening|paying\s+attention|reading)\b",
    rf"\b(?:are|r)\s+{_YOU}\s+(?:listening|paying\s+attention)(?:\s+to\s+me)?\s*(?:[?!.]|$)",
    rf"\b{_YOU_ARE}{_NOT}\s+(?:even\s+|very\s+|really\s+|being\s+)?(?:listening|paying\s+"
    r"attention|reading|helping|helpful|understanding|getting\s+it)\b",
    rf"\b{_YOU}\s+{_DONT}\s+(?:even\s+)?(?:(?:listen|read){_TO_ME}|understand\s+(?:me|my|what\s+i|"
    r"the\s+question)|get\s+it)\b",
    rf"\b{_YOU_ARE}\s+(?:not\s+)?(?:very\s+|being\s+)?(?:unhelpful|no\s+help)\b",
    # "you already said that", "you keep repeating yourself", "but you said ..."
    rf"\b{_YOU}\s+(?:just\s+|already\s+)(?:said|asked|told\s+me)\s+(?:that|this|me\s+that)\b",
    rf"\b{_YOU}\s+keep\s+(?:on\s+)?(?:saying|asking|repeating|telling|changing|ignoring|"
    r"getting|making|talking)\b",
    rf"\b{_YOU_ARE}\s+repeating\s+yourself\b",
    rf"\bbut\s+{_YOU}\s+(?:just\s+|already\s+)?(?:said|told\s+me)\b",
    rf"\b{_YOU}\s+(?:just\s+)?contradict(?:ed|ing)?\s+yourself\b",
)
"""The user disputes what the assistant said or did, or that it answered at all."""

INSULT_PATTERNS: tuple[re.Pattern[str], ...] = _compile(
    # "you're useless", "you are so stupid", "you idiot", "you stupid bot"
    rf"\b{_YOU_ARE}\s+{_INTENSIFIERS}{_INSULT_WORDS}\b",
    rf"\b{_YOU}\s+(?:(?:fucking|f\W{{0,3}}ing|freaking|bloody|damn|stupid|dumb|useless|little|big)\s+)*"
    r"(?:idiot|moron|imbecile|dumbass|dummy|fool|clown|loser|jerk|asshole|arsehole|bitch|"
    r"piece\s+of\s+\w+|stupid|dumb|useless|incompetent|pathetic|worthless)\b",
    r"\byour\s+(?:so\s+)?(?:an\s+idiot|a\s+moron|stupid|dumb|useless|retarded)\s*(?:[.!?]|$)",
    rf"\b(?:are|r)\s+{_YOU}\s+(?:\w+\s+)?(?:stupid|dumb|an\s+idiot|a\s+moron|retarded|deaf|"
    r"blind|thick|slow|an\s+imbecile)\b",
    # "fuck you", "screw you", "shut up", "go to hell", "you suck"
    rf"{_SWEAR_START}(?:fuck|f\W{{0,3}}ck|fk|screw|damn|sod|bugger)\s+(?:{_YOU}|off|this\s+(?:bot|"
    r"assistant|chatbot))\b",
    rf"{_SWEAR_START}(?:shut\s+(?:the\s+\w+\s+)?up|go\s+to\s+hell|stfu|gtfo)\b",
    rf"\b{_YOU}\s+(?:really\s+|totally\s+|so\s+)?(?:suck|stink|blow)\b",
    # "what the hell are you talking about", "what the fuck is wrong with you"
    r"\b(?:what|why|how)\s+the\s+(?:fuck|f\W{0,3}k|hell|heck|shit)\s+(?:are|r|did|do|were|would|"
    rf"is\s+wrong\s+with)\s+{_YOU}\b",
    # "stupid bot", "useless assistant", "dumb ai"
    r"\b(?:stupid|dumb|useless|idiotic|fucking|f\W{0,3}ing|worthless|pathetic|crappy|shitty|"
    r"lousy|moronic|broken|retarded)\s+(?:bot|robot|ai|a\.i\.|assistant|chatbot|chat\s*bot)\b",
    # the whole turn is an insult: "idiot!", "moron."
    r"^\W*(?:idiot|moron|imbecile|dumbass|stupid|useless)\W*$",
)
"""The user swears at or insults the assistant (not the world, other people or a product)."""

REPETITION_PATTERNS: tuple[re.Pattern[str], ...] = _compile(
    # "like I said", "as I told you", "I already asked", "I said it before"
    r"\b(?:like|as)\s+i\s+(?:already\s+|just\s+)?(?:said|told\s+you|asked|mentioned|wrote)\b",
    r"\bi(?:'ve|\s+have)?\s+(?:already|just)\s+(?:said|told\s+you|asked|mentioned|answered|"
    r"wrote|explained|gave\s+you)\b",
    r"\bi\s+(?:said|told\s+you|asked(?:\s+you)?|mentioned)\s+(?:that\s+|it\s+|this\s+)?"
    r"(?:already|before|earlier|twice|again|above|previously)\b",
    # "let me ask again", "I'll ask again", "I repeat", "for the second time"
    r"\b(?:let\s+me|i'?ll|i\s+will)\s+(?:ask|say|try)\s+(?:that\s+|it\s+|this\s+)?(?:again|"
    r"one\s+more\s+time|once\s+more)\b",
    r"\bi\s+repeat\b",
    rf"{_CLAUSE_START}for\s+the\s+(?:second|third|fourth|fifth|last|hundredth|millionth|"
    r"\d+(?:nd|rd|th))\s+time\s*[,:!.-]",
    # "answer my question", "I asked you a question"
    r"\b(?:answer|respond\s+to)\s+my\s+questions?\b",
    rf"{_CLAUSE_START}(?:answer|respond\s+to)\s+the\s+questions?\s*(?:[.!?]|$)",
    r"\bi\s+asked\s+you\s+(?:(?:a|the|my)\s+question|what|where|when|how|if|whether|about|for|to)\b",
    # the turn starts with "I said ...": the user restates what was ignored
    r"^\W*i\s+said\b(?!\s+(?:to|goodbye|bye|hello|hi|yes|thanks)\b)",
    # "something I can actually make", "a laptop I could actually afford"
    r"\b(?:something|anything|one|ones|an?\s+\w+|some\s+\w+)\s+(?:that|which|i|we|it)\s+"
    r"(?:can\s+|could\s+|will\s+|would\s+)?actually\s+(?:make|cook|use|run|runs|work|works|"
    r"compile|compiles|answers?|fits?|afford|finish|read|build|builds|install|open|opens|play|buy|"
    r"get|understand|eat|wear|download|print|solves?|helps?|does)\b",
)
"""The user says they are repeating themselves (similar repeated turns are found separately)."""

EXASPERATION_PATTERN: re.Pattern[str] = re.compile(
    r"(?:^|[.!?;:]\s*|\n)\W*(?:wtf|what\s+the\s+(?:fuck|f\W{0,3}k|hell|heck)|ffs|omfg|jfc|"
    r"for\s+(?:fuck'?s?|f\W{0,3}k'?s|god'?s|christ'?s|heaven'?s|pete'?s)\s+sake|"
    r"(?:oh\s+)?come\s+on|(?:omg\W+)?seriously(?=\s*\?)|omg\W+seriously|ugh+|argh+|"
    r"jesus(?:\s+christ)?)\b",
    _FLAGS,
)
"""An exasperated interjection opening a sentence ("WTF,", "for fuck's sake.", "omg, seriously?").

It is only a signal when :data:`COMPLAINT_PATTERN` finds the same user turn complaining about
the assistant or its answer: "ugh, my landlord is useless" stays frustration with the world.
"""

COMPLAINT_PATTERN: re.Pattern[str] = re.compile(
    r"\bi\s+(?:just\s+|only\s+|simply\s+)?(?:said|asked|told\s+you)\b"
    r"|\bi\s+(?:just|only|simply)\s+(?:want(?:ed)?|need(?:ed)?)\b"
    r"|\b(?:it|this|that)(?:'?s|\s+is|\s+was)?(?:\s+not|n'?t)\s+(?:that\s+|so\s+)?(?:hard|"
    r"difficult|complicated|rocket\s+science)\b"
    rf"|\b{_YOU}\s+(?:just\s+|literally\s+|even\s+)?(?:{_ACTION_VERBS}|said|told|broke|ignored|"
    r"missed|forgot|skipped|keep|still|never|didn'?t|don'?t|can'?t|won'?t|do\s+not)\b"
    r"|\byour\s+(?:answer|fix|code|suggestion|command|advice|instructions?|reply|response)\b"
    r"|\bjust\s+(?:wiped|deleted|erased|destroyed|nuked|broke|overwrote|killed)\s+"
    r"(?:my|all|the|everything)\b",
    _FLAGS,
)
"""What makes an exasperated user turn a complaint about the assistant (see above)."""

SHORT_REPEAT_MAX_TOKENS = 3
"""A short restatement ("Thursday.") has at most this many words ..."""

SHORT_REPEAT_MAX_TOKENS_JUST = 6
"""... or this many when it starts with "just" / "only" ("Just the summary, please.")."""

SHORT_REPEAT_MIN_EXTRA_TOKENS = 3
"""The restated request must be at least this many words longer than the short turn."""

SHORT_REPEAT_IGNORED: frozenset[str] = frozenset(
    [
        "ok", "okay", "thanks", "thank", "great", "perfect", "cool", "nice", "good", "awesome",
        "sure", "yes", "yep", "yeah", "no", "nope", "hi", "hello", "hey", "bye", "goodbye",
        "fine", "right", "correct", "exactly", "lol", "haha", "wow", "done", "please", "pls",
        "more", "continue", "go", "next", "again", "both", "all", "none", "same", "another",
        "seems", "sounds", "looks", "works", "else", "alright", "silence", "bad", "true",
    ]
)  # fmt: skip
"""Words that never make a short turn a restatement (acknowledgements, "more", "next")."""

ADMISSION_PATTERNS: tuple[re.Pattern[str], ...] = _compile(
    # "my mistake", "my bad", "my error"
    r"\bmy\s+(?:mistake|bad|error|apologies\s+for\s+(?:the|my|that)\s+(?:\w+\s+)?(?:confusion|"
    r"error|mistake|misunderstanding|oversight))\b",
    # "I apologize for the confusion", "sorry about my mistake"
    r"\b(?:i\s+)?(?:apologi[sz]e|'?m\s+sorry|am\s+sorry|sorry)\s+(?:for|about)\s+(?:the|my|any|"
    r"that|this)\s+(?:\w+\s+)?(?:confusion|error|mistake|misunderstanding|oversight|mix-?up|"
    r"misinformation|inaccuracy)\b",
    # "sorry, I misunderstood", "sorry, I was wrong"
    r"\bsorry\b[\s,.!-]+i\s+(?:misunderstood|misread|misheard|was\s+wrong|was\s+mistaken|"
    r"made\s+(?:a|an)\s+(?:mistake|error)|got\s+(?:that|it|this)\s+wrong|should\s+have|"
    r"overlooked|mixed\s+(?:up|that\s+up|it\s+up))\b",
    # "you're right, sorry", "you are correct, I made an error"
    rf"\b{_YOU_ARE}\s+(?:absolutely\s+|quite\s+|totally\s+|completely\s+|so\s+)?(?:right|correct)"
    r"\b[\s,.!;:-]+(?:(?:and\s+)?(?:i'?m\s+|i\s+am\s+)?sorry|(?:i\s+)?apologi[sz]e|my\s+(?:mistake|"
    r"bad|apologies|error)|i\s+(?:was\s+wrong|made|misread|misunderstood|missed|overlooked|"
    r"should\s+have|forgot|confused|mixed)|that\s+was\s+(?:my|a|an)\s+(?:mistake|error)|"
    r"(?:i|that)\s+(?:was|is)\s+(?:incorrect|wrong)|thanks?\s+(?:you\s+)?for\s+(?:catching|"
    r"pointing|the\s+correction))",
    # "I was wrong", "I made a mistake", "I misunderstood your request"
    rf"{_NOT_IF}\bi\s+(?:was|am|'m)\s+(?:wrong|mistaken|incorrect)\b",
    rf"{_NOT_IF}\bi(?:'ve|\s+have)?\s+made\s+(?:a|an)\s+(?:\w+\s+)?(?:mistake|error)\b",
    rf"{_NOT_IF}\bi\s+(?:misunderstood|misread|misheard|misspoke)\b",
    # "good catch", "thanks for the correction", "I stand corrected"
    r"\bgood\s+catch\b",
    r"\bthanks?\s+(?:you\s+)?for\s+(?:catching\s+(?:that|this|it|my)|pointing\s+(?:that|this|it)"
    r"\s+out|the\s+correction|correcting\s+me)\b",
    r"\bi\s+stand\s+corrected\b",
    r"\blet\s+me\s+correct\s+(?:that|this|my|myself)\b",
    # an apology and a mistake word in one clause: "Sorry - I used the wrong file", "I'm sorry,
    # that was the old price" (not "sorry to hear that went wrong", "sorry, but I can't")
    r"\b(?:sorry|apologies|i\s+apologi[sz]e)\b(?:\s+(?:about|for)\s+(?:that|this|the\s+"
    r"(?:confusion|mix-?up)))?(?![\s,.!;:\u2013\u2014-]*(?:to|if|for\s+(?:the|your)\s+(?:wait|"
    r"delay|loss|trouble|frustration|inconvenience)|but|however)\b)[\s,.!;:\u2013\u2014-]+"
    r"[^.!?\n]{0,60}?(?<!\bwent\s)(?<!\bgoes\s)(?<!\bgone\s)(?<!\bgo\s)(?<!'s\s)(?<!\bis\s)"
    r"\b(?:wrong|mistake|mistaken|misread|misunderstood|misheard|mixed\s+(?:\w+\s+)?up|"
    r"should\s+have|shouldn'?t\s+have|should\s+not\s+have|incorrect|overlooked)\b(?![^.!?\n]*\?)",
    r"\bsorry[\s,.!;:\u2013\u2014-]+(?:that|this|it)\s+(?:was|is)\s+(?:(?-i:[A-Z0-9])|"
    r"(?:the|my|an?)\s+(?:old|older|previous|other|outdated|earlier|original|wrong|different)\b|"
    r"for\s+(?:the\s+)?(?-i:[A-Z0-9])|from\s+(?:the\s+)?(?-i:[A-Z0-9])|last\s+\w+)",
    # "I shouldn't have sent it", "I should have asked first"
    rf"{_NOT_IF}\bi\s+(?:should(?:n'?t|\s+not)?\s+have|should'?ve)\s+(?:\w+ed|sent|done|said|"
    r"made|run|written|put|left|taken|given|read|kept|built|chosen|told|shown|used|set|got|gotten|"
    r"gone|brought|thought|known)\b",
    # "I put it on the wrong day", "I used the wrong connection" (not "I noticed the wrong ...")
    rf"{_NOT_IF}\bi\s+(?:also\s+|accidentally\s+|mistakenly\s+)?(?!(?:noticed|found|spotted|"
    r"fixed|corrected|replaced|removed|suspected|guessed|identified|detected|flagged|caught|"
    r"highlighted|assumed\s+you)\b)(?:\w+ed|put|ran|sent|set|read|wrote|took|gave|chose|got|"
    r"made|left|built|did|pulled|grabbed|hit|quoted)\b(?:\s+[\w'-]+){0,3}?\s+(?:the|a)\s+"
    r"wrong\b",
    # "I mixed up the dates", "I confused the two files", "I got the order backwards"
    rf"{_NOT_IF}\bi\s+(?:mixed\s+up|mixed\s+(?:it|them|those|these|the\s+\w+)\s+up|"
    r"confused\s+(?:the|it|them|those|these|your|\w+\s+with)|got\s+(?:it|that|this|them|"
    r"the\s+\w+)\s+(?:wrong|mixed\s+up|backwards))\b",
    # Spanish, German and French: "me equivoqué", "da habe ich mich vertan", "je me suis trompé"
    r"\bme\s+(?:equivoqu[ée]|he\s+equivocado|confund[ií])\b",
    r"\b(?:mi|mein|mon)\s+(?:error|fehler|erreur)\b",
    r"\b(?:habe\s+ich\s+mich|ich\s+habe\s+mich|hab\s+mich)\s+(?:\w+\s+)?(?:vertan|geirrt|"
    r"verschrieben|verlesen|verrechnet|vertippt)\b",
    r"\bje\s+me\s+suis\s+(?:\w+\s+)?tromp[ée]e?\b",
    r"\b(?:entschuldigung|entschuldige|tut\s+mir\s+leid|perd[oó]n|lo\s+siento|d[ée]sol[ée]e?)\b"
    r"[^.!?\n]{0,60}?\b(?:falsch|error|equivocad[oa]|incorrect[oae]?|erreur|tromp[ée])"
    r"(?![^.!?\n]*\?)",
)
"""The assistant acknowledges its own error in a turn that answers the user."""

SIGNAL_PATTERNS: dict[SignalKind, tuple[re.Pattern[str], ...]] = {
    "correction": CORRECTION_PATTERNS,
    "rejection": REJECTION_PATTERNS,
    "challenge": CHALLENGE_PATTERNS,
    "insult": INSULT_PATTERNS,
    "repetition": REPETITION_PATTERNS,
    "admission": ADMISSION_PATTERNS,
}
"""Phrase patterns per signal kind (``repetition`` is also found by similarity)."""

CLARIFICATION_REQUEST_PATTERN: re.Pattern[str] = re.compile(
    r"\b(?:i\s+(?:don'?t|do\s+not|didn'?t|did\s+not)\s+(?:understand|follow|get)|(?:could|can|would)"
    r"\s+you\s+(?:please\s+)?(?:rephrase|repeat|clarify|say\s+(?:that|it)\s+again|explain\s+what\s+"
    r"you\s+mean)|what\s+do\s+you\s+mean|not\s+sure\s+what\s+you\s+mean|please\s+(?:rephrase|"
    r"clarify|repeat))\b|^\W*(?:sorry|pardon|come\s+again)\W*\?",
    _FLAGS,
)
"""An assistant turn asking the user to rephrase: the repeat it gets is not a perceived error."""

CONTRAST_PATTERN: re.Pattern[str] = re.compile(
    r"\b([\w:'-]+)(?:\s*,\s*|\s+(?:and|but|und|aber|y|pero|et|mais)\s+|\s*,\s*(?:and|but)\s+)"
    r"(?:not|nicht|pas)\s+(?:on\s+|at\s+|for\s+|in\s+|from\s+|to\s+|the\s+|a\s+|an\s+|am\s+|"
    r"im\s+|der\s+|die\s+|das\s+|den\s+|le\s+|la\s+|les\s+)?([\w:'-]+)"
    # Spanish "julio, no junio": "no" only right after a comma
    r"|\b([\w:'-]+)\s*,\s*no\s+(?:el\s+|la\s+|los\s+|las\s+|en\s+|de\s+)?([\w:'-]+)",
    _FLAGS,
)
""""X, not Y" ("X, nicht Y", "X, pas Y", "X, no Y"): a correction when the assistant had just
stated Y (checked in code)."""

HYPOTHESIS_PATTERN: re.Pattern[str] = re.compile(
    r"\W*(?:\w+\s+){0,2}?(?:like|as)\s+(?:we|i|you)\s+(?:\w+\s+)?(?:thought|expected|suspected|"
    r"assumed|guessed|feared|figured)\b",
    _FLAGS,
)
"""Words after "X, not Y" that make it a shared hypothesis ruled out ("not Y like we thought")."""

CONTRAST_STOPWORDS: frozenset[str] = frozenset(
    [
        "sure",
        "really",
        "yet",
        "bad",
        "much",
        "quite",
        "too",
        "always",
        "exactly",
        "necessarily",
        "only",
        "even",
        "just",
        "very",
        "anymore",
        "ever",
        "again",
        "today",
        "now",
        "here",
        "there",
        "one",
        "ones",
        "problem",
        "worries",
        "more",
        "need",
        "way",
        "idea",
        "matter",
        "doubt",
        "longer",
        "thanks",
        "gracias",
        "merci",
        "danke",
        "bitte",
        "si",
        "sí",
        "ja",
        "oui",
        "vale",
        "claro",
        "bueno",
        "nada",
        "mal",
        "problema",
        "hay",
        "es",
        "está",
    ]
)
"""Words that make "X, not Y" an idiom ("not bad", "not yet") rather than a correction."""

STOPWORDS: frozenset[str] = frozenset(
    [
        "a",
        "about",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "get",
        "got",
        "had",
        "has",
        "have",
        "he",
        "her",
        "him",
        "his",
        "how",
        "i",
        "i'd",
        "i'll",
        "i'm",
        "i've",
        "if",
        "in",
        "is",
        "it",
        "it's",
        "its",
        "just",
        "let",
        "like",
        "me",
        "my",
        "no",
        "not",
        "now",
        "of",
        "oh",
        "ok",
        "okay",
        "on",
        "or",
        "our",
        "please",
        "she",
        "so",
        "some",
        "than",
        "thank",
        "thanks",
        "that",
        "that's",
        "the",
        "their",
        "them",
        "then",
        "there",
        "they",
        "this",
        "to",
        "too",
        "um",
        "uh",
        "up",
        "us",
        "was",
        "we",
        "well",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "yeah",
        "yes",
        "you",
        "you're",
        "your",
    ]
)
"""Words ignored when comparing user turns for repetition."""

REASON_TEMPLATES: dict[SignalKind, str] = {
    "correction": 'The user corrects the assistant: "{quote}".',
    "rejection": 'The user rejects or undoes the assistant\'s action: "{quote}".',
    "challenge": 'The user challenges the assistant: "{quote}".',
    "insult": 'The user swears at or insults the assistant: "{quote}".',
    "repetition": 'The user repeats an earlier request: "{quote}".',
    "admission": 'The assistant acknowledges an error: "{quote}".',
}
"""One short sentence per signal kind; ``{quote}`` is the words that decided it."""

_APOSTROPHES_RE = re.compile(r"[\u2018\u2019\u201b\u02bc`\u00b4]")
_DOUBLE_QUOTES_RE = re.compile(r"[\u201c\u201d\u201e\"]")
_SPLIT_CONTRACTION_RE = re.compile(r"(\w)\s+'\s?(t|s|m|re|ve|ll|d)\b", _FLAGS)
_SPLIT_NT_RE = re.compile(r"(\w)\s+(n't)\b", _FLAGS)
_SPACED_APOSTROPHE_RE = re.compile(r"(\w)'\s+(t|s|m|re|ve|ll|d)\b", _FLAGS)
_SPACES_RE = re.compile(r"[^\S\n]+")
_NEWLINES_RE = re.compile(r"\s*\n\s*")
_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_UNICODE_WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_SENTENCE_END_RE = re.compile(r"[.!?\n]")
_SENTENCE_RE = re.compile(r"[^.!?\n]+[.!?]*")


class Signal(BaseModel):
    """One piece of evidence that the user perceived an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SignalKind = Field(description="What kind of evidence this is.")
    turn_index: int = Field(ge=0, description="Index of the turn (in the judged turns) it is in.")
    quote: str = Field(description="The short span of that turn's words that shows it.")


def normalize_text(text: str) -> str:
    """Normalise a turn for matching, keeping its case.

    Curly apostrophes become ``'``, tokenised contractions are re-joined ("doesn 't" and
    "do n't" become "doesn't" and "don't", "i 'm" becomes "i'm"), runs of spaces become one
    space and line breaks (sentence boundaries for quotes) are kept, one at a time.
    """
    text = _APOSTROPHES_RE.sub("'", text)
    text = _DOUBLE_QUOTES_RE.sub('"', text)
    text = _SPLIT_NT_RE.sub(r"\1\2", text)
    text = _SPLIT_CONTRACTION_RE.sub(r"\1'\2", text)
    text = _SPACED_APOSTROPHE_RE.sub(r"\1'\2", text)
    text = _SPACES_RE.sub(" ", text)
    return _NEWLINES_RE.sub("\n", text).strip()


def _shorten(text: str, limit: int = MAX_QUOTE_CHARS) -> str:
    text = text.replace('"', "'").strip(" ,;:-")
    if len(text) <= limit:
        return text
    cut = text[: limit - 3].rsplit(" ", 1)[0] if " " in text[: limit - 3] else text[: limit - 3]
    return cut.rstrip(" ,;:-") + "..."


def _quote_around(text: str, start: int, end: int) -> str:
    """The sentence of ``text`` holding ``text[start:end]``, cut to :data:`MAX_QUOTE_CHARS`."""
    sentence_start = 0
    for boundary in _SENTENCE_END_RE.finditer(text, 0, start):
        sentence_start = boundary.end()
    next_end = _SENTENCE_END_RE.search(text, end)
    sentence_end = next_end.start() if next_end else len(text)
    sentence = text[sentence_start:sentence_end].strip()
    if len(sentence) <= MAX_QUOTE_CHARS:
        return _shorten(sentence)
    window_start = max(sentence_start, start - 20)
    if window_start > sentence_start:
        space = text.find(" ", window_start, start)
        window_start = space + 1 if space >= 0 else window_start
    quote = _shorten(text[window_start:sentence_end])
    return ("..." + quote) if window_start > sentence_start else quote


def _match(patterns: Iterable[re.Pattern[str]], text: str) -> re.Match[str] | None:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            return match
    return None


def _tokens(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower())


def _content_words(text: str) -> list[str]:
    return sorted({token for token in _tokens(text) if token not in STOPWORDS})


def _shared(words: Sequence[str], others: Sequence[str]) -> int:
    """How many of ``words`` have a close match in ``others``."""
    return sum(
        1
        for word in words
        if word in others or difflib.get_close_matches(word, others, 1, REPEAT_WORD_MATCH_RATIO)
    )


def _repeats(later: str, earlier: str) -> bool:
    """Whether user turn ``later`` repeats or closely rephrases user turn ``earlier``."""
    if min(len(_tokens(later)), len(_tokens(earlier))) < REPEAT_MIN_TOKENS:
        return False
    later_words, earlier_words = _content_words(later), _content_words(earlier)
    if min(len(later_words), len(earlier_words)) < REPEAT_MIN_CONTENT_TOKENS:
        return False
    shared = _shared(later_words, earlier_words) + _shared(earlier_words, later_words)
    return shared / (len(later_words) + len(earlier_words)) >= REPEAT_SIMILARITY_THRESHOLD


def _statement_tokens(ai_text: str) -> set[str]:
    """Words of an assistant turn's statements (its questions left out)."""
    words: set[str] = set()
    for sentence in _SENTENCE_RE.findall(ai_text):
        if not sentence.rstrip().endswith("?") and not sentence.lstrip().startswith("\u00bf"):
            words.update(_UNICODE_WORD_RE.findall(sentence.lower()))
    return words


def _contrast_correction(text: str, ai_text: str) -> re.Match[str] | None:
    """A "Thursday, not Tuesday" whose rejected word the assistant had just stated."""
    stated = _statement_tokens(ai_text)
    for match in CONTRAST_PATTERN.finditer(text):
        wanted = (match.group(1) or match.group(3)).lower()
        rejected = (match.group(2) or match.group(4)).lower()
        if (
            not HYPOTHESIS_PATTERN.match(text, match.end())
            and rejected in stated
            and wanted not in stated
            and len(rejected) > 1
            and not {wanted, rejected} & (STOPWORDS | CONTRAST_STOPWORDS)
        ):
            return match
    return None


def _exasperation(text: str) -> re.Match[str] | None:
    """An exasperated interjection in a turn that also complains about the assistant."""
    match = EXASPERATION_PATTERN.search(text)
    return match if match and COMPLAINT_PATTERN.search(text) else None


def _short_restatement(text: str, answered_user_texts: Sequence[str], ai_text: str) -> bool:
    """Whether a very short user turn restates part of the request the assistant missed.

    "Thursday." after a question about Thursday that the assistant answered without mentioning
    Thursday: every content word was in the answered request, some is missing from the answer,
    and the assistant asked nothing (a short reply to a question is an answer).
    """
    tokens = _tokens(text)
    starts_with_just = bool(tokens) and tokens[0] in {"just", "only"}
    limit = SHORT_REPEAT_MAX_TOKENS_JUST if starts_with_just else SHORT_REPEAT_MAX_TOKENS
    if not tokens or len(tokens) > limit or "?" in ai_text:
        return False
    words = {t for t in tokens if t not in STOPWORDS and t not in SHORT_REPEAT_IGNORED}
    if not any(len(word) > 2 and not word.isdigit() for word in words):
        return False
    # a part of a longer request, not a ritual turn said again ("<SILENCE>", "what else?")
    requested_turns = [_tokens(old) for old in answered_user_texts]
    if not any(len(old) >= len(tokens) + SHORT_REPEAT_MIN_EXTRA_TOKENS for old in requested_turns):
        return False
    requested = {t for old in requested_turns for t in old}
    answer = set(_tokens(ai_text))
    return words <= requested and not words <= answer


def _signal(kind: SignalKind, index: int, text: str, match: re.Match[str]) -> Signal:
    return Signal(kind=kind, turn_index=index, quote=_quote_around(text, *match.span()))


def _human_turn_signals(
    index: int, text: str, answered_user_texts: Sequence[str], ai_text: str
) -> list[Signal]:
    """The signals in one user turn that answers the assistant turn ``ai_text``.

    ``answered_user_texts`` are the user turns that ``ai_text`` answered: the ones this turn
    may repeat.
    """
    signals: list[Signal] = []
    for kind in SIGNAL_KINDS:
        if kind == "admission":
            continue
        match = _match(SIGNAL_PATTERNS[kind], text)
        if kind == "correction" and not match:
            match = _contrast_correction(text, ai_text)
        if kind == "rejection" and not match and not OFFER_PATTERN.search(ai_text):
            match = _match(STOP_ACTION_PATTERNS, text)
        if kind == "insult" and not match:
            match = _exasperation(text)
        if match:
            signals.append(_signal(kind, index, text, match))
        elif (
            kind == "repetition"
            and not CLARIFICATION_REQUEST_PATTERN.search(ai_text)
            and (
                any(_repeats(text, old) for old in answered_user_texts)
                or _short_restatement(text, answered_user_texts, ai_text)
            )
        ):
            signals.append(Signal(kind=kind, turn_index=index, quote=_shorten(text)))
    return signals


def detect_signals(turns: Sequence[Turn]) -> list[Signal]:
    """Every perceived-error signal in ``turns``, in turn order (then kind priority).

    Only user turns that come after an assistant turn are read, so a first message that
    sounds like a correction is not a signal. A user turn is a repetition when it says so
    ("like I said") or when it nearly repeats the user turn the assistant just answered. An
    assistant turn counts only when it answers such a user turn and admits an error ("you're
    right, sorry").
    """
    texts = [normalize_text(turn.text) for turn in turns]
    signals: list[Signal] = []
    ai_text: str | None = None  # the latest assistant turn
    answers_eligible_user = False  # whether the next assistant turn answers a read user turn
    answered: list[str] = []  # the user turns the latest assistant turn answered
    pending: list[str] = []  # the user turns since the latest assistant turn
    for index, (turn, text) in enumerate(zip(turns, texts, strict=True)):
        if turn.role == "ai":
            if answers_eligible_user:
                match = _match(ADMISSION_PATTERNS, text)
                if match:
                    signals.append(_signal("admission", index, text, match))
            ai_text = text if ai_text is None or pending else f"{ai_text}\n{text}"
            answered, pending = (pending or answered), []
            answers_eligible_user = False
            continue
        if ai_text is not None:
            signals.extend(_human_turn_signals(index, text, answered, ai_text))
            answers_eligible_user = True
        pending.append(text)
    return signals


def reason_for(signals: Sequence[Signal]) -> str:
    """One short sentence for a verdict: names the first signal by kind priority and quotes it."""
    if not signals:
        return NO_SIGNAL_REASON
    best = min(signals, key=lambda signal: (SIGNAL_KINDS.index(signal.kind), signal.turn_index))
    return REASON_TEMPLATES[best.kind].format(quote=best.quote)


def judge_turns(turns: Sequence[Turn]) -> Verdict:
    """The rules verdict for a transcript: true when any signal is found, with its reason."""
    if skip_reason(turns) is not None:
        return Verdict(perceived_error=False, reason=NO_USER_TURN_AFTER_AI_REASON)
    signals = detect_signals(turns)
    return Verdict(perceived_error=bool(signals), reason=reason_for(signals))


def _transcript_turns(messages: Sequence[BaseMessage]) -> list[Turn]:
    """The turns of the last user message that holds a rendered ``<transcript>`` block."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage) and "<transcript>" in message.text:
            try:
                return parse_rendered_transcript(message.text)
            except ValueError:
                continue
    msg = (
        "RulesJudge needs the judge prompt from build_judge_messages(): none of the "
        f"{len(messages)} message(s) holds a <transcript> block"
    )
    raise ValueError(msg)


class RulesJudge(BaseChatModel):
    """The offline perceived-error judge: deterministic rules behind a chat-model interface.

    It answers the messages from
    :func:`~langchain_perceived_error.prompts.build_judge_messages` with one verdict JSON
    object, exactly as an LLM judge must, so it runs through the same graph. It needs no keys
    or network and reports no token usage.

    Example:
        .. code-block:: python

            from langchain_perceived_error.prompts import build_judge_messages
            from langchain_perceived_error.rules import RulesJudge
            from langchain_perceived_error.schemas import Turn

            turns = [
                Turn(role="human", text="Book it for Tuesday."),
                Turn(role="ai", text="Booked for Wednesday."),
                Turn(role="human", text="No, I said Tuesday."),
            ]
            RulesJudge().invoke(build_judge_messages(turns)).content
            # '{"perceived_error":true,"reason":"The user corrects the assistant: ..."}'

    """

    model_name: str = "rules"
    """The name reported for this judge."""

    @property
    def _llm_type(self) -> str:
        return "perceived-error-rules"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def _respond(self, messages: Sequence[BaseMessage]) -> ChatResult:
        verdict = judge_turns(_transcript_turns(messages))
        message = AIMessage(
            content=render_verdict(verdict.perceived_error, verdict.reason),
            response_metadata={"model_name": self.model_name},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """Judge the transcript in ``messages``; raises ValueError when there is none."""
        return self._respond(messages)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """The same as :meth:`_generate`, run directly (the rules are CPU-cheap)."""
        return self._respond(messages)

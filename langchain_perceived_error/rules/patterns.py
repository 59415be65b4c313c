"""The phrase patterns and word lists of the offline judge, by signal family (data, no logic).

All patterns are used with ``re.IGNORECASE`` on normalised text (straight apostrophes,
contractions re-joined, single spaces, line breaks kept). Apostrophes are optional because chat
users drop them. No dataset text is in here: every pattern is a general English (or Spanish,
German, French) phrasing of a family in the definition of a perceived error.
"""

from __future__ import annotations

import re

from langchain_perceived_error.rules.kinds import SignalKind

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
    # "I'm talking about the sport", "I'm not asking what it is" opening a sentence
    r"(?:^|[.!?]\s+)\W*(?:(?:haha|lol|um+|hmm+|well)\W+)?i(?:'m|\s+am|\s+was)\s+(?:not\s+|only\s+|just\s+)?"
    r"(?:talking\s+about|asking\s+(?:about|what|for|if|whether)|referring\s+to)\b",
    r"\bi\s+(?:wasn'?t|was\s+not|'m\s+not|am\s+not)\s+(?:asking|talking\s+about)\b",
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
    # the whole turn is "no, no, no", "not that one", "wrong song"
    r"^\W*no+(?:\W+no+)+\W*$",
    r"^\W*(?:no+\W+)?not\s+(?:that|this)\s+one\b",
    r"^\W*(?:no+\W+)?(?:the\s+|that'?s\s+the\s+)?wrong\s+[\w'-]+(?:\s+[\w'-]+)?\W*$",
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
    # "what are you talking about", "what are you even saying"
    rf"\bwhat\s+(?:are|r|were)\s+{_YOU}\s+(?:even\s+|actually\s+|now\s+)?(?:talking|going\s+on|"
    r"on\s+about|rambling|babbling)\b(?!\s+(?:about\s+)?(?:in|at|with|for|on|to|tomorrow|today|next|this|"
    r"during)\b)",
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
    # "why would I want to do that?" questioning the assistant's premise
    r"(?:^|[.!?]\s+)\W*why\s+(?:on\s+earth\s+)?would\s+i\s+(?:ever\s+)?(?:want\s+to\s+)?\w+\s+"
    r"(?:that|this|you)\b",
    # "that's rude", "whoa, rude"
    r"(?:^|[.!?]\s+)\W*(?:(?:whoa|wow|hey|um+|well)\W+)?(?:that'?s\s+|that\s+was\s+|how\s+|so\s+|"
    r"very\s+)?rude\b",
)
"""The user disputes what the assistant said or did, or that it answered at all."""

NON_UNDERSTANDING_PATTERNS: tuple[re.Pattern[str], ...] = _compile(
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
    # "no idea what you're talking about", "I'm not sure what you mean by that" is NOT here
    r"\b(?:no\s+idea|not\s+sure|(?:don'?t|do\s+not)\s+(?:know|understand)|can'?t\s+tell|"
    r"not\s+following)\s+(?:(?:i\s+)?(?:know|understand)\s+)?what\s+(?:you'?re|you\s+are|your|"
    r"ur|u\s+r|youre)\s+(?:even\s+)?(?:talking\s+about|on\s+about|getting\s+at)\b",
    # the whole sentence is a bewildered "what?" / "huh?"
    r"^\W*(?:(?:u+m+|h+m+|u+h+|e+r+m*|wait|sorry)\W+)?(?:what|wut|wat|huh)\s*\?[?!\s]*$",
    # "lol what", "What? ..." opening the turn, "I'm confused", "you're confusing me"
    r"^\W*(?:lol|haha+|ha|lmao|wow|oh|um+|uh+|hmm+|wait|sorry|ok+|okay)\W+(?:what|wut|wat|huh)\W*$",
    r"^\W*(?:(?:um+|uh+|hmm+|sorry|ok+|okay|lol|haha+|now)\W+)?(?:i'?m|i\s+am)\s+(?:so\s+|very\s+|"
    r"really\s+|a\s+(?:bit|little)\s+|kinda\s+|totally\s+|completely\s+)?(?:confused|lost)\W*$",
    r"\b(?:you'?re|you\s+are|u\s+r)\s+confusing\s+me\b",
    # "I don't understand you", "I don't get what you mean", "didn't get you", "you lost me"
    r"\bi\s+(?:(?:still|just|really)\s+)?(?:don'?t|do\s+not|didn'?t|did\s+not|can'?t|cannot)\s+"
    r"(?:understand|get|follow)\s+(?:you|u|ya|what\s+(?:you|u)\s+(?:mean|meant|said|say|are\s+"
    r"saying|'re\s+saying|wrote)|your\s+(?:answer|reply|response|question|point|meaning))\b",
    r"^\W*(?:(?:sorry|hmm+|um+|uh+|huh)\W+)?(?:i\s+)?(?:still\s+)?(?:don'?t|didn'?t|do\s+not|did\s+not)\s+"
    r"(?:understand|get\s+(?:it|you|that|this))\W*$",
    r"\b(?:didn'?t|don'?t)\s+(?:get|understand)\s+(?:you|u|ya)\b",
    r"\b(?:you|u)\s+lost\s+me\b",
    # the whole sentence asks what the assistant means: "what do you mean?", "meaning?"
    r"(?:^|[.!?]\s+)\W*(?:(?:sorry|um+|uh+|hmm+|wait|huh)\W+)?what\s+(?:do|did)\s+(?:you|u|ya)\s+"
    r"mean\s*(?:\?|$)",
    r"(?:^|[.!?]\s+)\W*what\s+(?:are|r)\s+(?:you|u)\s+(?:even\s+)?say(?:ing)?\s*(?:\?|$)",
    r"^\W*(?:what\W+){2,}\W*$",
    r"^\W*(?:eh|pardon|come\s+again|excuse\s+me)\s*\?+\W*$",
    r"\bwhat\s+(?:is|was)\s+that\s+supposed\s+to\s+mean\b",
    # a bewildered "What?" opening a longer turn
    r"^\W*(?:what|huh|wut|wat)\s*\?+\s+(?![^\n]*\b(?:thanks?|thank\s+you|amazing|awesome|great|cool|"
    r"congrat\w*|wow|love|nice)\b)\w",
)
"""The user says the assistant's reply makes no sense to them, or asks what it means."""

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
    r"\bi\s+(?:just\s+)?told\s+you\s+(?:the\s+answer|that\s+already|already|before|earlier|twice)\b",
    # "let me ask again", "I'll ask again", "I repeat", "for the second time"
    r"\b(?:let\s+me|i'?ll|i\s+will)\s+(?:ask|say|try)\s+(?:that\s+|it\s+|this\s+)?(?:again|"
    r"one\s+more\s+time|once\s+more)\b",
    r"\bi\s+repeat\b",
    rf"{_CLAUSE_START}for\s+the\s+(?:second|third|fourth|fifth|last|hundredth|millionth|"
    r"\d+(?:nd|rd|th))\s+time\s*[,:!.-]",
    # "answer my question", "I asked you a question"
    r"\b(?:answer|respond\s+to)\s+my\s+questions?\b",
    rf"{_CLAUSE_START}(?:answer|respond\s+to)\s+the\s+questions?\s*(?:[.!?]|$)",
    r"\bi\s+asked\s+you\s+(?:about|for|to)\b",
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

SARCASM_PATTERNS: tuple[re.Pattern[str], ...] = _compile(
    # "thanks for nothing", "thanks for stating the obvious"
    r"\bthanks?\s+(?:you\s+)?(?:for\s+nothing|a\s+lot\s+for\s+nothing|for\s+stating\s+the\s+"
    r"obvious|for\s+(?:the|that|this|your)\s+(?:useless|pointless|non-?answer))\b",
    # "very helpful... not", "great job, not", "so helpful /s"
    r"\b(?:very|so|really|real|super|most|how)\s+(?:helpful|useful|informative|smart|clever)\b"
    r"[\s,.!…]*(?:\bnot\b|/s\b)",
    r"\b(?:great|nice|good|brilliant|awesome)\s+(?:job|work|answer|one|response)\b[\s,.!…]*"
    r"(?:\bnot\b|/s\b)",
    r"\bsaid\s+no\s*(?:one|body)\s+ever\b",
    r"^\W*(?:oh\s+)?yeah,?\s+right\W*$",
    # "thanks, genius", "nice one, Sherlock", "well done, Einstein"
    r"\b(?:thanks|thank\s+you|nice|good|great|brilliant|ok|okay|well\s+done|wow|sure)\W+"
    r"(?:(?:one|job|try)\W+)?(?:genius|einstein|sherlock|captain\s+obvious|smartass|smarty)\b",
    # "you sound like a broken record", "you sound like a bot"
    r"\b(?:you|u)\s+sound\s+like\s+(?:an?\s+)?(?:broken\s+record|bot|robot|machine|parrot|script)\b",
    # mockery of competence: "my dog could do better", "a toaster is smarter than you"
    r"\b(?:smarter|more\s+(?:helpful|useful|intelligent))\s+than\s+(?:you|u)\b",
    r"\bmy\s+(?:\w+\s+){0,2}(?:dog|cat|toaster|calculator|grandma|grandmother|granny|kid|"
    r"child|\d+[\s-]year[\s-]old)\s+(?:could|can|would)\s+(?:do|answer|write|have\s+done)\s+"
    r"(?:(?:it|that|this)\s+)?better\b",
    r"\b(?:is\s+that|that'?s)\s+(?:really\s+)?the\s+best\s+(?:you|u)\s+(?:can\s+do|(?:'?ve\s+)?got)\b",
    r"\bsome\s+(?:help|assistant|ai|bot|expert|genius)\s+(?:you\s+are|that\s+(?:is|was))\b",
    r"\bi\s+thought\s+(?:you|u)\s+(?:were|was)\s+(?:supposed\s+to\s+be\s+)?(?:smart|intelligent|"
    r"clever|an?\s+(?:ai|expert|smart))\b",
    r"\bdo\s+(?:you|u)\s+even\s+(?:know|understand|read|listen)\b",
    r"\b(?:did|do)\s+(?:you|u)\s+(?:even\s+)?(?:read|see)\s+(?:what|my)\b",
)
"""The user mocks the assistant's competence (sarcasm): "thanks for nothing", "thanks, genius"."""

RE_ASK_PATTERNS: tuple[re.Pattern[str], ...] = _compile(
    # "No, I asked where it is", "I was asking when it opens", "My question was ..."
    r"\bi\s+(?:was\s+)?ask(?:ed|ing)\s+(?:you\s+)?(?:what|where|when|who|how|why|which|if|"
    r"whether)\b",
    r"\bmy\s+question\s+was\s+(?:about|whether|if|what|where|when|who|how|why|which|:)",
    r"\b(?:that'?s|that\s+is|this\s+is|it'?s)\s+not\s+what\s+i'?m\s+asking\b",
    # "so, will you answer or not?"
    r"\b(?:will|can|could)\s+(?:you|u)\s+(?:just\s+)?answer\s+(?:or\s+not|me|(?:the|my)\s+question)\b",
    r"^\W*(?:(?:just|please|now|so)\W+)?answer\s+me\W*$",
    r"\bi\s+asked\s+you\s+(?:a|the|my)\s+question\b",
)
"""The user asks again after an evasive or off-topic answer (the bare "No, <question>?" is found
in code, only when the assistant asked nothing)."""

NO_THEN_QUESTION_PATTERN: re.Pattern[str] = re.compile(
    r"^\W*(?:no+|nope|nah)\b[\s,.!-]+(?:i\s+mean\s+|but\s+)?(?!(?:what|how)\s+about\s+(?:you|u)\b)"
    r"(?:what|where|when|who|how|why|which|"
    r"do|does|did|is|are|can|could|will|would)\b[^.!?\n]*\?",
    _FLAGS,
)
""""No, where is it?": a re-asked question, when the assistant turn before asked nothing."""

ASSISTANT_NON_UNDERSTANDING_PATTERN: re.Pattern[str] = re.compile(
    r"\bi\s+(?:(?:really|just|still)\s+)?(?:don'?t|do\s+not|didn'?t|did\s+not|can'?t|cannot|"
    r"could\s+not|couldn'?t)\s+(?:quite\s+)?(?:understand|follow|get|catch|parse|make\s+sense\s+of)"
    r"\s*(?:that|this|it|you|your|what\s+you|the\s+question|\W*$|[.!,])"
    r"|\b(?:i'?m|i\s+am)\s+(?:not\s+sure|unsure)\s+what\s+(?:you\s+mean|you'?re\s+(?:asking|"
    r"saying|referring)|you\s+are\s+(?:asking|saying|referring))"
    r"|\bi\s+(?:don'?t|do\s+not)\s+know\s+(?:how\s+to\s+(?:help|answer|respond|do\s+that)|what\s+"
    r"(?:you\s+mean|you'?re\s+(?:talking|asking)|that\s+means|to\s+say))"
    r"|\b(?:i'?m|i\s+am)\s+(?:not\s+able|unable)\s+to\s+(?:help|answer|understand|do\s+that)"
    r"|\bi\s+(?:can'?t|cannot)\s+(?:help\s+(?:you\s+)?with\s+(?:that|this)|answer\s+(?:that|this)|"
    r"do\s+that)\b"
    r"|\b(?:that'?s|that\s+is)\s+(?:beyond|outside)\s+(?:me|my\s+(?:abilities|capabilities|"
    r"knowledge|scope))"
    r"|\bi\s+have\s+no\s+(?:idea|answer)\b",
    _FLAGS,
)
"""The assistant says it did not understand or cannot do it; a user turn that tries again
afterwards is a ``retry`` signal."""

NOT_DONE_PATTERN: re.Pattern[str] = re.compile(
    r"\b(?:can'?t|cannot|couldn'?t|could\s+not|unable|failed|won'?t|not\s+able|don'?t\s+have|"
    r"no\s+(?:results?|matches|availability)|not\s+(?:available|found|possible)|sorry|"
    r"unfortunately)\b",
    _FLAGS,
)
"""Words in an assistant turn that say a request was NOT carried out (so a repeat is a signal)."""

CLOSING_PATTERN: re.Pattern[str] = re.compile(
    r"^\W*(?:(?:ok|okay|k|fine|alright|sure|yes|yeah|yep|no|nope|thanks|thank\s+you|thx|bye|"
    r"goodbye|good\s*night|never\s*mind|nvm|forget\s+it|lol|haha|cool|great|nice|hi|hello|hey|"
    r"anyway|no\s+worries|no\s+problem|that'?s\s+(?:ok|okay|fine|all))"
    r"\W*)+$",
    _FLAGS,
)
"""A user turn that only acknowledges or closes: not an attempt to try again."""

SIGNAL_PATTERNS: dict[SignalKind, tuple[re.Pattern[str], ...]] = {
    "correction": CORRECTION_PATTERNS,
    "rejection": REJECTION_PATTERNS,
    "challenge": CHALLENGE_PATTERNS,
    "sarcasm": SARCASM_PATTERNS,
    "non_understanding": NON_UNDERSTANDING_PATTERNS,
    "re_ask": RE_ASK_PATTERNS,
    "retry": (),
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
"""An assistant turn asking the user to rephrase: the repeat it gets is not a ``repetition``
(it is a ``retry`` when the assistant also said it did not understand or cannot do it)."""

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

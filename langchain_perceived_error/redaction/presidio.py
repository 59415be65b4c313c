"""An optional redactor for what patterns cannot find (names, places), by Microsoft Presidio.

``pip install 'langchain-perceived-error[presidio]'`` brings ``presidio-analyzer``; its default
engine also needs a spaCy model installed beforehand (``python -m spacy download en_core_web_lg``).
Nothing is downloaded at run time: without the model, building the default engine fails with a
one-line error; pass an ``analyzer`` configured your way instead. Chain it after the patterns::

    redactor = chain_redactors(redact_text, PresidioRedactor())
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Sequence
from typing import Any

from langchain_perceived_error.redaction.redact import mask_spans

__all__ = ["DEFAULT_PRESIDIO_ENTITIES", "PresidioRedactor"]

DEFAULT_PRESIDIO_ENTITIES = ("PERSON", "LOCATION", "NRP")
"""Names, places and nationalities / religious or political groups: what the patterns miss."""

_INSTALL_HINT = "pip install 'langchain-perceived-error[presidio]'"
_SPACY_MODEL = "en_core_web_lg"


def _default_analyzer() -> Any:
    if importlib.util.find_spec("presidio_analyzer") is None:
        msg = f"PresidioRedactor needs presidio-analyzer: {_INSTALL_HINT}"
        raise ImportError(msg)
    if importlib.util.find_spec(_SPACY_MODEL) is None:
        msg = (
            f"Presidio's default engine needs the spaCy model {_SPACY_MODEL}: "
            f"python -m spacy download {_SPACY_MODEL} (or pass analyzer=)"
        )
        raise ImportError(msg)
    from presidio_analyzer import AnalyzerEngine

    return AnalyzerEngine()


class PresidioRedactor:
    """A :data:`~langchain_perceived_error.redaction.redact.Redactor` that masks Presidio's
    findings.

    Each entity found becomes ``[entity type in lower case]`` (``[person]``, ``[location]``) and is
    counted under that name.
    """

    def __init__(
        self,
        analyzer: Any = None,
        *,
        entities: Sequence[str] = DEFAULT_PRESIDIO_ENTITIES,
        language: str = "en",
    ) -> None:
        """``analyzer``: a ``presidio_analyzer.AnalyzerEngine`` (default: a new default one).

        Raises:
            ImportError: when no ``analyzer`` is given and presidio-analyzer or its spaCy model
                is not installed (the message says what to install).

        """
        self.analyzer = analyzer if analyzer is not None else _default_analyzer()
        self.entities = list(entities)
        self.language = language

    def __call__(self, text: str, counts: Counter[str]) -> str:
        """``text`` with every entity Presidio finds masked."""
        found = self.analyzer.analyze(text=text, entities=self.entities, language=self.language)
        return mask_spans(text, ((r.start, r.end, r.entity_type.lower()) for r in found), counts)

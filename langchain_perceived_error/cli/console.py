"""Where the CLI's messages go: stderr, as text, never as markup, never hard-wrapped.

Every message goes through :func:`say`, which treats user text (paths, specs, ids, error texts) as
text, so ``runs[prod].jsonl`` prints as it is; results go to stdout or ``--output``.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

__all__ = ["say", "stderr"]

stderr = Console(stderr=True, soft_wrap=True)
"""Progress, logs and summaries go to stderr; results go to stdout or --output."""


def say(message: Any, *, markup: bool = False) -> None:
    """Print ``message`` on stderr: not markup (unless asked), not highlighted, not wrapped.

    Pass ``markup=True`` only for a literal written here, with user text inside escaped by
    :func:`rich.markup.escape`.
    """
    stderr.print(message, markup=markup, highlight=False, soft_wrap=True)

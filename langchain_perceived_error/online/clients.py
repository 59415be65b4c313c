"""LangSmith clients for the online features: the hand-written ``Client`` and the generated one.

LangSmith's SDK ships two clients. The hand-written ``langsmith.Client`` writes feedback and reads
projects; the generated ``langsmith.Langsmith`` is the non-deprecated way to read threads, query
runs and manage annotation queues (on the sync ``Client`` those generated resources are async, so
a separate sync ``Langsmith`` is kept). :class:`LangSmithClients` holds one of each, configured
alike:

- the API key from the argument, else ``LANGSMITH_API_KEY``, else ``LANGCHAIN_API_KEY``;
- the API URL from the argument, else ``LANGSMITH_ENDPOINT``, else ``LANGCHAIN_ENDPOINT``, else
  LangSmith cloud. The hand-written client gets it as given (self-hosted endpoints often end in
  ``/api/v1``); the generated client gets the host root (a trailing ``/api/v1`` or ``/api``
  dropped), since its paths start with ``/api/v1`` or ``/api/v2``;
- the workspace (tenant) id from the argument, else ``LANGSMITH_WORKSPACE_ID``, else
  ``LANGSMITH_TENANT_ID``.

Rate limits (429) and server errors (5xx, 408, 425) are retried by the SDKs' own retry
machinery, honouring ``Retry-After``: the hand-written client through a urllib3 ``Retry`` with
exponential backoff, the generated one through its ``max_retries``. The hand-written client is
built with ``auto_batch_tracing=False`` so feedback is written by a synchronous
``POST /feedback``: an error reaches the caller instead of a background thread's log.

The API key is never logged and never part of a ``repr``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import TracebackType

from langsmith import APITimeoutError, Client, Langsmith, NotFoundError
from langsmith.utils import LangSmithError, LangSmithNotFoundError, LangSmithRetry

from langchain_perceived_error.transport.retries import DEFAULT_REQUEST_TIMEOUT_S

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_MAX_RETRIES",
    "V2_MIN_VERSION",
    "LangSmithClients",
    "LangSmithConfigError",
    "ProjectNotFoundError",
    "describe_error",
    "resolve_project",
]

DEFAULT_API_URL = "https://api.smith.langchain.com"
DEFAULT_MAX_RETRIES = 5
"""Retries after the first attempt, for both clients, on 429, 408, 425 and 5xx answers."""

_API_KEY_VARS = ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")
_API_URL_VARS = ("LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT")
_TENANT_VARS = ("LANGSMITH_WORKSPACE_ID", "LANGSMITH_TENANT_ID")
_RETRY_STATUSES = (408, 425, 429, 500, 502, 503, 504)
_BACKOFF_FACTOR = 0.5
_BACKOFF_MAX_S = 30.0
V2_MIN_VERSION = "0.16"
"""The self-hosted LangSmith version that serves the ``/api/v2`` run and thread reads."""
_TIMEOUT_RETRIES = 2
"""Retries of a request that timed out (hand-written client): a server that accepts and never
answers costs about ``3 * timeout + 1`` seconds, not six timeouts and 15 s of backoff."""


class LangSmithConfigError(ValueError):
    """LangSmith settings are missing or invalid (no API key, a bad URL)."""


class ProjectNotFoundError(LookupError):
    """No LangSmith tracing project has the given name."""


@dataclass(frozen=True)
class LangSmithClients:
    """A hand-written ``langsmith.Client`` and a generated sync ``langsmith.Langsmith``."""

    client: Client = field(repr=False)
    """Feedback writes, project reads."""
    sdk: Langsmith = field(repr=False)
    """Threads, run queries and annotation queues (the non-deprecated generated API)."""
    api_url: str = DEFAULT_API_URL
    """The API URL (shown in messages; the key never is)."""
    timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S
    """Connect and read timeout of every request, in seconds."""

    @classmethod
    def create(
        cls,
        *,
        api_key: str | None = None,
        api_url: str | None = None,
        tenant_id: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
    ) -> LangSmithClients:
        """Build both clients from explicit settings, falling back to the environment.

        Raises:
            LangSmithConfigError: when no API key is given or set in the environment.

        """
        key = api_key or _first_env(_API_KEY_VARS)
        if not key:
            msg = "no LangSmith API key: set LANGSMITH_API_KEY (or --api-key; in Python: api_key=)"
            raise LangSmithConfigError(msg)
        url = (api_url or _first_env(_API_URL_VARS) or DEFAULT_API_URL).strip().rstrip("/")
        root = _host_root(url)
        tenant = tenant_id or _first_env(_TENANT_VARS)
        client = Client(
            api_url=url,
            api_key=key,
            workspace_id=tenant,
            retry_config=_retry(max_retries),
            timeout_ms=int(timeout_s * 1000),
            auto_batch_tracing=False,
            tracing_sampling_rate=1.0,
        )
        sdk = Langsmith(
            api_key=key,
            base_url=root,
            tenant_id=tenant,
            max_retries=max_retries,
            timeout=timeout_s,
        )
        return cls(client=client, sdk=sdk, api_url=url, timeout_s=timeout_s)

    from_env = create
    """Alias of :meth:`create`: every setting not passed comes from the environment."""

    def describe(self, error: BaseException) -> str:
        """:func:`describe_error` with these clients' timeout."""
        return describe_error(error, self.timeout_s)

    def close(self) -> None:
        """Close both clients' connections."""
        self.client.cleanup()
        self.sdk.close()

    def __enter__(self) -> LangSmithClients:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def resolve_project(clients: LangSmithClients, name: str) -> str:
    """The id of the tracing project called ``name``.

    Raises:
        ProjectNotFoundError: when no project has that name.
        LangSmithError: when LangSmith cannot be read (after retries).

    """
    try:
        project = clients.client.read_project(project_name=name)
    except LangSmithNotFoundError as e:
        msg = f"no LangSmith project named {name!r} at {clients.api_url}"
        raise ProjectNotFoundError(msg) from e
    except LangSmithError as e:
        msg = (
            f"could not read LangSmith project {name!r} at {clients.api_url}: {clients.describe(e)}"
        )
        raise LangSmithError(msg) from e
    return str(project.id)


def describe_error(error: BaseException, timeout_s: float | None = None) -> str:
    """One line for a LangSmith SDK error: a timeout said plainly, else the message's first line.

    A 404 from a ``/api/v2`` path names the LangSmith version that serves it.
    The hand-written client's messages run over several lines (the status, then
    ``Content-Length`` and a masked ``API Key`` line); only the first is kept.
    """
    text = str(error).strip()
    if isinstance(error, NotFoundError) and "/api/v2/" in error.request.url.path:
        request = f"{error.request.method} {error.request.url.path}"
        return (
            f"this LangSmith answers 404 to {request}: the v2 API needs LangSmith "
            f"{V2_MIN_VERSION} or newer (self-hosted)"
        )
    if isinstance(error, APITimeoutError) or "timed out" in text.lower():
        within = f" within {timeout_s:g} s" if timeout_s is not None else ""
        return f"LangSmith did not answer{within} (timed out after retries; see --timeout)"
    return text.splitlines()[0] if text else type(error).__name__


def _first_env(names: tuple[str, ...]) -> str | None:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def _host_root(url: str) -> str:
    """``url`` without a trailing slash or ``/api/v1`` (the generated client adds its paths)."""
    root = url.removesuffix("/api/v1").removesuffix("/api").rstrip("/")
    if not root.startswith(("http://", "https://")):
        msg = f"the LangSmith API URL must start with http:// or https://, got {url!r}"
        raise LangSmithConfigError(msg)
    return root


def _retry(max_retries: int) -> LangSmithRetry:
    """urllib3 retries for the hand-written client: every method, ``Retry-After`` honoured."""
    return LangSmithRetry(
        total=max_retries,
        status_forcelist=list(_RETRY_STATUSES),
        backoff_factor=_BACKOFF_FACTOR,
        backoff_max=_BACKOFF_MAX_S,
        allowed_methods=None,
        raise_on_redirect=False,
        raise_on_status=False,
        read=_TIMEOUT_RETRIES,
        respect_retry_after_header=True,
    )

"""One GET to a second-opinion engine (Shodan InternetDB, Censys): paced, over TLS, with a
timeout, never following a redirect, reading a bounded body. Each engine's client says where
and with which headers; each engine's reader (internetdb.py, censys.py) says what the answer
means and names its errors (engine_answers.Engine). Transport failures become the engine's own
"unavailable" error (retried by the state machine), with a message that never carries a header
(Censys's carries its token)."""

from __future__ import annotations

from collections.abc import Callable

import requests
from botocore.exceptions import BotoCoreError, ClientError

from ics_honeynet.engine_answers import Engine
from ics_honeynet.pacing import PacerUnavailableError, SharedPacer


def paced_get[Answer](
    engine: Engine,
    session: requests.Session,
    pacer: SharedPacer,
    url: str,
    *,
    headers: dict[str, str],
    timeout: float,
    read: Callable[[int, bytes], Answer],
) -> Answer:
    """Wait for this request's slot, ask, and ``read`` the status and at most ``max_bytes`` + 1
    bytes of the body (one more tells the reader it was larger). A rate-limited answer widens
    the pace first: the request went in its slot all the same, so this path has more jitter than
    the margin allows."""
    try:
        pacer.wait()
    except (ClientError, BotoCoreError) as error:
        raise PacerUnavailableError(f"the {engine.name} pace table did not answer: {error}") from None
    try:
        with session.get(url, timeout=timeout, allow_redirects=False, stream=True, headers=headers) as response:
            status, body = response.status_code, _bounded_body(response, engine.max_bytes)
    except requests.Timeout:
        raise engine.unavailable(f"{engine.name} did not answer within {timeout:g} s") from None
    except (requests.ConnectionError, OSError):
        raise engine.unavailable(f"could not connect to {engine.name}") from None
    except requests.RequestException as error:
        raise engine.unavailable(f"{engine.name} request failed: {type(error).__name__}") from None
    try:
        return read(status, body)
    except engine.rate_limited:
        pacer.slow_down()
        raise


def _bounded_body(response: requests.Response, max_bytes: int) -> bytes:
    body = b""
    for chunk in response.iter_content(chunk_size=16 * 1024):
        body += chunk
        if len(body) > max_bytes:
            break
    return body[: max_bytes + 1]

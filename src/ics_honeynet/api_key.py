"""Reading the Shodan API key: a key that cannot be read is a configuration error (pure).

A missing, unreadable or empty SSM parameter is not a per-IP failure: every lookup of the sweep
would fail the same way. ``ShodanKeyUnavailableError`` fails the sweep (the state machine
catches it by name, as it does ``ShodanAuthError``), and its message says what to fix: the
parameter's name and region. It never carries the key (there is none to carry).
"""

from __future__ import annotations

import os
from collections.abc import Callable

KEY_CACHE_SECONDS = 300


class ShodanKeyUnavailableError(Exception):
    """The SSM parameter holding the Shodan key is missing, unreadable or empty."""


def read_secret(get: Callable[[str], object], name: str, *, what: str, fix: str, error: type[Exception]) -> str:
    """The secret from ``get(name)`` (SSM, decrypted), or ``error`` saying ``what`` could not be
    read and how to ``fix`` it: only the SSM error's class and message, which never hold a secret."""
    try:
        value = get(name)
    except Exception as failure:
        reason = " ".join(str(failure).split())[:200] or type(failure).__name__
        raise error(f"{what} could not be read ({reason}): {fix}") from None
    if not isinstance(value, str) or not value.strip():
        raise error(f"{what} parameter is empty: {fix}")
    return value


def read_api_key(get: Callable[[str], object], name: str, region: str) -> str:
    """The key from ``get(name)`` (SSM, decrypted), or ShodanKeyUnavailableError naming what to fix."""
    fix = (
        f"store the key as a SecureString in SSM parameter {name} in region {region} "
        f"(aws ssm put-parameter --region {region} --type SecureString --name {name} --value ...), "
        "or, to sweep without a Shodan key, deploy with ShodanEngine=internetdb (Shodan InternetDB alone)"
    )
    return read_secret(get, name, what="the Shodan API key", fix=fix, error=ShodanKeyUnavailableError)


def stack_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "(unknown region)"


def cached_secret(name: str) -> object:
    """SSM parameter ``name``, decrypted, cached ``KEY_CACHE_SECONDS`` per container by Powertools."""
    from aws_lambda_powertools.utilities import parameters  # only the functions that use a secret pay for it

    return parameters.get_parameter(name, decrypt=True, max_age=KEY_CACHE_SECONDS)


def stack_api_key() -> str:
    """The stack's key (SSM parameter ``SHODAN_API_KEY_PARAMETER``, decrypted), cached
    ``KEY_CACHE_SECONDS`` per container by Powertools; ShodanKeyUnavailableError if unreadable."""
    return read_api_key(cached_secret, os.environ["SHODAN_API_KEY_PARAMETER"], stack_region())

"""Storage and tracking URLs: the one place that hides their passwords."""

import re

_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<password>[^@\s]*)@")


def redact(text: str) -> str:
    """Replace the password of every URL in ``text`` with ``***``.

    >>> redact("postgresql://bob:s3cret@db:5432/optuna")
    'postgresql://bob:***@db:5432/optuna'
    """
    return _PASSWORD.sub(lambda m: f"{m['head']}***@", str(text))

"""URLs with passwords: the one place that hides them.

What rnnstudy stores or prints of a storage URL, a tracking URI, a command line or a study
file goes through :func:`redact`; :func:`redacted` tells a value that lost its password
(``rnnstudy rerun`` cannot run it again as it was).
"""

import re

MASK = "***"
_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<password>[^@\s]*)@")


def redact(text: str) -> str:
    """Replace the password of every URL in ``text`` with ``***``.

    >>> redact("postgresql://bob:s3cret@db:5432/optuna")
    'postgresql://bob:***@db:5432/optuna'
    """
    return _PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", str(text))


def lines_with_passwords(text: str) -> list[int]:
    """The numbers (from 1) of the lines of ``text`` that :func:`redact` changes (a URL never
    spans lines).

    >>> lines_with_passwords("a\\nurl = 'http://bob:pw@host'\\nshown = 'http://bob:***@host'")
    [2]
    """
    return [n for n, line in enumerate(str(text).split("\n"), start=1) if redact(line) != line]


def redacted(text: str) -> bool:
    """Whether ``text`` holds a URL whose password :func:`redact` replaced.

    >>> redacted("postgresql://bob:***@db/optuna"), redacted("postgresql://bob@db/optuna")
    (True, False)
    """
    return any(m["password"] == MASK for m in _PASSWORD.finditer(str(text)))

"""Durations written the way people write them in YAML ("90s", "1h", "30d"), and instants on the command line.

>>> parse_duration_ms("1h")
3600000
>>> parse_duration_ms("250ms")
250
>>> format_duration(86_400_000)
'1d'
"""

import re
from datetime import UTC, datetime

from streamscore.shared.errors import StreamscoreError

_UNITS_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_PATTERN = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)\s*$")


def parse_duration_ms(text: str) -> int:
    """Parse "<integer><unit>" with unit one of ms, s, m, h, d; raises ValueError otherwise."""
    match = _PATTERN.match(text)
    if match is None:
        raise ValueError(f"expected a duration like '90s', '10m', '1h' or '30d', got {text!r}")
    value = int(match.group(1)) * _UNITS_MS[match.group(2)]
    if value <= 0:
        raise ValueError(f"a duration must be > 0, got {text!r}")
    return value


def format_duration(ms: int) -> str:
    """The shortest exact spelling of a duration, used in generated column names and logs."""
    for unit in ("d", "h", "m", "s"):
        if ms % _UNITS_MS[unit] == 0:
            return f"{ms // _UNITS_MS[unit]}{unit}"
    return f"{ms}ms"


def parse_instant(text: str) -> datetime:
    """An ISO date or time, UTC unless it names a zone.

    >>> parse_instant("2026-01-01T06:30").isoformat()
    '2026-01-01T06:30:00+00:00'
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise StreamscoreError(f"expected an ISO date or time like 2026-01-01T00:00, got {text!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

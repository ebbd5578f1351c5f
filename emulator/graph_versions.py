"""The Graph API versions the emulated Graph serves, and the day Meta retires each, as Meta
publishes them (https://developers.facebook.com/docs/graph-api/changelog/versions, read
2026-11-29; v26.0 has no date yet).

The emulator keeps its own copy rather than reading factpost's
(scheduler/platforms/facebook_versions.py): a double that read the product's table would agree
with any mistake in it. tests/test_graph_versions.py holds the two side by side.
"""

from __future__ import annotations

import re
from datetime import date

RETIRES: dict[str, date | None] = {
    "v26.0": None, "v25.0": date(2028, 7, 29), "v24.0": date(2028, 2, 18),
    "v23.0": date(2027, 10, 8), "v22.0": date(2027, 5, 20), "v21.0": date(2027, 1, 21),
    "v20.0": date(2026, 9, 24), "v19.0": date(2026, 5, 21), "v18.0": date(2026, 1, 26),
    "v17.0": date(2025, 9, 12), "v16.0": date(2025, 5, 14), "v15.0": date(2024, 11, 20),
    "v14.0": date(2024, 9, 17), "v13.0": date(2024, 5, 28), "v12.0": date(2024, 2, 8),
    "v11.0": date(2023, 9, 14), "v10.0": date(2023, 6, 8), "v9.0": date(2023, 2, 23),
    "v8.0": date(2022, 11, 1), "v7.0": date(2022, 8, 4), "v6.0": date(2022, 5, 5),
    "v5.0": date(2022, 2, 3), "v4.0": date(2021, 11, 2), "v3.3": date(2021, 8, 3),
    "v3.2": date(2021, 5, 4), "v3.1": date(2020, 10, 27), "v3.0": date(2020, 7, 28),
}
_SHAPE = re.compile(r"v(\d+)\.(\d+)")


def _key(version: str) -> tuple[int, int] | None:
    match = _SHAPE.fullmatch(version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def released(version: str) -> bool:
    """A version Meta released: one in the table, or one newer or older than all of it (a
    number inside its range that Meta never used, v21.5, is not)."""
    key, known = _key(version), [_key(v) for v in RETIRES]
    return version in RETIRES or (key is not None and (key > max(known) or key < min(known)))


def retired(version: str, today: date) -> bool:
    """Whether Meta refuses calls to `version` on `today` (older than the table: long gone)."""
    if version in RETIRES:
        retires = RETIRES[version]
        return retires is not None and today >= retires
    return released(version) and _key(version) < min(_key(v) for v in RETIRES)


def latest() -> str:
    return max(RETIRES, key=_key)


def oldest_available(today: date) -> str:
    """The version an unversioned call is served by: the oldest Meta still serves."""
    return min((v for v in RETIRES if not retired(v, today)), key=_key)

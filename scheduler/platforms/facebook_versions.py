"""Facebook's Graph API versions and the day Meta retires each, in one place: the facts
facebook.py and the emulator both read.

From Meta's version table, https://developers.facebook.com/docs/graph-api/changelog/versions
(read 2026-11-29; "Expiration Date" / "Available Until"). v26.0, the latest (released
2026-07-29), has no date yet ("TBD"); Meta guarantees every version for at least two years
from its release (https://developers.facebook.com/docs/graph-api/guides/versioning).

What Meta does with a call to a retired version: the versioning guide has long said such calls
are "defaulted to the next oldest usable version", but the Graph API now refuses them with
HTTP 400 and error code 2635, "(#2635) You are calling a deprecated version of the Graph API."
(https://github.com/mobolic/facebook-sdk/issues/527, March 2026; the same code and shape as the
Marketing API's long-standing refusal, e.g.
https://github.com/facebook/facebook-python-business-sdk/pull/582). factpost does not send to
a retired version at all: the daemon and `accounts check` refuse it with the version to use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

VERSIONS_URL = "https://developers.facebook.com/docs/graph-api/changelog/versions"
READ_ON = date(2026, 11, 29)

#: Version -> (released, retired); None: Meta has not set the date yet.
VERSIONS: dict[str, tuple[date, date | None]] = {
    "v26.0": (date(2026, 7, 29), None),
    "v25.0": (date(2026, 2, 18), date(2028, 7, 29)),
    "v24.0": (date(2025, 10, 8), date(2028, 2, 18)),
    "v23.0": (date(2025, 5, 29), date(2027, 10, 8)),
    "v22.0": (date(2025, 1, 21), date(2027, 5, 20)),
    "v21.0": (date(2024, 10, 2), date(2027, 1, 21)),
    "v20.0": (date(2024, 5, 21), date(2026, 9, 24)),
    "v19.0": (date(2024, 1, 23), date(2026, 5, 21)),
    "v18.0": (date(2023, 9, 12), date(2026, 1, 26)),
    "v17.0": (date(2023, 5, 23), date(2025, 9, 12)),
    "v16.0": (date(2023, 2, 2), date(2025, 5, 14)),
    "v15.0": (date(2022, 9, 15), date(2024, 11, 20)),
    "v14.0": (date(2022, 5, 25), date(2024, 9, 17)),
    "v13.0": (date(2022, 2, 8), date(2024, 5, 28)),
    "v12.0": (date(2021, 9, 14), date(2024, 2, 8)),
    "v11.0": (date(2021, 6, 8), date(2023, 9, 14)),
    "v10.0": (date(2021, 2, 23), date(2023, 6, 8)),
    "v9.0": (date(2020, 11, 10), date(2023, 2, 23)),
    "v8.0": (date(2020, 8, 4), date(2022, 11, 1)),
    "v7.0": (date(2020, 5, 5), date(2022, 8, 4)),
    "v6.0": (date(2020, 2, 3), date(2022, 5, 5)),
    "v5.0": (date(2019, 10, 29), date(2022, 2, 3)),
    "v4.0": (date(2019, 7, 29), date(2021, 11, 2)),
    "v3.3": (date(2019, 4, 30), date(2021, 8, 3)),
    "v3.2": (date(2018, 10, 23), date(2021, 5, 4)),
    "v3.1": (date(2018, 7, 26), date(2020, 10, 27)),
    "v3.0": (date(2018, 5, 1), date(2020, 7, 28)),
}
#: Supported until 2028-07-29: at least a year from when this table was read.
DEFAULT_VERSION = "v25.0"
#: How long before a retirement the daemon and `accounts check` start warning.
WARN_BEFORE = timedelta(days=90)
_SHAPE = re.compile(r"v(\d+)\.(\d+)")

CURRENT, RETIRING, RETIRED, UNKNOWN = "current", "retiring", "retired", "unknown"


@dataclass(frozen=True)
class VersionStatus:
    version: str
    state: str
    retires_on: date | None

    @property
    def message(self) -> str | None:
        """One line for people when the version needs action, else None."""
        if self.state == RETIRED:
            when = f" on {self.retires_on}" if self.retires_on else ""
            return (f"Graph API {self.version} was retired by Meta{when}; "
                    f'set graph_version = "{DEFAULT_VERSION}" for this account in the config '
                    f"({VERSIONS_URL})")
        if self.state == RETIRING:
            return (f"Graph API {self.version} retires on {self.retires_on}; set "
                    f'graph_version = "{DEFAULT_VERSION}" for this account before then '
                    f"({VERSIONS_URL})")
        if self.state == UNKNOWN:
            return (f"Graph API {self.version} is newer than factpost's table of versions "
                    f"(read {READ_ON}); check {VERSIONS_URL}")
        return None


def sort_key(version: str) -> tuple[int, int]:
    match = _SHAPE.fullmatch(version)
    if match is None:
        raise ValueError(f"{version!r} is not a Graph API version such as {DEFAULT_VERSION!r}")
    return int(match.group(1)), int(match.group(2))


def is_plausible(version: str) -> bool:
    """Whether `version` may be a Graph version Meta released: one in the table, one newer
    (released since the table was read) or one older (long retired). A number inside the
    table's range that Meta never used (v21.5, v3.9) is not."""
    if version in VERSIONS:
        return True
    try:
        key = sort_key(version)
    except ValueError:
        return False
    keys = [sort_key(v) for v in VERSIONS]
    return key > max(keys) or key < min(keys)


def status(version: str, today: date) -> VersionStatus:
    """Where `version` stands on `today` (UTC): current, retiring within WARN_BEFORE, retired
    (on or after its date, or older than anything in the table), or unknown (newer than the
    table)."""
    known = VERSIONS.get(version)
    if known is None:
        newer = is_plausible(version) and sort_key(version) > sort_key(latest())
        return VersionStatus(version, UNKNOWN if newer else RETIRED, None)
    retires_on = known[1]
    if retires_on is None or today < retires_on - WARN_BEFORE:
        return VersionStatus(version, CURRENT, retires_on)
    return VersionStatus(version, RETIRED if today >= retires_on else RETIRING, retires_on)


def oldest_available(today: date) -> str:
    """The oldest version Meta still serves on `today`."""
    alive = [v for v, (_, retired) in VERSIONS.items() if retired is None or today < retired]
    return min(alive, key=sort_key)


def latest() -> str:
    return max(VERSIONS, key=sort_key)

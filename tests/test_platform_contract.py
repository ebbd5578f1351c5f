"""The publisher contract (tests/platform_contract.py) for every platform the registry lists:
a platform added to scheduler/platforms/registry.py is tested here without a line more."""

from __future__ import annotations

import pytest
from platform_contract import *  # noqa: F403  (the suite)
from platform_contract import Case

from scheduler.platforms import registry


@pytest.fixture(params=list(registry.modules()))
def case(request, emulator) -> Case:
    return Case(registry.modules()[request.param], emulator)

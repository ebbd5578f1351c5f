"""Choosing the publisher for an account."""

from __future__ import annotations

from collections.abc import Mapping

from scheduler.config import AccountConfig
from scheduler.publishers.base import Publisher
from scheduler.publishers.facebook import FacebookPublisher
from scheduler.publishers.x import XPublisher

PUBLISHERS = {"x": XPublisher, "facebook": FacebookPublisher}


def build_publisher(account: AccountConfig, environ: Mapping[str, str] | None = None
                    ) -> Publisher:
    """The publisher for `account`; raises CredentialsMissing when its secrets are not set."""
    return PUBLISHERS[account.platform](account, environ=environ)

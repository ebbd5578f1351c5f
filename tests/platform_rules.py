"""The registered platforms' text rules, for tests of the splitter and the weighting: X's and
Facebook's as their specs declare them (scheduler/platforms/)."""

from __future__ import annotations

from dataclasses import replace

from posts.factsheet import Section
from posts.split import Snippet, TextRules, split_section
from scheduler.platforms import registry


def rules(platform: str) -> TextRules:
    return registry.spec(platform).text


def split_for_x(section: Section, *, limit: int | None = None, **options) -> list[Snippet]:
    x = rules("x")
    return split_section(section, x if limit is None else replace(x, limit=limit), **options)


def split_for_facebook(section: Section, *, limit: int | None = None, **options
                       ) -> list[Snippet]:
    facebook = rules("facebook")
    return split_section(section, facebook if limit is None else replace(facebook, limit=limit),
                         **options)

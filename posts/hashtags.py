"""Configured hashtags: which of them a text still lacks, and how they are appended."""

from __future__ import annotations

import re
from collections.abc import Sequence

from posts.weight import find_urls

# A hashtag as X finds one: "#" or "＃" not after a letter, digit or "&", then word characters
# with at least one letter (twitter-text's hashtag rule, https://github.com/twitter/twitter-text
# /blob/master/js/src/regexp/validHashtag.js, in its Unicode-word form).
_HASHTAG = re.compile(r"(?<![\w&])[#＃](\w*[^\W\d_]\w*)")


def missing_hashtags(text: str, hashtags: Sequence[str]) -> list[str]:
    """The `hashtags` (with or without "#") that `text` does not hold yet, each once, in
    order; X matches hashtags whatever their letter case, so neither does this."""
    if not hashtags:
        return []  # most accounts configure none: no need to find the links
    for start, end in reversed(find_urls(text)):  # "#top" in a link is no hashtag
        text = text[:start] + " " + text[end:]
    present = {m.group(1).casefold() for m in _HASHTAG.finditer(text)}
    missing: list[str] = []
    for tag in hashtags:
        bare = tag.strip().lstrip("#＃")
        if bare and bare.casefold() not in present:
            present.add(bare.casefold())
            missing.append(bare)
    return missing


def hashtag_text(hashtags: Sequence[str]) -> str:
    tags = [tag.strip().lstrip("#") for tag in hashtags]
    return "".join(f" #{tag}" for tag in tags if tag)

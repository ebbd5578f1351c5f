"""Post states: every transition is listed, and anything else is refused."""

from __future__ import annotations

import pytest

from posts.states import TRANSITIONS, IllegalTransition, PostStatus, check_transition

S = PostStatus


@pytest.mark.parametrize(("current", "target"), [
    (S.DRAFT, S.QUEUED), (S.QUEUED, S.PUBLISHING), (S.PUBLISHING, S.PUBLISHED),
    (S.PUBLISHING, S.FAILED), (S.PUBLISHING, S.NEEDS_REVIEW), (S.PUBLISHING, S.QUEUED),
    (S.NEEDS_REVIEW, S.PUBLISHED), (S.FAILED, S.QUEUED), (S.QUEUED, S.CANCELLED),
])
def test_the_documented_transitions_are_allowed(current, target):
    check_transition(1, current, target)


@pytest.mark.parametrize(("current", "target"), [
    (S.PUBLISHED, S.QUEUED), (S.PUBLISHED, S.CANCELLED), (S.CANCELLED, S.QUEUED),
    (S.DRAFT, S.PUBLISHING), (S.DRAFT, S.PUBLISHED), (S.PUBLISHING, S.CANCELLED),
])
def test_other_transitions_are_refused_with_what_is_possible(current, target):
    with pytest.raises(IllegalTransition) as err:
        check_transition(7, current, target)
    assert f"post 7 is {current}; it cannot become {target}" in str(err.value)


def test_cancelled_and_retracted_are_final_and_published_can_only_be_retracted():
    assert TRANSITIONS[S.CANCELLED] == frozenset() == TRANSITIONS[S.RETRACTED]
    assert TRANSITIONS[S.PUBLISHED] == {S.RETRACTING}
    assert TRANSITIONS[S.RETRACTING] == {S.RETRACTED, S.PUBLISHED}

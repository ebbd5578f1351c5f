"""Importing through the web: any format the command line reads, read once at review, and
exactly what the review showed queued on confirmation (issue 15, point 1)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import page_csrf, sign_in
from sample_documents import docx_bytes, pdf_bytes, sample_blocks
from test_document_images import docx_sheet, png

from db import migrate
from db.store import Store
from posts.states import Actor, PostStatus
from scheduler.importing import import_file
from scheduler.reading import ACCEPTED_SUFFIXES

S = PostStatus
BOTH = ["office-x", "office-fb"]


def review(client, name: str, data: bytes, *, accounts=BOTH, **fields):
    form = {"csrf": page_csrf(client, "/import"), "account": accounts, "schedule": "spaced",
            "at": "", "every": "0s", **fields}
    return client.post("/import/review", data=form, files={"file": (name, data)})


def token_of(page) -> str:
    return re.search(r'name="review" value="([^"]+)"', page.text).group(1)


def confirm(client, token: str):
    return client.post("/import", data={"csrf": page_csrf(client), "review": token})


def shown_posts(page) -> list[str]:
    return [html.unescape(t) for t in re.findall(
        r'<div class="post-text" dir="auto">(.*?)</div>', page.text, re.S)]


@pytest.mark.parametrize("name, build", [("meridian.docx", docx_bytes),
                                         ("meridian.pdf", pdf_bytes)])
def test_a_word_or_pdf_file_is_queued_as_reviewed_and_as_the_command_line_would(
        newsroom, tmp_path, name, build):
    data = build(sample_blocks())
    client = sign_in(newsroom.url, "chen")
    page = review(client, name, data)
    assert page.status_code == 200, page.text
    shown = shown_posts(page)
    assert len(shown) > 4 and newsroom.store.history.search() == []

    done = confirm(client, token_of(page))
    assert done.status_code == 303, done.text
    stored = sorted(newsroom.store.history.search(), key=lambda p: p.id)
    assert [p.text for p in stored] == shown
    assert {p.status for p in stored} == {S.DRAFT}

    # The same file through the command line's import, into a fresh office: the same posts.
    path = tmp_path / name
    path.write_bytes(data)
    store = Store.open(f"sqlite:///{tmp_path / 'cli.db'}", review=newsroom.config.review)
    migrate.upgrade(store.engine)
    try:
        import_file(path, store=store, config=newsroom.config,
                    accounts=[newsroom.config.account(a) for a in BOTH],
                    actor=Actor("cli", "admin"), now=datetime.now(UTC), at=datetime.now(UTC),
                    every=timedelta(0))
        assert sorted(p.text for p in store.history.search()) == sorted(shown)
    finally:
        store.close()


def test_the_picker_offers_every_format_the_command_line_reads(newsroom):
    client = sign_in(newsroom.url, "chen")
    page = client.get("/import").text
    accept = re.search(r'<input type="file" name="file" accept="([^"]+)"', page).group(1)
    assert set(accept.split(",")) == set(ACCEPTED_SUFFIXES)
    assert {".docx", ".pdf", ".html", ".md", ".txt"} <= set(accept.split(","))


def test_a_review_belongs_to_the_user_who_made_it_and_is_used_once(newsroom):
    chen = sign_in(newsroom.url, "chen")
    token = token_of(review(chen, "meridian.docx", docx_bytes(sample_blocks())))
    bashir = sign_in(newsroom.url, "bashir")
    stolen = confirm(bashir, token)
    assert stolen.status_code == 400
    assert "upload the fact sheet again" in html.unescape(stolen.text)
    assert newsroom.store.history.search() == []
    assert confirm(chen, token).status_code == 303
    queued = len(newsroom.store.history.search())
    again = confirm(chen, token)
    assert again.status_code == 400  # a second press queues nothing twice
    assert len(newsroom.store.history.search()) == queued > 0


def test_a_plan_that_changed_after_review_is_shown_again_not_queued(newsroom):
    # Two reviews of one file; once the first is queued, the second's plan is stale: its
    # accounts have the posts already. Confirming it must show that, not queue it again.
    client = sign_in(newsroom.url, "chen")
    data = docx_bytes(sample_blocks())
    first, second = (token_of(review(client, "meridian.docx", data)) for _ in range(2))
    assert confirm(client, first).status_code == 303
    count = len(newsroom.store.history.search())
    stale = confirm(client, second)
    assert stale.status_code == 409
    assert "The plan changed since you reviewed it" in stale.text
    assert stale.text.count("Nothing new: this document was already imported") == 2
    assert len(newsroom.store.history.search()) == count


def test_images_with_alt_text_are_offered_and_attached_as_on_the_command_line(newsroom):
    data = docx_sheet({"Our mission": [(png(), "Soldiers unload aid at the port")]})
    client = sign_in(newsroom.url, "chen")
    plain = review(client, "mission.docx", data)
    assert "holds 1 image(s)" in plain.text and 'class="media"' not in plain.text
    page = review(client, "mission.docx", data, images="on")
    assert page.text.count('class="media"') == 2  # the section's first post, per account
    assert "Soldiers unload aid at the port" in html.unescape(page.text)
    assert confirm(client, token_of(page)).status_code == 303
    with_media = [p for p in newsroom.store.history.search() if p.media_id is not None]
    assert {p.account for p in with_media} == set(BOTH)


def test_a_changed_version_shows_the_correction_and_replaces_on_confirmation(newsroom):
    client = sign_in(newsroom.url, "chen")
    first = "\n".join(["MERIDIAN UPDATE", "", "ROADS", "The north road is open again.", "",
                       "SCHOOLS", "Schools reopen on Sunday."])
    assert confirm(client, token_of(review(client, "update.txt", first.encode()))).status_code \
        == 303
    before = {p.id: p for p in newsroom.store.history.search()}
    page = review(client, "update.txt", first.replace("Sunday", "Monday").encode())
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "changed version of document" in text and "Changed" in text
    assert re.search(r'<a href="/posts/\d+">post \d+</a>', page.text)
    assert "Replace: cancel 2 superseded post(s) and queue 2 new one(s)" in text
    done = confirm(client, token_of(page))
    assert done.status_code == 303
    after = newsroom.store.history.search()
    cancelled = [p for p in after if p.id in before and p.status == S.CANCELLED]
    assert len(cancelled) == 2
    assert sorted(p.text for p in after if p.id not in before) == [
        "SCHOOLS\n\nSchools reopen on Monday.", "SCHOOLS\n\nSchools reopen on Monday."]


def test_importing_the_same_file_again_says_nothing_is_new_instead_of_an_empty_list(newsroom):
    client = sign_in(newsroom.url, "chen")
    data = docx_bytes(sample_blocks())
    assert confirm(client, token_of(review(client, "meridian.docx", data))).status_code == 303
    page = review(client, "meridian.docx", data)
    assert page.text.count("Nothing new: this document was already imported") == 2
    assert 'name="review"' not in page.text  # nothing to queue, so no button


def test_an_unreadable_upload_is_one_line_and_stores_nothing(newsroom, tmp_path: Path):
    client = sign_in(newsroom.url, "chen")
    page = review(client, "meridian.docx", b"not a zip at all")
    assert page.status_code == 400
    assert re.search(r'class="error" role="alert">meridian.docx: named .docx but is not a Word '
                     r'document[^<]*</p>', page.text)
    assert newsroom.store.history.search() == []


def test_the_review_warns_when_the_document_is_not_in_the_account_s_language(newsroom):
    from importlib import resources

    arabic = resources.files("posts").joinpath("samples/factsheet_ar.txt").read_bytes()
    client = sign_in(newsroom.url, "chen")
    page = review(client, "factsheet_ar.txt", arabic, accounts=["office-x"])
    assert ("Check the language: the document reads as Arabic, but account 'office-x' posts "
            "in English") in html.unescape(page.text)
    english = review(client, "meridian.docx", docx_bytes(sample_blocks()))
    assert "Check the language" not in english.text

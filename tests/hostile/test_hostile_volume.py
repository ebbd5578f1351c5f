"""A document, an import and a hand-written post hold only so much. A plain text, Markdown or
HTML file is measured before it is parsed, its sections are counted before any is split into
posts, and the posts of an import are counted before anything is stored; each refusal is one
line naming the cap and, where the office may raise it, the `[import]` key that does."""

from __future__ import annotations

import html

import httpx
import pytest
from click.testing import CliRunner
from conftest import page_csrf, sign_in, token_for
from support import PEAK_LIMIT_MB, run_measured

from scheduler.cli import cli

SENTENCE = "The task force repaired twelve schools and four clinics in the district. "


def sheet(sections: int, sentences: int = 1) -> str:
    """A plain-text fact sheet of `sections` headed sections of `sentences` sentences each."""
    body = "".join(f"SECTION {i}\n{SENTENCE * sentences}\n\n" for i in range(sections))
    return f"FACT SHEET\n\n{body}"


def test_a_huge_text_document_is_refused_before_it_is_parsed(tmp_path):
    """9 MB of 108,000 short sections: `preview` split it into 216,000 posts (78 s)."""
    (tmp_path / "many.txt").write_text(sheet(108_000), encoding="utf-8")
    run = run_measured("preview", "many.txt", cwd=tmp_path)
    assert run.code == 1 and run.stdout == ""
    assert run.errors == [
        "factpost: error: many.txt: 9.2 MB is more than a plain text fact sheet may be (2 MB); "
        "split the document, or raise [import] max_text_mb in the config"]
    assert run.peak_mb < PEAK_LIMIT_MB, f"peak {run.peak_mb:.0f} MB"


@pytest.mark.parametrize(("name", "kind", "padding"), [
    ("sheet.txt", "plain text", b"word " * 500_000),
    ("sheet.md", "Markdown", b"- item\n" * 400_000),
    ("sheet.html", "HTML", b"<p>a</p>" * 300_000),
])
def test_each_text_format_is_measured_before_parsing(name, kind, padding):
    from scheduler.reading import DocumentImportError, parse_document

    with pytest.raises(DocumentImportError) as refused:
        parse_document(padding, name)
    assert str(refused.value) == (
        f"{name}: {len(padding) / 1024 / 1024:.1f} MB is more than a {kind} fact sheet may be "
        "(2 MB); split the document, or raise [import] max_text_mb in the config")


@pytest.mark.parametrize(("name", "build"), [
    ("sheet.txt", lambda n: sheet(n).encode()),
    ("sheet.md", lambda n: ("# Fact sheet\n\n" + "".join(
        f"## Section {i}\n\n{SENTENCE}\n\n" for i in range(n))).encode()),
    ("sheet.html", lambda n: ("<h1>Fact sheet</h1>" + "".join(
        f"<h2>Section {i}</h2><p>{SENTENCE}</p>" for i in range(n))).encode()),
])
def test_sections_are_counted_before_any_is_split(name, build):
    from scheduler.reading import DocumentImportError, parse_document

    assert len(parse_document(build(100), name)[1].sections) == 100
    with pytest.raises(DocumentImportError) as refused:
        parse_document(build(101), name)
    assert str(refused.value) == (
        f"{name}: it has 101 sections, over the 100 one document may have; split it into "
        "several documents, or raise [import] max_sections in the config")


def test_an_office_raises_its_own_caps_in_the_config(tmp_path, write_config):
    (tmp_path / "long.txt").write_text(sheet(150), encoding="utf-8")
    refused = CliRunner().invoke(cli, ["preview", str(tmp_path / "long.txt")])
    assert refused.exit_code == 1 and "raise [import] max_sections" in refused.output
    from scheduler.platforms import registry

    # The default config has an account on every platform: 150 posts each.
    config = write_config(f"""
        [import]
        max_sections = 200
        max_posts = {150 * len(registry.names()) + 50}
        max_text_mb = 4
    """)
    shown = CliRunner().invoke(cli, ["--config", str(config), "preview", "--json",
                                     str(tmp_path / "long.txt")])
    assert shown.exit_code == 0, shown.output
    bad = write_config("[import]\nmax_posts = 0\n", name="bad.toml")
    wrong = CliRunner().invoke(cli, ["--config", str(bad), "preview", str(tmp_path / "long.txt")])
    assert wrong.exit_code != 0
    assert "import.max_posts: 0 is not a number >= 1; set a number >= 1" in wrong.output


def test_an_import_over_the_posts_cap_stores_nothing(make_office, tmp_path):
    """Six sections, each two posts on X and one on Facebook: 18 posts for both accounts."""
    office = make_office(extra="[import]\nmax_posts = 17\n")
    (tmp_path / "sheet.txt").write_text(sheet(6, sentences=6), encoding="utf-8")
    args = ["--config", str(office.config_path), "import", str(tmp_path / "sheet.txt"),
            "--at", "2036-12-01 09:00", "--every", "1h"]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines() == [
        "factpost: error: this import would queue 18 posts or more, over the 17 one import may "
        "queue; import it for fewer accounts or split the document, or raise [import] "
        "max_posts in the config"]
    assert office.store.history.search() == []
    one_account = CliRunner().invoke(cli, [*args, "--account", "office-x"])
    assert one_account.exit_code == 0, one_account.output
    assert len(office.store.history.search()) == 12


def test_the_web_import_refuses_an_import_over_the_posts_cap(make_office, serve, tmp_path):
    from conftest import add_users

    office = make_office(extra="[import]\nmax_posts = 17\n")
    add_users(office.store, amira="admin")
    client = sign_in(serve(office.config, office.store), "amira")
    response = client.post("/import/review", data={
        "csrf": page_csrf(client), "account": ["office-x", "office-fb"], "schedule": "spaced",
        "at": "2036-12-01 09:00", "every": "1h", "text": sheet(6, sentences=6)})
    assert response.status_code == 400
    assert "over the 17 one import may queue" in html.unescape(response.text)
    assert office.store.history.search() == []


def test_a_hand_written_post_is_capped_on_the_command_line(make_office):
    office = make_office()
    base = ["--config", str(office.config_path), "post", "add", "--at", "2036-12-01 09:00"]
    too_long = CliRunner().invoke(cli, [*base, "a" * 70_001, "--account", "office-fb"])
    assert too_long.exit_code == 1
    assert too_long.output.strip().splitlines() == [
        "factpost: error: the text is 70,001 characters, over the 70,000 a post may be written "
        "with; shorten it, or import it as a fact sheet"]
    thread = CliRunner().invoke(cli, [*base, SENTENCE * 100, "--account", "office-x"])
    assert thread.exit_code == 1
    assert thread.output.startswith("factpost: error: the text would be a ")
    assert "-part thread on X, over the 25 parts one post may become" in thread.output
    assert office.store.history.search() == []
    fits = CliRunner().invoke(cli, [*base, SENTENCE * 40, "--account", "office-x"])
    assert fits.exit_code == 0, fits.output


def test_a_hand_written_post_is_capped_in_the_web_ui_and_the_api(newsroom):
    """The Compose form split any text its body limit let through (a 300-part thread from
    73,000 characters); the API's own 70,000 characters still made a 270-part thread on X."""
    browser = sign_in(newsroom.url, "chen")
    form = browser.post("/compose", data={"csrf": page_csrf(browser, "/compose"),
                                          "account": "office-x", "when": "at",
                                          "at": "2036-12-01 09:00", "text": SENTENCE * 1_000},
                        timeout=60)
    assert form.status_code == 400
    assert ("the text is 73,000 characters, over the 70,000 a post may be written with; "
            "shorten it, or import it as a fact sheet") in html.unescape(form.text)
    api = httpx.Client(base_url=newsroom.url + "/api", timeout=60, headers={
        "Authorization": f"Bearer {token_for(newsroom.store, 'chen')}"})
    for text in (SENTENCE * 100, SENTENCE * 900):  # 7,300 and 65,700 characters
        thread = api.post("/posts", json={"account": "office-x", "text": text, "at": "now"})
        assert thread.status_code == 400
        assert "-part thread on X, over the 25 parts one post may become" in (
            thread.json()["detail"])
    assert newsroom.store.history.search() == []

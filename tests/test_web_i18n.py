"""The web interface in Arabic (issue 15, point 6): a gettext catalogue that holds every word
the pages and their messages use, each user's own language (switched in the page header and
kept on the user), the sign-in page in the browser's language, and `lang`/`dir` on the whole
page. The Chromium checks of the mirrored layout are in tests/test_web_browser.py."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po
from conftest import PASSWORD, REVIEW, add_users, login_csrf, page_csrf, sign_in

import scheduler.web
from scheduler.web.i18n import LANGUAGES, SOURCE_LANGUAGE

ROOT = Path(__file__).resolve().parent.parent
LOCALE = Path(scheduler.web.__file__).parent / "locale"
ARABIC_LETTER = re.compile(r"[\u0621-\u064a]")
ARABIC_PAGE = '<html lang="ar" dir="rtl">'
ENGLISH_PAGE = '<html lang="en" dir="ltr">'


def extracted(tmp_path: Path) -> list[str]:
    """The msgids `make messages` would extract from the code as it is now."""
    pot = tmp_path / "now.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "pyproject.toml"),
                                "-k", "N_", "-k", "words", "-k", "counted_words:1,2",
                                "-o", str(pot), str(ROOT / "scheduler" / "web"),
                                str(ROOT / "posts"), str(ROOT / "scheduler")])
    with pot.open("rb") as f:
        return [m.id for m in read_po(f) if m.id]


def catalogue(code: str):
    with (LOCALE / code / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=code)


def visible_text(page: str) -> str:
    """What a reader sees of a page (and a screen reader hears): text and the words of
    attributes, without the markup."""
    body = re.split(r"<body[^>]*>", page, maxsplit=1)[1]
    words = re.findall(r'(?:title|placeholder|aria-label|data-label)="([^"]*)"', body)
    return html.unescape(re.sub(r"<[^>]+>", " ", body) + " " + " ".join(words))


def untranslated(page: str) -> list[str]:
    """The catalogue's English phrases (two words or more, no placeholder) still on `page`."""
    text = " ".join(visible_text(page).split())
    with (LOCALE / "messages.pot").open("rb") as f:
        phrases = [m.id for m in read_po(f) if isinstance(m.id, str) and " " in m.id.strip()
                   and "%(" not in m.id and "<" not in m.id]
    return [p for p in phrases if " ".join(p.split()) in text]


# -- the catalogue ----------------------------------------------------------------------------

def test_every_interface_string_has_an_arabic_translation(tmp_path):
    """Fails when a template or a gettext() call gains a string that `make messages` has not
    brought into the catalogue, or that nobody has translated yet (or only by a guess)."""
    ids = extracted(tmp_path)
    assert len(ids) > 300  # the extraction found the templates, notices and Python
    ar = catalogue("ar")
    missing = [i for i in ids if i not in ar]
    assert missing == [], f"run `make messages` and translate: {missing}"
    for message in ar:
        if not message.id:
            continue
        assert message.string, f"no Arabic for {message.id!r}"
        assert not message.fuzzy, f"fuzzy (a guess, never shown): {message.id!r}"
    stale = [m.id for m in ar if m.id and m.id not in ids]
    assert stale == [], f"no longer used; run `make messages`: {stale}"


def test_each_translation_keeps_its_placeholders_and_markup(tmp_path):
    ar = catalogue("ar")
    for message in ar:
        if not message.id:
            continue
        # A plural's every form (six in Arabic) keeps the plural wording's placeholders.
        source = message.id[-1] if message.pluralizable else message.id
        forms = message.string if message.pluralizable else (message.string,)
        assert len(forms) == ar.num_plurals or not message.pluralizable, message.id
        placeholders = sorted(re.findall(r"%\(\w+\)[sdr]|%%", source))
        for form in forms:
            assert sorted(re.findall(r"%\(\w+\)[sdr]|%%", form)) == placeholders, message.id
            assert re.findall(r"</?\w+", source) == re.findall(r"</?\w+", form), message.id
    assert list(ar.check()) == []  # Babel's own checks (python-format)


def test_the_template_catalogue_is_what_make_messages_writes(tmp_path):
    """messages.pot is kept current, so a translator starts from the real list."""
    with (LOCALE / "messages.pot").open("rb") as f:
        kept = sorted((m.id for m in read_po(f) if m.id), key=repr)
    assert kept == sorted(extracted(tmp_path), key=repr)


# -- each user's language ---------------------------------------------------------------------

def arabic_user(office, name: str = "chen") -> httpx.Client:
    office.store.users.set_language(name, "ar")
    return sign_in(office.url, name)


def switch(client: httpx.Client, language: str, back: str = "/") -> httpx.Response:
    return client.post("/language", data={"csrf": page_csrf(client), "language": language,
                                          "back": back})


def test_an_arabic_users_every_page_is_arabic_right_to_left(newsroom):
    post = newsroom.add("Bridge opens #NewBridge https://example.mil/bridge")
    newsroom.store.users.set_language("amira", "ar")
    admin = sign_in(newsroom.url, "amira")
    review = admin.post("/import/review", data={
        "csrf": page_csrf(admin, "/import"), "text": "TITLE\n\nHEADING\nA paragraph of text.",
        "name": "sheet.txt", "account": "office-x", "schedule": "spaced", "at": "+1h",
        "every": "10m"})
    pages = {path: admin.get(path) for path in (
        "/", "/history", f"/posts/{post}", "/compose", "/import", "/calendar",
        "/calendar?view=month", "/approvals", "/users", "/status", "/api/docs",
        "/posts/999999")}
    assert review.status_code == 200, review.text
    pages["/import/review"] = review
    pages["/login"] = httpx.get(newsroom.url + "/login", headers={"Accept-Language": "ar"})
    headings = {}
    for path, response in pages.items():
        assert response.status_code in (200, 404), (path, response.status_code)
        assert ARABIC_PAGE in response.text, path
        heading = re.search(r"<h1>(.*?)</h1>", response.text, re.S).group(1)
        headings[path] = heading
        assert ARABIC_LETTER.search(heading), (path, heading)
        assert untranslated(response.text) == [], path
    assert "قائمة النشر" in headings["/"]
    assert "تعذّر تنفيذ ذلك" in headings["/posts/999999"]
    assert "تسجيل الدخول" in headings["/login"]
    # Post text is data: shown as written, isolated in its own direction.
    shown = pages[f"/posts/{post}"].text
    assert '<div class="post-text" dir="auto">Bridge opens #NewBridge' in shown


def test_the_same_pages_stay_english_for_an_english_user(newsroom):
    post = newsroom.add("جسر جديد #NewBridge")
    client = sign_in(newsroom.url, "amira")
    for path in ("/", "/history", f"/posts/{post}", "/compose", "/status", "/users"):
        page = client.get(path).text
        assert ENGLISH_PAGE in page, path
        assert not ARABIC_LETTER.search(re.search(r"<h1>(.*?)</h1>", page, re.S).group(1))
    # A refusal is its own English line, as before.
    assert re.search(r'<p class="error" role="alert">[^<]*999999[^<]*</p>',
                     client.get("/posts/999999").text)
    # Arabic post text on an English page is isolated too, and reads right to left.
    assert '<a href="/posts/1" dir="auto">جسر جديد #NewBridge</a>' in client.get("/").text


def test_the_header_switch_changes_the_language_and_every_later_session_keeps_it(newsroom):
    client = sign_in(newsroom.url, "chen")
    assert ENGLISH_PAGE in client.get("/history").text
    assert 'action="/language"' in client.get("/history").text

    answer = switch(client, "ar", back="/history?status=queued")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/history?status=queued"
    assert ARABIC_PAGE in client.get("/history").text
    # Kept on the user: another browser, signing in afresh, gets Arabic too.
    assert newsroom.store.users.get_user("chen").language == "ar"
    assert ARABIC_PAGE in sign_in(newsroom.url, "chen").get("/").text
    # And somebody else is not affected.
    assert ENGLISH_PAGE in sign_in(newsroom.url, "bashir").get("/").text

    switch(client, "en")
    assert ENGLISH_PAGE in client.get("/").text
    assert newsroom.store.users.get_user("chen").language == "en"


def test_the_switch_needs_the_session_csrf_token_and_a_known_language(newsroom):
    client = sign_in(newsroom.url, "chen")
    forged = client.post("/language", data={"csrf": "forged", "language": "ar"})
    assert forged.status_code == 403
    assert newsroom.store.users.get_user("chen").language == "en"
    unknown = switch(client, "xx")
    assert unknown.status_code == 400
    assert "no interface language &#39;xx&#39;" in unknown.text
    assert newsroom.store.users.get_user("chen").language == "en"
    # Only a page of this site to come back to.
    assert switch(client, "ar", back="//evil.example/").headers["location"] == "/"


@pytest.mark.parametrize(("accept", "cookie", "expected"), [
    ("ar", None, "ar"),
    ("ar-IQ,ar;q=0.9,en;q=0.8", None, "ar"),
    ("fr-FR, ar;q=0.5, en;q=0.4", None, "ar"),
    ("en-GB,en;q=0.9,ar;q=0.8", None, "en"),
    ("de, fr", None, "en"),
    ("ar;q=0, en", None, "en"),
    ("en", "ar", "ar"),
    ("ar", "en", "en"),
    (None, None, "en"),
])
def test_the_sign_in_page_follows_the_cookie_else_accept_language(newsroom, accept, cookie,
                                                                  expected):
    headers = {"Accept-Language": accept} if accept else {}
    cookies = {"factpost_language": cookie} if cookie else {}
    page = httpx.get(newsroom.url + "/login", headers=headers, cookies=cookies).text
    assert f'<html lang="{expected}" dir="{"rtl" if expected == "ar" else "ltr"}">' in page
    assert ("تسجيل الدخول" in page) == (expected == "ar")


def test_signing_out_leaves_the_sign_in_page_in_the_users_language(newsroom):
    newsroom.store.users.set_language("chen", "ar")
    client = sign_in(newsroom.url, "chen")
    client.headers["Accept-Language"] = "en"
    out = client.post("/logout", data={"csrf": page_csrf(client)})
    assert out.status_code == 303
    login = client.get("/login")
    assert ARABIC_PAGE in login.text
    assert "سُجِّل الخروج" in login.text  # the notice, in the language it was given in
    # A failed sign-in on that page answers in Arabic too.
    wrong = client.post("/login", data={"name": "chen", "password": "wrong" + PASSWORD,
                                        "csrf": login_csrf(client), "next": "/"})
    assert "الاسم أو كلمة المرور غير صحيحين" in wrong.text


def test_notices_and_refusals_built_in_python_are_arabic(newsroom):
    client = arabic_user(newsroom, "chen")
    done = client.post("/compose", data={"csrf": page_csrf(client), "account": "office-x",
                                         "text": "نص تجريبي", "when": "at",
                                         "at": "+1h"})
    assert done.status_code == 303
    assert re.search(r"office-x: منشور مسودة، في", client.get(done.headers["location"]).text)
    refused = client.post("/bulk", data={"csrf": page_csrf(client), "action": "cancel",
                                         "back": "/"})
    assert "لم يُحدَّد شيء: علّم أولًا المنشورات المراد إلغاؤها." in client.get("/").text
    assert refused.status_code == 303
    # A refusal from the core says its kind in Arabic, its own English line beside it.
    missing = client.get("/posts/999999")
    assert missing.status_code == 404
    assert re.search(r'<p class="error" role="alert">لا يوجد منشور كهذا: الرابط خاطئ أو الرقم '
                     r"مكتوب خطأً. <bdi>[^<]*999999[^<]*</bdi></p>", missing.text)
    forbidden = client.get("/users")
    assert forbidden.status_code == 403
    assert "غير مسموح" in forbidden.text
    assert "يتطلب هذا دور «مسؤول»" in forbidden.text


def test_times_and_numbers_stay_left_to_right_inside_an_arabic_page(newsroom):
    post = newsroom.add("نص")
    client = arabic_user(newsroom, "amira")
    page = client.get(f"/posts/{post}").text
    assert re.search(r'<dd>\u2066\d{4}-\d{2}-\d{2} \d{2}:\d{2}', page)
    queue = client.get("/").text
    assert re.search(r'<td class="when" data-label="الموعد">\u2066\d{4}-\d{2}-\d{2} '
                     r"\d{2}:\d{2}", queue)
    # Inside a sentence too, and in a notice, which is plain text: a Unicode isolate.
    assert re.search(r"<dd>reviewer في \u2066\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\+03:00\u2069",
                     page)
    # A time typed into an Arabic page reads as typed: 2026-12-01 09:00, not mirrored.
    assert re.search(r'<input type="text" name="at"[^>]*dir="ltr"', page)


def test_every_offered_language_has_a_catalogue():
    assert SOURCE_LANGUAGE in LANGUAGES
    for code in LANGUAGES:
        if code != SOURCE_LANGUAGE:
            assert (LOCALE / code / "LC_MESSAGES" / "messages.po").is_file(), code


# -- what the core says, said from the catalogue ----------------------------------------------

@pytest.fixture
def capped_newsroom(make_office, serve):
    """The newsroom with a $0.05 monthly X cap, which the four X posts of the Arabic sample
    sheet ($0.06) go over."""
    office = make_office(extra=REVIEW + "[x]\nmonthly_spend_usd = 0.05\n")
    add_users(office.store, amira="admin", bashir="approver", chen="author")
    office.url = serve(office.config, office.store)
    return office


def upload(client: httpx.Client, name: str, data: bytes, account: str = "office-x",
           **fields: str):
    return client.post("/import/review", data={
        "csrf": page_csrf(client, "/import"), "account": account, "schedule": "spaced",
        "at": "+1h", "every": "10m", **fields}, files={"file": (name, data)})


def shown(page: httpx.Response, css_class: str) -> list[str]:
    """The text of each element of `css_class` (its lines, for a list), as a reader sees it."""
    found = re.findall(rf'<(?:p|ul) class="{css_class}"[^>]*>(.*?)</(?:p|ul)>', page.text, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", " ", f)).strip() for f in found]


def test_an_arabic_importer_reads_the_notes_cost_and_warnings_of_the_review_in_arabic(
        capped_newsroom):
    arabic_sheet = (Path(__file__).resolve().parent.parent / "posts" / "samples" /
                    "factsheet_ar.txt").read_bytes()
    page = upload(arabic_user(capped_newsroom, "chen"), "factsheet_ar.txt", arabic_sheet)
    assert page.status_code == 200, page.text
    text = " ".join(html.unescape(page.text).split())
    # The document is Arabic, the account English: the warning names both languages in Arabic.
    assert ("تحقّق من اللغة: المستند مكتوب بـالعربية، لكن الحساب 'office-x' ينشر "
            'بـالإنجليزية (language = "en" في الإعدادات)') in text
    # The cost, in Arabic words with Babel's Arabic currency pattern (Western digits).
    [cost] = re.findall(r'<p class="cost">.*?<strong>(.*?)</strong>', page.text, re.S)
    assert html.unescape(cost) == "4 منشورات: \u200f0.0600\xa0US$"
    # Going over the month's cap, with every amount in the same pattern.
    [cap] = [w for w in shown(page, "error") if "السقف الشهري" in w]
    assert cap.startswith("السقف الشهري لـX: إضافة هذه المنشورات إلى قائمة النشر (\u200f")
    assert "$" not in cap.replace("US$", "")
    # What the sheet leaves out of the posts (its contact lines), one Arabic note each.
    [notes] = shown(page, "notes")
    assert "لن يُنشر، فقد عُدّ من بيانات الاتصال:" in notes
    assert "not posted" not in notes
    assert untranslated(page.text) == []


def test_an_english_importer_reads_the_same_english_lines_as_the_command_line(capped_newsroom):
    arabic_sheet = (Path(__file__).resolve().parent.parent / "posts" / "samples" /
                    "factsheet_ar.txt").read_bytes()
    page = upload(sign_in(capped_newsroom.url, "chen"), "factsheet_ar.txt", arabic_sheet)
    assert page.status_code == 200, page.text
    text = " ".join(html.unescape(page.text).split())
    assert ("Check the language: the document reads as Arabic, but account 'office-x' posts "
            'in English (language = "en" in the config)') in text
    [cost] = re.findall(r'<p class="cost">.*?<strong>(.*?)</strong>', page.text, re.S)
    assert cost == "4 posts: $0.0600"
    [cap] = [w for w in shown(page, "error") if "monthly cap" in w]
    assert cap.startswith("X monthly cap: queueing these posts ($0.0600) takes office-x to "
                          "$0.0600 this month, $0.0100 over the $0.0500 cap")
    [notes] = shown(page, "notes")
    assert "not posted, taken for contact details:" in notes


@pytest.mark.parametrize(("name", "data", "arabic", "english"), [
    ("meridian.docx", b"not a zip at all",
     "meridian.docx: اسمه ينتهي بـ\u200e.docx\u200e لكنه ليس مستند Word (ليس أرشيف ZIP)",
     "meridian.docx: named .docx but is not a Word document (not a ZIP archive); save it "
     "again as .docx from Word"),
    ("empty.txt", b"", "empty.txt: الملف فارغ؛ تحقّق من أنك اخترت الملف الصحيح",
     "empty.txt: the file is empty; check that you picked the right file"),
    ("scan.txt", b"\x89PNG\r\n\x1a\n" + bytes(40),
     "scan.txt: هذا صورة PNG، لا نص عادي؛ صدّر صحيفة الوقائع نصًّا عاديًّا",
     "scan.txt: this is a PNG image, not plain text; export the fact sheet as plain text"),
    ("deep.html", b"<html><body>" + b"<div>" * 1000 + b"text" + b"</div>" * 1000,
     "deep.html: فيه عناصر متداخلة أعمق من 100 مستوى، وهو الحد الأقصى لصحيفة وقائع؛ احفظه "
     "مرة أخرى من محرره، أو نصًّا عاديًّا",
     "deep.html: it has elements nested more than 100 levels deep, the limit for a fact "
     "sheet; save it again from its editor, or as plain text"),
], ids=["docx-not-word", "empty", "png-named-txt", "nested-too-deep"])
def test_a_bad_upload_is_refused_in_the_readers_language(newsroom, name, data, arabic,
                                                          english):
    refused = upload(arabic_user(newsroom, "chen"), name, data)
    assert refused.status_code == 400
    [error] = shown(refused, "error")
    assert error.startswith(arabic), error
    assert ARABIC_PAGE in refused.text
    in_english = upload(sign_in(newsroom.url, "bashir"), name, data)
    assert shown(in_english, "error")[0].startswith(english)
    assert newsroom.store.history.search() == []


def test_the_request_gate_refuses_in_the_browsers_language(newsroom):
    big = b"x" * 2_000_000
    arabic = httpx.post(newsroom.url + "/bulk", content=big,
                        headers={"Cookie": "factpost_language=ar"})
    assert arabic.status_code == 413
    assert arabic.text.startswith("الطلب أكبر من 1 MB، وهو ما يقبله هذا الخادم هنا")
    by_header = httpx.post(newsroom.url + "/bulk", content=big,
                           headers={"Accept-Language": "ar, en;q=0.5"})
    assert by_header.text == arabic.text
    english = httpx.post(newsroom.url + "/bulk", content=big)
    assert english.text.startswith("the request is larger than the 1 MB this server accepts "
                                   "here ([web] max_body_kb)")
    headers = {f"x-filler-{n}": "y" * 1000 for n in range(40)}
    crowded = httpx.get(newsroom.url + "/login", headers={**headers, "Accept-Language": "ar"})
    assert crowded.status_code == 431
    assert crowded.text.startswith("ترويسات الطلب أكبر من")


def test_the_status_page_warns_of_the_spend_cap_in_the_readers_language(capped_newsroom):
    from scheduler.dispatch import Dispatcher

    for n in range(3):
        capped_newsroom.add(f"Spend counted, post {n}.")
    Dispatcher(capped_newsroom.store, capped_newsroom.config, capped_newsroom.publishers(),
               worker="test-worker").tick(datetime.now(UTC))
    arabic = arabic_user(capped_newsroom, "amira").get("/status")
    assert ("إنفاق office-x على X بلغ \u200f0.0450\xa0US$ من السقف الشهري البالغ "
            "\u200f0.0500\xa0US$ (90%)؛ عند بلوغ 100% تنتظر منشورات X الجديدة حتى نهاية "
            "الشهر") in shown(arabic, "error")
    english = sign_in(capped_newsroom.url, "chen").get("/status")
    assert ("X spend for office-x is $0.0450 of the $0.0500 monthly cap (90%); at 100% new X "
            "posts wait until the month ends") in shown(english, "error")


def test_the_api_reference_describes_its_parameters_in_the_readers_language(newsroom):
    arabic = html.unescape(arabic_user(newsroom, "chen").get("/api/docs").text)
    assert '<td data-label="الوصف" dir="auto">رقم المنشور.</td>' in arabic
    assert "A post's id." not in arabic and ">path<" not in arabic
    english = html.unescape(sign_in(newsroom.url, "bashir").get("/api/docs").text)
    assert '<td data-label="About" dir="auto">A post\'s id.</td>' in english
    # The schema stays English: it is read by programs and their authors.
    schema = sign_in(newsroom.url, "amira").get("/api/openapi.json").json()
    assert "A post's id." in str(schema)


# -- the readers' own notes, the image notes, the contact-line reasons, the import limits -----

HARBOUR_MD = b"""# Harbour report

## The patrol

The patrol finished its route. See [the map](maps/route.html) and [call us](javascript:void(0)).

![Route map](maps/route.png)

Phone: the support line now answers around the clock, every day of the week.
"""
TRACKED_DOCX = (Path(__file__).resolve().parent / "corpus" / "03-docx-tracked-changes" /
                "factsheet.docx").read_bytes()


def test_an_arabic_importer_reads_the_readers_image_and_contact_notes_in_arabic(newsroom):
    client = arabic_user(newsroom, "chen")
    page = upload(client, "harbour.md", HARBOUR_MD, images="on")
    assert page.status_code == 200, page.text
    notes, image_notes = shown(page, "notes")
    # The dropped links, each kind in Arabic; the addresses stay as written.
    assert ("harbour.md: 1 من الروابط بعنوان نسبي (maps/route.html) أُبقيت نصًّا دون عناوينها؛ "
            "أعطِ --base-url https://your-site") in notes
    assert "1 من الروابط بعنوان لا يستطيع قارئ المنشور أن يفتحه (javascript:)" in notes
    # Why a line that opens like a contact line stayed post text.
    assert ("يبدأ كسطر اتصال ('Phone') لكن ليس فيه بيانات اتصال") in notes
    # The image, its label and why it was left out.
    assert image_notes.startswith("الصورة 1 (maps/route.png، القسم 'The patrol'): تُركت، فهي "
                                  "ملف بجانب المستند لم يُرفع معه")
    for english in ("link(s)", "kept as text", "starts like", "image 1", "skipped",
                    "not uploaded"):
        assert english not in notes + image_notes, english
    tracked = upload(client, "factsheet.docx", TRACKED_DOCX)
    assert ("factsheet.docx: فيه 3 من التغييرات المتعقَّبة لم تُقبل بعد؛ قُرئ كأنها مقبولة"
            in shown(tracked, "notes")[0])
    assert "tracked change" not in tracked.text


def test_an_english_importer_reads_those_notes_as_the_command_line_prints_them(newsroom):
    client = sign_in(newsroom.url, "chen")
    notes, image_notes = shown(upload(client, "harbour.md", HARBOUR_MD, images="on"),
                               "notes")
    assert ("harbour.md: 1 link(s) with a relative address (maps/route.html) kept as text "
            "without the address; give --base-url https://your-site (or a <base href> in the "
            "page) to keep the addresses in the posts; 1 link(s) with an address a reader of "
            "the post cannot follow (javascript:) kept as text without the address; link a web "
            "page (https://...), an e-mail address or a phone number instead") in notes
    assert ("kept as post text: \"Phone: the support line now answers around the clock, every "
            "day of the week.\" starts like a contact line ('Phone') but holds no contact "
            "details") in notes
    assert image_notes == ("image 1 (maps/route.png, section 'The patrol'): skipped, a file "
                           "next to the document, which was not uploaded with it; use a DOCX "
                           "or PDF with the picture inside, or import from the command line")
    [tracked] = shown(upload(client, "factsheet.docx", TRACKED_DOCX), "notes")
    assert tracked.startswith("factsheet.docx: holds 3 tracked change(s) not yet accepted; "
                              "read as if they were accepted (insertions kept, deletions left "
                              "out). Accept or reject them in Word to be sure the posts say "
                              "what you mean")


@pytest.fixture
def tight_newsroom(make_office, serve):
    """The newsroom with an office's own import caps lowered: 2 sections, 1 post, 0.25 MB
    of text."""
    office = make_office(extra=REVIEW + "[import]\nmax_sections = 2\nmax_posts = 1\n"
                         "max_text_mb = 0.25\n")
    add_users(office.store, amira="admin", bashir="approver", chen="author")
    office.url = serve(office.config, office.store)
    return office


def sections(count: int, filler: str = "") -> bytes:
    body = "".join(f"PART {n}\n\nThe patrol finished leg {n} of its route on time.{filler}\n\n"
                   for n in range(1, count + 1))
    return f"Harbour report\n\n{body}".encode()


@pytest.mark.parametrize(("data", "arabic", "english"), [
    (sections(1, " More." * 50_000),
     "big.txt: حجمه 0.3 ميغابايت، وهو أكبر مما تحتمله صحيفة وقائع بصيغة نص عادي (0.25 "
     "ميغابايت)؛ قسّم المستند، أو ارفع [import] max_text_mb في الإعدادات",
     "big.txt: 0.3 MB is more than a plain text fact sheet may be (0.25 MB); split the "
     "document, or raise [import] max_text_mb in the config"),
    (sections(3),
     "big.txt: فيه 3 من الأقسام، وهذا أكثر من 2، وهو أقصى ما يحتمله مستند واحد؛ قسّمه إلى "
     "عدة مستندات، أو ارفع [import] max_sections في الإعدادات",
     "big.txt: it has 3 sections, over the 2 one document may have; split it into several "
     "documents, or raise [import] max_sections in the config"),
    (sections(2),
     "سيضيف هذا الاستيراد إلى قائمة النشر 2 من المنشورات أو أكثر، وهذا أكثر من 1، وهو أقصى "
     "ما يضيفه استيراد واحد؛ استورده لعدد أقل من الحسابات أو قسّم المستند، أو ارفع [import] "
     "max_posts في الإعدادات",
     "this import would queue 2 posts or more, over the 1 one import may queue; import it "
     "for fewer accounts or split the document, or raise [import] max_posts in the config"),
], ids=["text-size", "sections", "posts"])
def test_an_upload_over_the_offices_import_limits_is_refused_in_the_readers_language(
        tight_newsroom, data, arabic, english):
    refused = upload(arabic_user(tight_newsroom, "chen"), "big.txt", data)
    assert refused.status_code == 400, refused.text
    assert shown(refused, "error")[0] == arabic
    in_english = upload(sign_in(tight_newsroom.url, "bashir"), "big.txt", data)
    assert shown(in_english, "error")[0] == english
    assert tight_newsroom.store.history.search() == []

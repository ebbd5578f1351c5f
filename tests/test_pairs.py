"""English/Arabic pairs: imported as linked posts for an English and an Arabic account,
approved together, and published both or neither, over loopback HTTP to the emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Office, approve

from posts.pairs import PairingError, pair_keys
from posts.states import Actor, PostStatus
from scheduler.cli import cli
from scheduler.pairing import import_pair
from scheduler.reading import DocumentImportError

S = PostStatus
SAMPLES = Path(__file__).resolve().parent.parent / "posts" / "samples"

ENGLISH = """\
Joint Task Force Meridian

OUR MISSION
The task force keeps the sea lanes of the Meridian Strait open to lawful traffic.

OPERATIONS
Patrols run around the clock. The nearest ship answers within 30 minutes on average.
"""

ARABIC = """\
قوة المهام المشتركة ميريديان

مهمتنا
تحافظ القوة على بقاء الممرات البحرية في مضيق ميريديان مفتوحة أمام الملاحة المشروعة.

عملياتنا
تعمل الدوريات على مدار الساعة. تستجيب أقرب سفينة خلال 30 دقيقة في المتوسط.
"""

CONFIG = """
[database]
url = "sqlite:///factpost.db"
[schedule]
timezone = "Asia/Baghdad"
max_attempts = 2
retry_base_seconds = 0.02
retry_max_seconds = 0.05
[review]
require_approval = {approval}
[[accounts]]
name = "en-x"
platform = "x"
handle = "OfficeX"
api_url = "{url}"
timeout_seconds = 5
[[accounts]]
name = "ar-x"
platform = "x"
handle = "OfficeXar"
language = "ar"
api_url = "{url}"
timeout_seconds = 5
[[accounts]]
name = "en-fb"
platform = "facebook"
handle = "OfficeFB"
api_url = "{url}"
timeout_seconds = 5
[[accounts]]
name = "ar-fb"
platform = "facebook"
handle = "OfficeFBar"
language = "ar"
api_url = "{url}"
timeout_seconds = 5
"""


@pytest.fixture
def make_bilingual(make_office, emulator):
    def make(approval: bool = False) -> Office:
        return make_office(config_text=CONFIG.format(url=emulator.url,
                                                     approval=str(approval).lower()))

    return make


@pytest.fixture
def sheets(tmp_path) -> tuple[Path, Path]:
    en, ar = tmp_path / "en.txt", tmp_path / "ar.txt"
    en.write_text(ENGLISH, encoding="utf-8")
    ar.write_text(ARABIC, encoding="utf-8")
    return en, ar


def import_both(office: Office, sheets, at: datetime | None = None,
                now: datetime | None = None):
    now = now or datetime.now(UTC)
    return import_pair(sheets[0], sheets[1], store=office.store, config=office.config,
                       accounts=office.config.accounts, actor=Actor("tester", "admin"), now=now,
                       at=at or now - timedelta(seconds=1), every=timedelta(0))


def posts_by_account(office: Office) -> dict[str, list]:
    out: dict[str, list] = {}
    for post in sorted(office.store.history.search(), key=lambda p: p.id):
        out.setdefault(post.account, []).append(post)
    return out


def published(office: Office) -> dict[str, list[str]]:
    em = office.emulator
    return {"en-x": [t["text"] for t in em.tweets("OfficeX")],
            "ar-x": [t["text"] for t in em.tweets("OfficeXar")],
            "en-fb": [p["message"] for p in em.page_posts("OfficeFB")],
            "ar-fb": [p["message"] for p in em.page_posts("OfficeFBar")]}


# The pairing rule ---------------------------------------------------------------------------

def test_snippets_pair_by_index_when_the_counts_match_else_the_sections_pair_as_a_unit():
    en, ar = pair_keys([1, 3, 2], [1, 3, 4])
    assert en == [[(0, 0)], [(1, 0), (1, 1), (1, 2)], [(2, 0), None]]
    assert ar == [[(0, 0)], [(1, 0), (1, 1), (1, 2)], [(2, 0), None, None, None]]


def test_sheets_with_different_sections_cannot_be_paired():
    with pytest.raises(PairingError):
        pair_keys([1, 1], [1])


# Importing ----------------------------------------------------------------------------------

def test_a_pair_import_links_each_english_post_to_its_arabic_partner(make_bilingual, sheets):
    office = make_bilingual()
    report = import_both(office, sheets)
    posts = posts_by_account(office)
    assert report.created == sum(len(p) for p in posts.values())
    by_id = {p.id: p for group in posts.values() for p in group}
    for english, arabic in (("en-x", "ar-x"), ("en-fb", "ar-fb")):
        heads = [p for p in posts[english] if p.thread_position == 1]
        assert heads and all(p.pair_id for p in heads)
        for post in heads:
            partner = by_id[post.pair_id]
            assert partner.account == arabic and partner.pair_id == post.id
            assert partner.scheduled_at == post.scheduled_at
            assert post.id < partner.id  # the English post leads
    # Each side carries its own language's text.
    assert "sea lanes" in posts["en-fb"][0].text and "مضيق" in posts["ar-fb"][0].text


def test_the_sample_sheets_differ_in_sections_so_the_import_says_so(make_bilingual):
    office = make_bilingual()
    with pytest.raises(DocumentImportError, match="sections are paired by position"):
        import_both(office, (SAMPLES / "factsheet.txt", SAMPLES / "factsheet_ar.txt"))
    assert office.store.history.search() == []


def test_a_pair_import_needs_an_arabic_account_per_platform(make_bilingual, sheets):
    office = make_bilingual()
    now = datetime.now(UTC)
    with pytest.raises(DocumentImportError, match="one English and one Arabic x account"):
        import_pair(sheets[0], sheets[1], store=office.store, config=office.config,
                    accounts=[office.config.account("en-x")], actor=Actor("t", "admin"),
                    now=now, at=now)


def test_reimporting_a_pair_adds_nothing(make_bilingual, sheets):
    office = make_bilingual()
    import_both(office, sheets)
    assert import_both(office, sheets).created == 0


def test_the_arabic_side_is_split_as_arabic_even_where_its_addresses_outnumber_its_letters(
        make_office, emulator, tmp_path):
    # Three long addresses hold more letters than the Arabic around them, so the section, read
    # alone, would pass for English: the Arabic account's thread must still name its moved
    # links in Arabic.
    config = CONFIG.format(url=emulator.url, approval="false").replace(
        'handle = "OfficeXar"\n', 'handle = "OfficeXar"\nlinks = "first-part"\n')
    office = make_office(config_text=config)
    site = "https://www.jtf-meridian.mil"
    links = (f"{site}/reports/monthly-patrol-summary-for-november-twenty-twenty-six",
             f"{site}/statements/commander-statement-on-the-strait-crossings-in-full",
             f"{site}/registration/open-day-visitor-registration-form-and-directions")
    en, ar = tmp_path / "en.txt", tmp_path / "ar.txt"
    en.write_text("Joint Task Force Meridian\n\nREPORTS\nThe monthly patrol report is at "
                  f"{links[0]}.\n", encoding="utf-8")
    ar.write_text(
        "قوة المهام المشتركة ميريديان\n\nالتقارير\n"
        f"تنشر القوة تقريرها الشهري عن الدوريات على الموقع {links[0]} للجميع. رافقت الدوريات "
        "السفن التجارية عبر المضيق دون أي حادث.\n\n"
        f"البيان الكامل للقائد على {links[1]} هنا. تعمل الدوريات على مدار الساعة في المضيق.\n\n"
        f"للتسجيل في اليوم المفتوح: {links[2]} قبل نهاية الشهر.\n", encoding="utf-8")
    import_both(office, (en, ar))
    thread = posts_by_account(office)["ar-x"]
    assert thread[0].text.startswith("التقارير\n" + " ".join(links) + "\n\n")
    assert [p.text.count("الرابط أعلاه") for p in thread] == [2, 1]
    assert not any("the link above" in p.text for p in thread)


# Approval -----------------------------------------------------------------------------------

def test_approving_one_side_approves_its_partner(make_bilingual, sheets):
    office = make_bilingual(approval=True)
    import_both(office, sheets)
    en = posts_by_account(office)["en-fb"][0]
    approved = approve(office.store, [en.id], actor=Actor("editor", "admin"),
                                          now=datetime.now(UTC))
    assert [p.id for p in approved] == [en.id, en.pair_id]
    assert office.store.history.get(en.pair_id).status == S.QUEUED


def test_editing_one_side_returns_both_to_draft(make_bilingual, sheets):
    office = make_bilingual(approval=True)
    import_both(office, sheets)
    en = posts_by_account(office)["en-fb"][0]
    now = datetime.now(UTC)
    approve(office.store, [en.id], actor=Actor("editor", "admin"), now=now)
    office.store.posts.edit(en.pair_id, actor=Actor("editor", "admin"), now=now,
                            text="نص معدل.")
    assert office.store.history.get(en.id).status == S.DRAFT
    assert office.store.history.get(en.pair_id).status == S.DRAFT


# Both or neither ------------------------------------------------------------------------------

def test_both_sides_of_every_pair_are_published(make_bilingual, sheets):
    office = make_bilingual()
    import_both(office, sheets)
    dispatcher = office.dispatcher()
    for _ in range(4):  # the Arabic side follows its English partner
        dispatcher.tick(datetime.now(UTC))
    posts = posts_by_account(office)
    assert all(p.status == S.PUBLISHED for group in posts.values() for p in group)
    assert published(office) == {account: [p.text for p in group]
                                 for account, group in posts.items()}
    assert len(posts["en-fb"]) == len(posts["ar-fb"]) == 2


def test_neither_side_goes_while_one_account_is_paused(make_bilingual, sheets):
    office = make_bilingual()
    import_both(office, sheets)
    now = datetime.now(UTC)
    office.store.accounts.pause("ar-fb", actor=Actor("staff", "admin"),
                                reason="page under review", now=now)
    dispatcher = office.dispatcher()
    for _ in range(3):
        dispatcher.tick(datetime.now(UTC))
    texts = published(office)
    assert texts["en-fb"] == [] and texts["ar-fb"] == []
    assert texts["en-x"] and texts["ar-x"]  # the X pair is not affected
    assert dispatcher.next_wakeup(datetime.now(UTC)) is None  # nothing to wake up for
    office.store.accounts.resume("ar-fb", actor=Actor("staff", "admin"), now=datetime.now(UTC))
    for _ in range(4):
        dispatcher.tick(datetime.now(UTC))
    texts = published(office)
    assert len(texts["en-fb"]) == len(texts["ar-fb"]) == 2


def test_neither_side_goes_while_the_partner_is_not_yet_due(make_bilingual, sheets):
    office = make_bilingual()
    import_both(office, sheets)
    later = datetime.now(UTC) + timedelta(hours=1)
    arabic = posts_by_account(office)["ar-fb"][0]
    office.store.posts.edit(arabic.id, actor=Actor("staff", "admin"), now=datetime.now(UTC),
                            scheduled_at=later)
    dispatcher = office.dispatcher()
    for _ in range(3):
        dispatcher.tick(datetime.now(UTC))
    assert office.store.history.get(arabic.pair_id).status == S.QUEUED
    # The other pair on the pages went out; this one waits, its English side too.
    posts = posts_by_account(office)
    assert published(office)["en-fb"] == [posts["en-fb"][1].text]
    assert published(office)["ar-fb"] == [posts["ar-fb"][1].text]
    for _ in range(3):
        dispatcher.tick(later + timedelta(seconds=1))
    assert office.store.history.get(arabic.id).status == S.PUBLISHED
    assert office.store.history.get(arabic.pair_id).status == S.PUBLISHED


def test_when_the_leading_side_fails_for_good_the_partner_is_never_sent(make_bilingual,
                                                                         sheets):
    office = make_bilingual()
    import_both(office, sheets)
    office.emulator.set_graph_block("OfficeFB")  # the English page: every post refused
    dispatcher = office.dispatcher()
    for _ in range(3):
        dispatcher.tick(datetime.now(UTC))
    # (A blocked page also reports its usage as exhausted, so the page is held after the first.)
    en, ar = posts_by_account(office)["en-fb"][0], posts_by_account(office)["ar-fb"][0]
    assert (en.status, ar.status) == (S.FAILED, S.FAILED)
    assert ar.last_error == f"not sent: its pair partner, post {en.id}, was not published"
    assert office.store.history.get(ar.id).attempts == []
    assert published(office)["ar-fb"] == []


def test_when_the_second_side_fails_after_the_first_went_out_it_needs_review(make_bilingual,
                                                                             sheets):
    office = make_bilingual()
    import_both(office, sheets)
    office.emulator.set_graph_block("OfficeFBar")  # the Arabic page refuses
    dispatcher = office.dispatcher()
    for _ in range(4):
        dispatcher.tick(datetime.now(UTC))
    posts = posts_by_account(office)
    first_en, first_ar = posts["en-fb"][0], posts["ar-fb"][0]
    assert first_en.status == S.PUBLISHED
    assert first_ar.status == S.NEEDS_REVIEW
    assert f"post {first_en.id}" in first_ar.last_error and "incomplete" in first_ar.last_error
    assert published(office)["ar-fb"] == []


def test_retrying_a_failed_leader_queues_its_partner_again(make_bilingual, sheets):
    office = make_bilingual()
    # One clock for the whole story: a loaded machine must not stretch the gaps between the
    # import, the failure, the retry and the ticks that follow.
    now = datetime.now(UTC)
    import_both(office, sheets, now=now)
    office.emulator.set_graph_block("OfficeFB")
    dispatcher = office.dispatcher()
    dispatcher.tick(now)
    office.emulator.set_graph_block("OfficeFB", blocked=False)
    leader = posts_by_account(office)["en-fb"][0]
    office.store.posts.retry(leader.id, actor=Actor("staff", "admin"),
                             now=now + timedelta(seconds=1))
    assert office.store.history.get(leader.pair_id).status == S.QUEUED
    after_hold = now + timedelta(hours=1, seconds=2)  # the blocked page was also held
    # An hour late, the page's other post goes first and the retried pair keeps its planned
    # second or so after it (overdue posts keep their spacing), so the clock moves on a bit.
    for n in range(3):
        dispatcher.tick(after_hold + n * timedelta(seconds=5))
    assert office.store.history.get(leader.id).status == S.PUBLISHED
    assert office.store.history.get(leader.pair_id).status == S.PUBLISHED


# The command line ---------------------------------------------------------------------------

def test_import_pair_from_the_command_line(make_bilingual, sheets, monkeypatch):
    office = make_bilingual()
    monkeypatch.chdir(office.config_path.parent)
    result = CliRunner().invoke(cli, ["--config", str(office.config_path), "import",
                                      str(sheets[0]), "--pair", str(sheets[1]), "--at", "now"])
    assert result.exit_code == 0, result.output
    assert {p.account for p in office.store.history.search()} == {"en-x", "ar-x", "en-fb", "ar-fb"}


def test_one_file_holding_both_versions_is_paired(make_bilingual, tmp_path, monkeypatch):
    office = make_bilingual()
    both = tmp_path / "both.txt"
    both.write_text(ENGLISH + "\n" + ARABIC.split("\n", 2)[2], encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(office.config_path), "import",
                                      str(both), "--bilingual", "--at", "now",
                                      "--account", "en-fb", "--account", "ar-fb"])
    assert result.exit_code == 0, result.output
    posts = posts_by_account(office)
    assert [p.pair_id for p in posts["en-fb"]] == [p.id for p in posts["ar-fb"]]


def test_a_pair_that_cannot_be_matched_is_one_line_and_stores_nothing(make_bilingual,
                                                                      monkeypatch):
    office = make_bilingual()
    result = CliRunner().invoke(cli, ["--config", str(office.config_path), "import",
                                      str(SAMPLES / "factsheet.txt"), "--pair",
                                      str(SAMPLES / "factsheet_ar.txt"), "--at", "now"])
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith("factpost: error: ") and "sections" in line
    assert office.store.history.search() == []


def test_the_store_lets_the_leader_go_first_and_the_partner_only_after_it(store):
    from db.store import PlannedPost

    now = datetime.now(UTC)
    lease = timedelta(minutes=2)
    planned = [PlannedPost(account=name, platform="facebook", text=text, scheduled_at=now,
                           section_index=0, pair_key="facebook:0:0")
               for name, text in (("en-fb", "English."), ("ar-fb", "عربي."))]
    store.documents.add(source_name="pair", content_hash="p", title=None,
                        sections=[("H", "b")], posts=planned, actor=Actor("t", "admin"), now=now,
                        status=S.QUEUED)
    assert store.queue.claim_next("ar-fb", worker="w", now=now, lease=lease) is None
    leader = store.queue.claim_next("en-fb", worker="w", now=now, lease=lease)
    assert leader is not None and leader.text == "English."
    assert store.queue.claim_next("ar-fb", worker="w", now=now, lease=lease) is None
    store.outcomes.published(leader.id, worker="w", remote_id="1_2", remote_url="u", now=now)
    follower = store.queue.claim_next("ar-fb", worker="w", now=now, lease=lease)
    assert follower is not None and follower.pair_id == leader.id

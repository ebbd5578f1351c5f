"""Reading plain-text fact sheets: title, headed sections, bullets, contact footer."""

from __future__ import annotations

from importlib import resources

import pytest
from determinism import across_hash_seeds

from posts.factsheet import (
    Block,
    ContactAccount,
    Contacts,
    FactSheet,
    Section,
    blocks,
    parse_factsheet,
)


def sample(name: str) -> str:
    return resources.files("posts").joinpath("samples", name).read_text("utf-8")


def kinds(text: str) -> list[tuple[str, str]]:
    return [(b.kind, b.text) for b in blocks(text)]


@pytest.fixture(scope="module")
def sheet() -> FactSheet:
    return parse_factsheet(sample("factsheet.txt"))


@pytest.fixture(scope="module")
def arabic() -> FactSheet:
    return parse_factsheet(sample("factsheet_ar.txt"))


# --- the shipped samples --------------------------------------------------------------------

def test_sample_title_and_headings(sheet):
    assert sheet.title == "Joint Task Force Meridian — Public Affairs Office"
    assert [s.heading for s in sheet.sections] == [
        "OUR MISSION", "OPERATIONS", "Key facts:", "Who we work with", "COMMUNITY ENGAGEMENT"]


def test_sample_contacts_include_the_x_and_facebook_accounts(sheet):
    assert sheet.contacts == Contacts(
        emails=("press@jtf-meridian.mil",),
        phones=("+1 (555) 010-4477",),
        urls=("www.jtf-meridian.mil",),
        accounts=(ContactAccount("x", "JTFMeridian"), ContactAccount("facebook", "JTFMeridian")),
    )


def test_no_contact_line_reaches_any_section(sheet):
    for section in sheet.sections:
        for fragment in ("press@", "010-4477", "twitter.com", "facebook.com", "Follow us",
                         "media inquiries", "Dana Whitfield"):
            assert fragment not in section.text


def test_hard_wrapped_paragraphs_are_joined_with_a_space(sheet):
    mission = sheet.sections[0]
    assert mission.paragraphs[0].startswith(
        "Joint Task Force Meridian keeps the sea lanes of the Meridian Strait open to lawful "
        "commercial traffic and supports")
    assert "\n" not in "".join(sheet.sections[1].paragraphs)
    assert "in line with Art. 51 of the U.N. Charter." in mission.text
    assert "brings together U.S. and partner forces" in mission.text


def test_sample_bullets_stay_one_per_line(sheet):
    [facts] = sheet.sections[2].paragraphs
    assert facts.split("\n") == [
        "- Headquarters: Port Halden",
        "- Personnel: about 1,250 from 6 nations",
        "- Ships: 9 patrol vessels and 2 mine-countermeasure ships",
        "- Aircraft: 4 maritime patrol aircraft",
    ]


def test_a_heading_directly_above_its_paragraph_is_found(sheet):
    partners = sheet.sections[3]
    assert partners.heading == "Who we work with"
    assert partners.text.startswith("The task force works with the Meridian Coast Guard")


def test_arabic_sample(arabic):
    assert arabic.title == "قوة المهام المشتركة ميريديان — مكتب الشؤون العامة"
    assert [s.heading for s in arabic.sections] == ["مهمتنا", "عملياتنا", "حقائق أساسية"]
    operations = arabic.sections[1].text
    assert "عبر المضيق؛ وتحمل" in operations and "على مدار الساعة؟ تستجيب" in operations
    assert arabic.sections[2].paragraphs[0].count("\n") == 2
    assert arabic.contacts.accounts == (
        ContactAccount("x", "JTFMeridian"), ContactAccount("facebook", "JTFMeridian"))
    assert arabic.contacts.emails == ("press@jtf-meridian.mil",)
    assert arabic.contacts.phones == ("+1 (555) 010-4477",)
    assert not any("press@" in s.text or "x.com" in s.text for s in arabic.sections)


def test_section_text_is_its_paragraphs_separated_by_blank_lines():
    assert Section("H", ("One.", "Two.")).text == "One.\n\nTwo."


# --- headings -------------------------------------------------------------------------------

def test_headings_all_caps_colon_and_short_lines():
    text = ("Title\n\nOUR MISSION\nWe keep the sea lanes open.\n\nKey facts:\n- one\n\n"
            "Who we work with\n\nPartners across the region.")
    assert kinds(text) == [
        ("title", "Title"), ("heading", "OUR MISSION"),
        ("paragraph", "We keep the sea lanes open."), ("heading", "Key facts:"),
        ("paragraph", "- one"), ("heading", "Who we work with"),
        ("paragraph", "Partners across the region."),
    ]


def test_a_hard_wrapped_paragraph_is_not_taken_for_a_heading():
    text = ("Title\n\nThe task force protects shipping lanes in the northern\n"
            "approaches of the strait and works with partners\nEvery day.")
    assert kinds(text)[1:] == [(
        "paragraph", "The task force protects shipping lanes in the northern approaches of the "
                     "strait and works with partners Every day.")]


def test_a_long_line_ending_with_a_colon_is_text():
    line = ("The task force has three priorities for the coming year, agreed with all of the "
            "host nations:")
    assert kinds(f"Title\n\n{line}\n- one\n- two")[1:] == [("paragraph", f"{line}\n- one\n- two")]


def test_a_short_last_line_is_a_paragraph_not_a_heading():
    assert kinds("Title\n\nOUR MISSION\n\nWe help.\n\nStay safe") == [
        ("title", "Title"), ("heading", "OUR MISSION"), ("paragraph", "We help."),
        ("paragraph", "Stay safe")]


def test_a_heading_with_no_paragraph_is_dropped():
    sheet = parse_factsheet("Title\n\nFIRST\n\nSECOND\n\nText under the second.")
    assert sheet.sections == (Section("SECOND", ("Text under the second.",)),)


def test_paragraphs_before_the_first_heading_form_a_section_without_heading():
    sheet = parse_factsheet("Title\n\nAn opening paragraph.\n\nOUR MISSION\n\nWe help.")
    assert sheet.sections == (Section(None, ("An opening paragraph.",)),
                              Section("OUR MISSION", ("We help.",)))


def test_arabic_headings_are_found_by_the_short_line_rule():
    text = ("مهمتنا\nتحافظ القوة على الممرات البحرية مفتوحة أمام حركة الملاحة التجارية.\n\n"
            "شركاؤنا\n\nنعمل مع خفر السواحل.")
    assert kinds(text) == [
        ("heading", "مهمتنا"),
        ("paragraph", "تحافظ القوة على الممرات البحرية مفتوحة أمام حركة الملاحة التجارية."),
        ("heading", "شركاؤنا"), ("paragraph", "نعمل مع خفر السواحل.")]


def test_mixed_english_and_arabic_sheet():
    text = ("JTF Meridian\n\nOUR MISSION (English)\nWe keep lanes open.\n\nمهمتنا\n"
            "نحافظ على الممرات مفتوحة.\n\nتابعونا: x.com/JTFMeridian")
    sheet = parse_factsheet(text)
    assert [(s.heading, s.text) for s in sheet.sections] == [
        ("OUR MISSION (English)", "We keep lanes open."), ("مهمتنا", "نحافظ على الممرات مفتوحة.")]
    assert sheet.contacts.accounts == (ContactAccount("x", "JTFMeridian"),)


# --- title, bullets, rules ------------------------------------------------------------------

def test_a_masthead_of_short_lines_is_the_title():
    sheet = parse_factsheet("Joint Task Force Meridian\nPublic Affairs Office\n\nOUR MISSION\n"
                            "We help.")
    assert sheet.title == "Joint Task Force Meridian\nPublic Affairs Office"


def test_a_sheet_that_starts_with_text_has_no_title():
    sheet = parse_factsheet("We keep the sea lanes open.\n\nOUR MISSION\nWe help.")
    assert sheet.title is None
    assert sheet.sections[0] == Section(None, ("We keep the sea lanes open.",))


@pytest.mark.parametrize("marker", ["-", "*", "•", "1.", "2)"])
def test_bullet_markers_and_continuation_lines(marker):
    text = (f"Title\n\nKey facts:\n{marker} first item that\n  wraps onto a second line\n"
            f"{marker} second")
    assert kinds(text)[2] == (
        "paragraph", f"{marker} first item that wraps onto a second line\n{marker} second")


def test_decorative_rules_and_invisible_lines_are_blank():
    text = "Title\n=====\n\n\u200f\nOUR MISSION\n* * *\nWe help."
    assert kinds(text) == [("title", "Title"), ("heading", "OUR MISSION"),
                           ("paragraph", "We help.")]


# --- contact lines --------------------------------------------------------------------------

def test_a_contact_footer_under_a_label_is_all_metadata():
    text = ("Title\n\nOUR MISSION\nWe help.\n\nMEDIA CONTACT\nMaj. Dana Whitfield\n"
            "Public Affairs Officer\nE-mail: press@jtf-meridian.mil\nTel. +964 750 123 4567\n\n"
            "Follow us on X: @JTFMeridian\nFacebook: facebook.com/JTFMeridian\n")
    sheet = parse_factsheet(text)
    assert sheet.sections == (Section("OUR MISSION", ("We help.",)),)
    assert sheet.contacts == Contacts(
        emails=("press@jtf-meridian.mil",), phones=("+964 750 123 4567",), urls=(),
        accounts=(ContactAccount("x", "JTFMeridian"), ContactAccount("facebook", "JTFMeridian")))


@pytest.mark.parametrize("line", [
    "Follow us", "Contact:", "For media inquiries, call the duty officer",
    "press@jtf-meridian.mil", "www.jtf-meridian.mil", "x.com/JTFMeridian",
    "Public Affairs Office: +1 (555) 010-4477", "للتواصل مع وسائل الإعلام",
    "الهاتف: +1 (555) 010-4477",
])
def test_contact_lines(line):
    assert blocks(f"Title\n\nOUR MISSION\nWe help.\n\n{line}")[-1] == Block("contact", line)


@pytest.mark.parametrize("line", [
    "Read the full report at www.jtf-meridian.mil before the meeting next week.",
    "Phone lines at the port were restored on Monday.",
    "Contact with the vessel was lost for two hours.",
    "Priorities 2025-2026",
    "For more information about the patrols, the annual report describes every route taken.",
])
def test_text_that_mentions_contact_details_is_not_a_contact_line(line):
    assert blocks(f"Title\n\n{line}\n\nMore text.")[1].kind != "contact"


def test_contact_accounts_from_urls_and_handles():
    sheet = parse_factsheet(
        "Title\n\nText.\n\nFollow us: https://twitter.com/JTFMeridian, "
        "https://www.facebook.com/JTFMeridian.Page/ and x.com/home\nX: @OtherHandle\n"
        "Web: https://www.jtf-meridian.mil/en")
    assert sheet.contacts.accounts == (
        ContactAccount("x", "JTFMeridian"), ContactAccount("facebook", "JTFMeridian.Page"),
        ContactAccount("x", "OtherHandle"))
    assert sheet.contacts.urls == ("x.com/home", "https://www.jtf-meridian.mil/en")


# --- canonical input, determinism -----------------------------------------------------------

def test_parsing_canonicalises_first():
    sheet = parse_factsheet("\ufeffTitle\r\n\r\nOUR MISSION\r\nWe help the cafe\u0301.\r")
    assert sheet.title == "Title"
    assert sheet.sections == (Section("OUR MISSION", ("We help the café.",)),)


def test_parsing_gives_the_same_sheets_in_processes_with_different_hash_seeds():
    script = ("from pathlib import Path\nfrom posts.factsheet import parse_factsheet\n"
              "for path in sorted(Path('posts/samples').glob('*.txt')):\n"
              "    print(path.name, repr(parse_factsheet(path.read_text('utf-8'))))\n")
    first, second = across_hash_seeds(script)
    assert first == second
    assert first.count("FactSheet(") == len(list(resources.files("posts").joinpath(
        "samples").iterdir())) >= 2


def test_nothing_but_contacts_gives_no_sections():
    assert parse_factsheet("Title\n\nFollow us: x.com/JTFMeridian").sections == ()


# --- a contact footer read as a whole; a label alone makes no contact line (cases 10, 11) -----

BODY = "Title\n\nOUR MISSION\nThe task force keeps the strait open to merchant shipping.\n\n"


@pytest.mark.parametrize("footer_line", [
    "DSN: 318-555-0142 or from overseas DSN: 00-49-555-0199, then ask for extension 77#",
    "Switchboard 0750 123 4567, then ask the operator for the duty press officer",
    "Tel. +964 750 123 4567 (24-hour duty desk; ask for the public affairs officer on call)",
    "Call the watch officer on +1 (555) 010-4477 at any hour, day or night, weekends too",
    "للاستفسار يرجى الاتصال بالرقم 4567 123 750 964+ ثم طلب مكتب الإعلام",
    "Write to pao.office@mail.example.mil with the subject line MEDIA and your deadline",
])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_every_line_of_a_contact_footer_is_a_contact_line_whatever_words_surround_it(
        footer_line, where):
    others = ["press@jtf-meridian.mil", "www.jtf-meridian.mil", "x.com/JTFMeridian"]
    lines = {"first": [footer_line, *others], "middle": [others[0], footer_line, *others[1:]],
             "last": [*others, footer_line]}[where]
    sheet = parse_factsheet(BODY + "\n".join(lines))
    assert all(footer_line not in s.text for s in sheet.sections)
    assert any(footer_line[:40] in n for n in sheet.notes)  # listed, never silently dropped


ARABIC_BODY = ("قوة المهام البحرية\n\nالدوريات\nتبقي قوة المهام المضيق مفتوحا أمام السفن "
               "التجارية طوال العام.\n\n")


@pytest.mark.parametrize("opening", [
    "للمزيد من المعلومات يرجى التواصل مع مكتب الشؤون العامة في قوة المهام",
    "لمزيد من المعلومات، يرجى التواصل مع المكتب الإعلامي:",
    "وللمزيد من التفاصيل يرجى الاتصال بمكتب الإعلام",
    "يرجى التواصل مع الناطق باسم قوة المهام",
    "معلومات الاتصال",
    "وللمزيد من المعلومات، يرجى التواصل مع مكتب الشؤون العامة في قوة المهام البحرية المشتركة"
    " في ميناء هالدن على مدار الساعة",
])
@pytest.mark.parametrize("details", [
    ["الهاتف: \u200e+964 750 123 4567", "البريد الإلكتروني: press@jtf-meridian.mil",
     "حساباتنا على منصات التواصل الاجتماعي: @JTFMeridian", "الموقع: www.jtf-meridian.mil"],
    ["هاتف: ٠٧٥٠ ١٢٣ ٤٥٦٧", "البريد الالكتروني: press@jtf-meridian.mil",
     "تابعونا على منصات التواصل الاجتماعي", "إكس: @JTFMeridian", "فيس بوك: JTFMeridian"],
])
def test_an_arabic_contact_footer_is_read_as_a_whole_like_an_english_one(opening, details):
    sheet = parse_factsheet(ARABIC_BODY + "\n".join([opening, *details]))
    assert [s.heading for s in sheet.sections] == ["الدوريات"]
    assert sheet.sections[0].text == "تبقي قوة المهام المضيق مفتوحا أمام السفن التجارية طوال العام."
    assert sheet.contacts.emails == ("press@jtf-meridian.mil",)
    assert len(sheet.contacts.phones) == 1
    assert ContactAccount("x", "JTFMeridian") in sheet.contacts.accounts
    assert any(opening[:40] in n for n in sheet.notes)  # listed, never silently dropped


@pytest.mark.parametrize("line", [
    "للمزيد من المعلومات حول الدوريات، يصف التقرير السنوي كل طريق سلكته السفن خلال العام الماضي"
    " في المضيق وخارجه.",
    "الهاتف: أصبح خط دعم العائلات يعمل على مدار الساعة وبلا أي تكلفة على المتصلين.",
])
def test_an_arabic_body_sentence_that_starts_like_a_contact_phrase_stays_text(line):
    sheet = parse_factsheet(f"{ARABIC_BODY}الخدمات\n{line}\n\nالمجتمع\nتقيم الطواقم أياما مفتوحة.")
    assert any(line in s.text for s in sheet.sections)


@pytest.mark.parametrize(("line", "found"), [
    ("Duty desk ＋９６４７５０１２３４５６７", {"phones": ("+9647501234567",)}),
    ("Tel. ＋９６４ ７５０ １２３ ４５６７", {"phones": ("+964 750 123 4567",)}),
    ("press＠jtf-meridian.mil", {"emails": ("press@jtf-meridian.mil",)}),
    ("Ｘ： ＠ＪＴＦＭｅｒｉｄｉａｎ", {"accounts": (ContactAccount("x", "JTFMeridian"),)}),
])
def test_full_width_contact_details_are_found_like_their_ascii(line, found):
    # NFKC for detection only: the line is metadata, listed in ASCII, and kept as written.
    sheet = parse_factsheet(f"{BODY}{line}")
    assert all(line not in s.text for s in sheet.sections)
    assert {k: getattr(sheet.contacts, k) for k in found} == found
    assert any(line in n for n in sheet.notes)


def test_the_footer_phone_numbers_are_listed_under_contacts():
    sheet = parse_factsheet(sample_case("11-footer-phone-line"))
    assert sheet.contacts.phones == ("318-555-0142", "00-49-555-0199")
    assert all("DSN" not in s.text for s in sheet.sections)


@pytest.mark.parametrize(("line", "phone"), [
    ("Phone: 07701234567", "07701234567"),
    ("Phone: 0770-1234567", "0770-1234567"),
    ("Phone: 0770 1234567", "0770 1234567"),
    ("Mobile: 07901234567", "07901234567"),
    ("Tel. 104", "104"),
    ("Hotline: 911", "911"),
    ("Helpline 0800 123456", "0800 123456"),
    ("WhatsApp: +964 770 123 4567", "+964 770 123 4567"),
    ("07701234567", "07701234567"),
    ("هاتف: 07701234567", "07701234567"),
    ("الخط الساخن: 104", "104"),
    ("واتساب: 07701234567", "07701234567"),
    ("هاتف: ٠٧٧٠١٢٣٤٥٦٧", "٠٧٧٠١٢٣٤٥٦٧"),
    ("للاستفسار يرجى الاتصال على الرقم ٠٧٧٠١٢٣٤٥٦٧", "٠٧٧٠١٢٣٤٥٦٧"),
    ("Phone number: 911", "911"),
    ("For more information call 07701234567", "07701234567"),
    ("For more information call 911", "911"),
    ("Phone line for families: 104", "104"),
    ("Tel/Fax: 104", "104"),
    ("Tel: 0770.123.4567", "0770.123.4567"),
    ("Emergency: 112", "112"),
    ("الطوارئ: 104", "104"),
    ("هاتف المكتب الإعلامي: 104", "104"),
    ("اتصلوا بنا على 104", "104"),
    ("Duty desk ۰۷۷۰۱۲۳۴۵۶۷", "۰۷۷۰۱۲۳۴۵۶۷"),
])
@pytest.mark.parametrize("footer", [False, True])
def test_a_phone_line_is_a_contact_line_whatever_its_number_looks_like(line, phone, footer):
    # A number in national format ("0770 ...") or a short code after a phone label is what
    # offices write for their own lines: listed under contacts, never posted, alone or in a
    # footer, and no note claiming the line "holds no contact details".
    others = "press@jtf-meridian.mil\nwww.jtf-meridian.mil\n" if footer else ""
    sheet = parse_factsheet(f"{BODY}{others}{line}\n")
    assert [s.text for s in sheet.sections] == [
        "The task force keeps the strait open to merchant shipping."]
    assert sheet.contacts.phones == (phone,)
    assert not any("no contact details" in n for n in sheet.notes)


@pytest.mark.parametrize("line", [
    "The task force escorted 1,250 merchant vessels through the strait last year.",
    "Mobile 120 units were deployed along the coast during the exercise.",
    "Phone: 104 is the number families call when a crew member is injured at sea.",
    "Hotline calls rose by 2024 to more than 1250000 a year, the office said.",
    "Call 104 if a crew member is injured at sea, and the duty officer answers.",
    "Emergency: 112 crews answered calls from the flooded villages within the hour.",
    "Phone calls to the office rose from 2024 to 2026 by 1250000 in all.",
    "الهاتف: 104 هو الرقم الذي تتصل به العائلات عند إصابة أحد أفراد الطاقم في البحر.",
])
def test_a_body_sentence_with_a_number_stays_text(line):
    sheet = parse_factsheet(f"{BODY}SERVICES\n{line}\n\nCOMMUNITY\nCrews host open days.")
    assert any(line in s.text for s in sheet.sections)
    assert sheet.contacts.phones == ()


@pytest.mark.parametrize("line", [
    "Online: families can now track a crew member's deployment dates through the new portal.",
    "Phone: the family support line now answers around the clock, and calls are free.",
    "Email: the office now answers every request within one working day of receiving it.",
    "Web: the new pages explain how relatives can apply for the welfare fund this winter.",
    "Twitter: the account passed 10,000 followers during the November exercise.",
    "Contact: crews made contact with the stricken vessel within nine minutes.",
    "الهاتف: أصبح خط دعم العائلات يعمل على مدار الساعة وبلا أي تكلفة على المتصلين.",
])
def test_a_body_sentence_that_starts_with_a_label_stays_text_and_says_why(line):
    sheet = parse_factsheet(f"{BODY}SERVICES\n{line}\n\nCOMMUNITY\nCrews host open days.")
    assert any(line in s.text for s in sheet.sections)
    assert any("kept as post text" in n and "starts like a contact line" in n
               for n in sheet.notes)


def test_a_phone_number_in_a_body_sentence_stays_text_with_a_note():
    line = ("Families can call the support line on 0750 123 4567 at any hour, and the calls "
            "are free from every network in the country.")
    sheet = parse_factsheet(f"{BODY}SERVICES\n{line}\n\nCOMMUNITY\nCrews host open days.")
    assert any(line in s.text for s in sheet.sections)
    assert any("kept as post text" in n and "phone number" in n for n in sheet.notes)


def test_a_sentence_with_a_written_out_link_stays_text():
    line = "See the report (https://www.jtf-meridian.mil/r)."
    sheet = parse_factsheet(f"{BODY}REPORTS\n{line}")
    assert sheet.sections[-1].text == line


def test_a_heading_with_no_text_under_it_is_noted():
    sheet = parse_factsheet(f"{BODY}FOUR\n")
    assert "not posted: the heading \"FOUR\" has no text under it" in sheet.notes


def sample_case(name: str) -> str:
    from pathlib import Path

    return (Path(__file__).parent / "corpus" / name / "factsheet.txt").read_text("utf-8")


@pytest.mark.parametrize("where", [0, 1, 3])
def test_a_structured_documents_footer_is_read_as_a_whole_too(where):
    from posts.factsheet import Part, parse_structured

    dsn = "DSN: 318-555-0142 or from overseas DSN: 00-49-555-0199, then ask for extension 77#"
    footer = ["press@jtf-meridian.mil", "www.jtf-meridian.mil", "x.com/JTFMeridian"]
    footer.insert(where, dsn)
    parts = [Part("title", "Harbour Task Force"), Part("heading", "WHO WE ARE", 2),
             Part("text", "The task force keeps the strait open."),
             *[Part("text", line) for line in footer]]
    sheet = parse_structured(parts)
    assert sheet.sections[0].text == "The task force keeps the strait open."
    assert "318-555-0142" in sheet.contacts.phones

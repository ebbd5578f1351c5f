"""X's weighted length (twitter-text v3), and the pkg_resources stand-in that loads it."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import extract_urls_with_indices, parse_tweet

from posts.weight import (
    MAX_WEIGHTED_LENGTH,
    URL_WEIGHT,
    code_point_weight,
    find_js_urls,
    find_urls,
    reference_js_length,
    weighted_length,
    weighted_length_of_parts,
)

ROOT = Path(__file__).resolve().parents[1]

CJK_160 = ("故人西辞黄鹤楼，烟花三月下扬州。孤帆远影碧空尽，唯见长江天际流。"
           "朱雀桥边野草花，乌衣巷口夕阳斜。旧时王谢堂前燕，飞入寻常百姓家。"
           "朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。"
           "泪湿罗巾梦不成，夜深前殿按歌声。红颜未老恩先断，斜倚薰笼坐到明。"
           "独在异乡为异客，每逢佳节倍思亲。遥知兄弟登高处，遍插茱萸少一人。")
KANA = "あいうえおかきくけこ"
PUNCTUATION = (
    "This is a tweet with general punctuation characters: "
    + "".join(map(chr, range(0x2000, 0x200E))) + " " + " ".join(map(chr, range(0x2010, 0x2017)))
    + "  " + " ".join(map(chr, range(0x2017, 0x2020))) + " "
    + " ".join(map(chr, range(0x2032, 0x2038))))

# twitter/twitter-text conformance/validate.yml: WeightedTweetsWithDiscountedEmojiCounterTest
# (v3, the counting X uses) and UnicodeDirectionalMarkerCounterTest; texts rebuilt from it.
CONFORMANCE = [
    ("Regular Tweet with url", "Hi http://test.co", 26),
    ("Just url", "http://test.co", 23),
    ("Long tweet, overflow at char index 280", "285 chars-" + "xxxxxxxxxx-" * 25, 285),
    ("Long tweet with url in the middle",
     "285 chars- http://www.twitter.com/jack " + "xxxxxxxxxx-" * 24, 299),
    ("Long tweet with url at the end",
     "xxxxxxxxxx-" * 24 + " http://www.twitter.com/jack ", 289),
    ("10 url string, no overflow", "https://www.twitter.com/aloha " * 10, 240),
    ("160 CJK char", CJK_160, 320),
    ("160 emoji char", "😷" * 160, 320),
    ("3 latin char + 160 CJK char", "the" + CJK_160, 323),
    ("'Á' is normalized into 1 char", "A\u0301B", 2),
    ("שּׁ is normalized into 3 chars", "A\ufb2c", 4),
    ("282 chars with a normalized character",
     "282 chars-" + "xxxxxxxxxx-" * 24 + "xxxxxA\u0301x", 281),
    ("Mix of single byte and double word characters", "H🐱☺👨‍👩‍👧‍👦", 7),
    ("Emoji inside the basic multilingual plane", "😷👾😡🔥💩", 10),
    ("Emoji with skin tone modifiers and ZWJ", "🙋🏽👨‍🎤", 4),
    ("General punctuation characters", PUNCTUATION, 112),
    ("64 character domain without protocol", "randomurl" * 7 + "s.com", 68),
    ("CJK host longer than 63 punycode characters",
     KANA * 12 + " http://" + KANA * 5 + "あいう.com", 358),
    ("CJK host shorter than 63 punycode characters",
     KANA * 12 + " http://" + KANA * 5 + "あい.com", 264),
    ("140 family emoji", "👨‍👩‍👧‍👦" * 140, 280),
    ("Unicode 10.0 emoji",
     "Unicode 10.0 emoji: 🤪; 🧕; 🧕🏾; "
     "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", 34),
    ("Unicode 9.0 emoji", "Unicode 9.0 emoji: 🤠; 💃; 💃🏾", 29),
    ("Invalid characters", "ABC\u202a\uffffABC\ufffe", 12),
    ("Directional characters around a URL",
     "\u2066\u202ahttp://foobar.\u067e\u0627\u06a9\u0633\u062a\u0627\u0646/\u202c\u2069", 31),
]

# The rules, one by one.
RULES = [
    ("Latin", "Joint Task Force Meridian", 25),
    ("Latin-1 and up to U+10FF", "é ß Ω Ж ש ا ა", 13),
    ("first code point past U+10FF", "\u1100", 2),
    ("CJK", "日本語", 6),
    ("Korean", "한국어", 6),
    ("Arabic", "قوة المهام المشتركة", 19),
    ("Arabic punctuation", "؟ ، ؛", 5),
    ("U+2000-U+200D count 1", "\u2002\u200b\u200d", 3),
    ("direction marks U+200E/U+200F count 2", "\u200e\u200f", 4),
    ("U+2010-U+201F count 1", "‐—“”", 4),
    ("U+2020 counts 2", "†", 2),
    ("U+2032-U+2037 count 1", "′″", 2),
    ("single emoji", "😷", 2),
    ("ZWJ family", "👨‍👩‍👧‍👦", 2),
    ("skin tone", "👍🏽", 2),
    ("flag", "🇺🇸", 2),
    ("keycap", "1️⃣", 2),
    ("URL with scheme", "https://www.jtf-meridian.mil/patrol-reports?year=2026", URL_WEIGHT),
    ("URL without scheme", "www.example.mil", URL_WEIGHT),
    ("domain and path", "twitter.com/x", URL_WEIGHT),
    ("new gTLD", "centcom.global", URL_WEIGHT),
    ("URL in text", "Reports at www.example.mil today.", 11 + 23 + 7),
    ("not a URL: reserved TLD", "jtf-meridian.example", 20),
    ("e-mail address is not a URL", "press@jtf-meridian.mil", 22),
    ("mention and hashtag", "@JTFMeridian #Meridian2026", 26),
    ("NFC composed", "caf\u00e9", 4),
    ("NFC decomposed", "cafe\u0301", 4),
    ("CRLF counts once", "a\r\nb", 3),
]


@pytest.mark.parametrize(("text", "expected"), [(t, w) for _, t, w in CONFORMANCE],
                         ids=[d for d, _, _ in CONFORMANCE])
def test_conformance_suite(text, expected):
    assert weighted_length(text) == expected


@pytest.mark.parametrize(("text", "expected"), [(t, w) for _, t, w in RULES],
                         ids=[d for d, _, _ in RULES])
def test_weighting_rules(text, expected):
    assert weighted_length(text) == expected


def test_limits():
    assert MAX_WEIGHTED_LENGTH == 280 and URL_WEIGHT == 23
    assert weighted_length("x" * 280) == MAX_WEIGHTED_LENGTH
    assert weighted_length("日" * 140) == MAX_WEIGHTED_LENGTH


def test_find_urls_gives_spans_into_the_text():
    text = "Reports: www.example.mil/r and https://x.com/JTFMeridian, not press@jtf.mil."
    assert [text[s:e] for s, e in find_urls(text)] == [
        "www.example.mil/r", "https://x.com/JTFMeridian"]
    assert find_urls("no links here. None.") == []


@pytest.mark.parametrize(("ch", "weight"), [("a", 1), ("\u10ff", 1), ("\u1100", 2), ("日", 2),
                                            ("\u200d", 1), ("\u200e", 2), ("😷", 2)])
def test_code_point_weight(ch, weight):
    assert code_point_weight(ch) == weight


PIECE_LIST = [
    "a", "Z", "9", " ", ".", ",", "/", ":", "@", "#", "-", "_", "?", "=", "\n", "\r", "\t",
    "https://", "http://", "www.", ".com", ".mil", ".co", "t.co/", ".global", ".中国", ".рф",
    "xn--p1ai", "日本", "مرحبا", "؟", "\u0301", "e\u0301", "é", "😷", "\u200d", "👍🏽", "🇺🇸",
    "1\ufe0f\u20e3", "©", "™", "\u200f", "\u202a", "\uffff", "\u3000", "한", "👨‍👩‍👧",
]
PIECES = st.lists(st.sampled_from(PIECE_LIST), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(PIECES, st.text(max_size=60)))
def test_the_fast_path_counts_as_the_two_full_counters_do(text):
    # Text without emoji skips the full counters; it must come to what they would say. (Line
    # ends as every stored text has them: the JavaScript counts "\r\n" as two,
    # twitter-text-parser as one.) The counters themselves are checked against npm
    # twitter-text below, not against themselves.
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    assert weighted_length(text) == max(parse_tweet(text).weightedLength,
                                        reference_js_length(lines))
    assert find_urls(text) == [tuple(e["indices"]) for e in extract_urls_with_indices(text)]


SEPARATORS = st.sampled_from([" ", "\n", "\n\n", "  ", "\t", " \n ", "\u00a0", "\u3000", ""])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(SEPARATORS, st.one_of(PIECES, st.text(max_size=30))), min_size=1,
                max_size=6))
def test_measuring_joined_parts_counts_as_measuring_the_joined_text(pairs):
    # The splitter measures a candidate post from its sentences' links, found once each; the
    # count must be the one of the text as posted, whatever the parts and separators hold.
    parts = [pairs[0][1]]
    for sep, text in pairs[1:]:
        parts += [sep, text]
    assert weighted_length_of_parts(parts) == weighted_length("".join(parts))


def test_a_link_split_over_two_parts_is_measured_as_the_whole_text_holds_it():
    # Joined without whitespace, "www.example" and ".com/x" are one link, found in neither part.
    parts = ["see www.example", "", ".com/x today"]
    assert weighted_length_of_parts(parts) == weighted_length("see www.example.com/x today")
    assert weighted_length_of_parts(["see", " ", "example.com", "\n\n", "now."]) == (
        weighted_length("see example.com\n\nnow."))


def seeded_texts(count: int, seed: int) -> list[str]:
    """Texts built as PIECES builds them, and of random code points (no surrogates), from a
    seeded generator; line ends as stored texts have them."""
    rng = random.Random(seed)
    points = [*range(0x20, 0x2100), *range(0x2190, 0x2c00), *range(0x3000, 0x3100),
              *range(0xac00, 0xac40), *range(0x1f300, 0x1fa00)]
    texts = []
    for n in range(count):
        if n % 3:
            text = "".join(rng.choices(PIECE_LIST, k=rng.randint(0, 40)))
        else:
            text = "".join(map(chr, rng.choices(points, k=rng.randint(0, 60))))
        texts.append(text.replace("\r\n", "\n").replace("\r", "\n"))
    return texts


# --- where the counters disagree (case 12): the larger count --------------------------------

CONFORMANCE_FILE = Path(__file__).parent / "data" / "twitter-text-validate-v3.yml"


def conformance_cases():
    import yaml

    data = yaml.safe_load(CONFORMANCE_FILE.read_text(encoding="utf-8"))
    return [pytest.param(case["text"], case["expected"]["weightedLength"],
                         id=case["description"][:60])
            for cases in data.values() for case in cases]


@pytest.mark.parametrize(("text", "expected"), conformance_cases())
def test_both_counters_and_the_larger_pass_the_conformance_data(text, expected):
    assert parse_tweet(text).weightedLength == expected
    assert reference_js_length(text) == expected
    assert weighted_length(text) == expected


# Emoji of Unicode/Emoji 12.0 (2019) and later, which twemoji-parser 11 (the list npm
# twitter-text 3.1.0 counts with) does not know, and older sequences it reads in pieces.
RECENT_EMOJI = [
    "🤏🏻", "👁️‍🗨️", "🧑‍🤝‍🧑", "🧑🏽‍🦰", "🦩", "🥱", "🪂", "🏳️‍⚧️", "🐈‍⬛", "🐻‍❄️", "🫀",
    "❤️‍🔥", "😮‍💨", "😵‍💫", "🧔‍♀️", "🫠", "🫶🏽", "🫱🏼‍🫲🏾", "🪸", "🩷", "🫨", "🪿",
    "🐦‍🔥", "🍋‍🟩", "🙂‍↔️", "🧑‍🧑‍🧒", "🏃‍➡️", "🏃🏽‍♀️‍➡️", "🫩", "🇺🇳",
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", "#️⃣", "©️", "👨‍👩‍👧‍👦",
]


@pytest.mark.parametrize("emoji", RECENT_EMOJI)
def test_a_sequence_the_counters_disagree_on_counts_the_larger(emoji):
    text = f"Crews report {emoji} at dawn."
    python, javascript = parse_tweet(text).weightedLength, reference_js_length(text)
    assert weighted_length(text) == max(python, javascript)


def test_case_12_no_post_is_over_280_for_either_counter():
    from platform_rules import split_for_x

    from posts.factsheet import parse_factsheet

    sheet = parse_factsheet(
        (ROOT / "tests" / "corpus" / "12-newer-emoji" / "factsheet.txt").read_text("utf-8"))
    snippets = [s for section in sheet.sections for s in split_for_x(section)]
    # twitter-text 3.1.0 measured the old split 340 / 323 / 323.
    assert max(reference_js_length(s.text) for s in snippets) <= MAX_WEIGHTED_LENGTH
    assert max(parse_tweet(s.text).weightedLength for s in snippets) <= MAX_WEIGHTED_LENGTH
    assert all(s.weighted_length == reference_js_length(s.text) for s in snippets)


def test_the_compose_counter_shows_the_larger_count():
    from scheduler.compose import preview
    from scheduler.config import AccountConfig

    account = AccountConfig(name="office-x", platform="x", handle="OfficeX",
                            api_url="http://127.0.0.1:9")
    text = "Lookout 🤏🏻 and 👁️‍🗨️ posts."
    shown = preview(text, account)
    assert shown.length == reference_js_length(text) > parse_tweet(text).weightedLength
    assert shown.parts[0].weighted_length == shown.length


def node_counts(texts: list[str]) -> list[int] | None:
    """npm twitter-text 3.1.0's own counts, run by Node.js from the project's node_modules
    (`npm ci`, which `make test` runs where npm is installed); None where it is not."""
    import json
    import shutil

    module = ROOT / "node_modules" / "twitter-text"
    node = shutil.which("node")
    if node is None or not module.is_dir():
        return None
    script = ("const tt = require('twitter-text'); let data = '';"
              "process.stdin.on('data', c => data += c).on('end', () => console.log("
              "JSON.stringify(JSON.parse(data).map(t => tt.parseTweet(t).weightedLength))));")
    result = subprocess.run([node, "-e", script], input=json.dumps(texts), cwd=ROOT,
                            capture_output=True, text=True, check=True, timeout=60)
    return json.loads(result.stdout)


# A link without its scheme straight after a non-ASCII character: npm twitter-text 3.1.0 counts
# it as a link (23) where twitter-text-parser, whose IDNA check refuses the whole domain, does not.
GLUED_LINKS = ["مرحباx.com/a", "مرحباwww.example.mil", "قوةt.co/ رابط", "👍🏽t.co/",
               "Report at جيشx.com/a?b=1 today", "日本語example.com中国語", "кирилицаwww.gov.ua",
               "صورةpic.twitter.com/x", "مرحباx.com مرحباy.org/path", "éexample.com", "ßfoo.de",
               "-مرحباx.com", "مرحبا/x.com", "مرحبا.x.com", "مرحبا_x.com", "xn--مرحباx.com",
               "مرحبا" * 13 + "x.com", "مرحباx.com/" + "a" * 4100,
               # Python's re.IGNORECASE takes İ ı ſ K (U+212A) for ASCII letters; JavaScript not.
               "@@@İt.co/abcé👍🏽t.co/abc", "ıـx.ſe)-x.ſe", "xİhttp://مرحبا.com/a", "Kx.com İx.com",
               # JavaScript matches UTF-16 code units: an emoji is two characters to its regexes.
               "𝐀𝐀𝐀日本語centcom.global/a?b=1😷.xn--abc.com", "مرحبا👍🏽http://مرحبا.com/a😷-x.com",
               "😷" * 40 + ".com", "http://" + "😷" * 20 + ".com/a", "𝐀x.com/𝐀"]


def js_counts_or_skip(texts: list[str]) -> list[int]:
    counts = node_counts(texts)
    if counts is None:
        if os.environ.get("CI"):
            pytest.fail("Node.js and node_modules/twitter-text are needed in CI (npm ci)")
        pytest.skip("Node.js or node_modules/twitter-text missing (run npm ci)")
    return counts


def test_weighted_length_against_npm_twitter_text_run_by_node():
    # An independent reference: twitter-text 3.1.0's own JavaScript (not the port in
    # posts/weight.py) beside twitter-text-parser; the count is the larger of the two.
    texts = seeded_texts(400, seed=19) + GLUED_LINKS
    counts = js_counts_or_skip(texts)
    assert [reference_js_length(t) for t in texts] == counts
    assert [weighted_length(t) for t in texts] == [
        max(parse_tweet(t).weightedLength, js) for t, js in zip(texts, counts, strict=True)]
    assert sum(any(ord(ch) > 0x1f000 for ch in t) for t in texts) > 20  # emoji were counted


@pytest.mark.parametrize(("text", "expected"), [
    ("مرحباx.com/a", 5 + URL_WEIGHT), ("مرحباwww.example.mil", 5 + URL_WEIGHT),
    ("قوةt.co/ رابط", 3 + URL_WEIGHT + 5), ("صورةpic.twitter.com/x", 4 + URL_WEIGHT),
    ("Report at جيشx.com/a?b=1 today", 13 + URL_WEIGHT + 6)])
def test_a_link_glued_to_a_non_ascii_character_is_counted_as_the_javascript_counts_it(
        text, expected):
    # twitter-text-parser finds no link here (its IDNA check refuses the mixed domain); npm
    # twitter-text 3.1.0 finds one and counts it 23.
    assert find_urls(text) == [] and parse_tweet(text).weightedLength < expected
    assert find_js_urls(text) != []
    assert reference_js_length(text) == weighted_length(text) == expected
    [js] = js_counts_or_skip([text])
    assert js == expected


def test_the_javascript_counter_is_counted_as_it_counts():
    texts = [f"Report {e} in." for e in RECENT_EMOJI] + [
        t.values[0] for t in conformance_cases()] + [
        (ROOT / "tests" / "corpus" / "12-newer-emoji" / "factsheet.txt").read_text("utf-8"),
        "©®™ ↔ ☺️ ✌🏽 1️⃣ 🇮🇶🇺🇸 \ufe0f a\ufe0f"]
    counts = node_counts(texts)
    if counts is None:
        if os.environ.get("CI"):
            pytest.fail("Node.js and node_modules/twitter-text are needed in CI (npm ci)")
        pytest.skip("Node.js or node_modules/twitter-text missing (run npm ci)")
    assert [reference_js_length(t) for t in texts] == counts


@settings(max_examples=200, deadline=None)
@given(PIECES, st.integers(1, 9999), st.integers(1, 9999))
def test_a_thread_suffix_adds_exactly_its_length(text, i, n):
    # The splitter reserves len(" i/N") for the suffix.
    suffix = f" {i}/{n}"
    assert weighted_length(text + suffix) == weighted_length(text) + len(suffix)


def test_works_without_setuptools(tmp_path):
    # twitter_text imports pkg_resources, which newer environments lack: run with it blocked.
    script = textwrap.dedent("""
        import sys

        class Blocker:
            def find_spec(self, name, path=None, target=None):
                if name == "pkg_resources" or name.startswith("pkg_resources."):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, Blocker())
        from posts.weight import weighted_length
        assert "pkg_resources" not in sys.modules, "the stand-in was left behind"
        try:
            import pkg_resources
        except ModuleNotFoundError:
            pass
        else:
            raise AssertionError("pkg_resources importable although blocked")
        print(weighted_length("Hi 😷 https://x.com/JTFMeridian 日本"))
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(3 + 2 + 1 + 23 + 1 + 4)

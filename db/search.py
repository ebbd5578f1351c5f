"""History search: what a search text means, and the full-text condition for each database.

A search is words, and every word must appear in the post, in any order; "a quoted phrase"
must appear as those words in that order. Case, Latin diacritics (café = Cafe), Arabic short
vowels and tatweel (مُحَمَّد = محمد) and the full-width forms of ASCII (１２３ = 123) are
ignored; anything that is not a letter or a digit separates words, so operators typed by a
user (AND, NEAR(, -, *) are just words or separators, never query syntax. The indexes that make
this fast are created by migration 0005 (an FTS5 table on SQLite, a GIN index on PostgreSQL)
and fold text the same way (full-width forms since migration 0008).
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import reduce

from sqlalchemy import ColumnElement, Select, column, exists, func, literal_column, select, table

#: A copy of migration 0005's ARABIC_MARKS: the query must drop what the index dropped.
ARABIC_MARKS = "".join(map(chr, range(0x064B, 0x0653))) + "\u0670\u0640"
_MARKS = str.maketrans("", "", ARABIC_MARKS)
#: Migration 0008's folding of full-width forms (NFKC's mapping of U+FF01-U+FF5E and U+3000):
#: "１２３" is found by "123" and the other way round.
_WIDE = str.maketrans("".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000",
                      "".join(chr(c) for c in range(0x21, 0x7F)) + " ")
_WORD = re.compile(r"[^\W_]+")

#: One term: words that must appear next to each other, in this order (often just one).
Term = tuple[str, ...]


def parse_search(text: str) -> list[Term]:
    """The terms of a search text; none when it holds no letter or digit."""
    folded = unicodedata.normalize("NFC", text).translate(_WIDE).translate(_MARKS)
    pieces = folded.split('"')
    if len(pieces) % 2 == 0:
        # An unclosed quote quotes nothing: its words are plain words.
        pieces[-2:] = [pieces[-2] + " " + pieces[-1]]
    terms: list[Term] = []
    for quoted, piece in enumerate(pieces):
        words = tuple(_WORD.findall(piece))
        if quoted % 2 and words:
            terms.append(words)
        else:
            terms.extend((word,) for word in words)
    return terms


def fts5_query(terms: list[Term]) -> str:
    """An FTS5 MATCH expression: each term a quoted phrase, all of them required. Quoting
    every word is what keeps FTS5's own query language (AND, NEAR, *, ^, column:) out."""
    return " AND ".join('"' + " ".join(term).replace('"', '""') + '"' for term in terms)


def search_condition(post_id: ColumnElement, post_text: ColumnElement, terms: list[Term],
                     dialect: str, *, common: bool = False) -> ColumnElement[bool]:
    """The condition "this post holds every term", written so the search index serves it.

    SQLite only: `common` (see is_common) asks for a check of each post as history is read
    newest first, instead of collecting every match from FTS5 and sorting them. PostgreSQL's
    planner makes that choice itself from the statistics of the index.
    """
    if dialect == "postgresql":
        # Word for word the expression of ix_posts_search, or PostgreSQL will not use it.
        simple = literal_column("'simple'::regconfig")
        document = func.to_tsvector(simple, func.factpost_search_fold(post_text))
        query = reduce(lambda a, b: a.op("&&")(b),
                       [func.phraseto_tsquery(simple, func.factpost_search_fold(" ".join(t)))
                        for t in terms])
        return document.op("@@")(query)
    fts = fts5_matches(terms)
    if common:
        return exists(fts.where(fts.selected_columns.rowid == post_id))
    return post_id.in_(fts)


def fts5_matches(terms: list[Term]) -> Select:
    """The rowids of the posts FTS5 finds for these terms."""
    fts = table("posts_fts", column("rowid"), column("posts_fts"))
    return select(fts.c.rowid).where(fts.c.posts_fts.op("MATCH")(fts5_query(terms)))


def common_threshold(posts: int) -> int:
    """From how many matches on (about) `posts` posts a search counts as common on SQLite.

    Measured at a million posts: checking one post against FTS5 costs about a hundred times
    what collecting and sorting one match does. Reading history until a page of n is full
    checks n·posts/matches posts; sorting handles `matches` rows; the two cost the same near
    75·sqrt(posts) matches (75,000 of a million, about 0.3 s either way; far less on each side).
    """
    return max(1000, int(75 * math.sqrt(posts)))

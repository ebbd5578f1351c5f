"""search folds full-width forms: "１２３" is found by "123", "ＡＢＣ" by "abc"

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

Text typed with an East Asian input method, or pasted from a PDF set in such a font, holds the
full-width forms of ASCII (U+FF01-U+FF5E, and U+3000 IDEOGRAPHIC SPACE). NFKC maps each to its
ASCII character; both indexes now fold them so before anything else, and db/search.py folds
the query the same way. Only these are folded, not all of NFKC: SQLite's triggers can fold
only by a fixed list of replacements (a function registered from Python would break every
other client of the file), and the two databases must find the same posts. The post text
itself is never changed.

SQLite: the FTS5 triggers are made again with the new folding, and the index is filled again.
PostgreSQL: factpost_search_fold is replaced and its index rebuilt.
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: Migration 0005's ARABIC_MARKS, copied so that this migration means the same forever.
ARABIC_MARKS = "".join(map(chr, range(0x064B, 0x0653))) + "\u0670\u0640"
#: Full-width ASCII and its NFKC mapping: U+FF01..U+FF5E -> U+0021..U+007E; U+3000 -> space.
WIDE = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
NARROW = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
#: Migration 0005's SEPARATORS, copied.
SEPARATORS = ("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
              "\u00a0\u00ab\u00bb\u00a1\u00bf\u00a7\u00b0\u00b7\u00d7\u00f7"
              "\u060c\u061b\u061f\u066a\u066b\u066c\u06d4"
              "\u2010\u2011\u2012\u2013\u2014\u2015\u2018\u2019\u201a\u201c\u201d\u201e"
              "\u2022\u2026\u2032\u2033\u2039\u203a\u200b\u200c\u200d\u200e\u200f"
              "\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u202e\ufeff")
TRIGGERS = ("posts_fts_insert", "posts_fts_update", "posts_fts_delete")


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


#: Replacements nested in one SQL expression at most: SQLite's parser stack (YYSTACKDEPTH 100)
#: overflows past about 30, fewer inside a trigger, so the list is applied by subqueries, one
#: batch each (15 per batch still parses in a trigger; 12 leaves room).
_BATCH = 12
#: On SQLite only the full-width letters and digits need folding: FTS5's unicode61 tokenizer
#: already separates words at full-width punctuation, as at ASCII punctuation.
_WORD_CHARACTERS = [(w, n) for w, n in zip(WIDE, NARROW, strict=True) if n.isalnum()]


def _sqlite_folded(rows: str, *, wide: bool) -> str:
    """A query of (id, x) rows: those of `rows` (a SELECT of id and x) with x's ARABIC_MARKS
    removed and (with `wide`) its full-width forms narrowed, in SQL that SQLite can run
    inside a trigger."""
    pairs = list(_WORD_CHARACTERS) if wide else []
    pairs += [(mark, "") for mark in ARABIC_MARKS]
    query = rows
    for start in range(0, len(pairs), _BATCH):
        expression = "x"
        for old, new in pairs[start:start + _BATCH]:
            expression = f"replace({expression}, {_sql_text(old)}, {_sql_text(new)})"
        query = f"SELECT id, {expression} AS x FROM ({query})"
    return query


def _sqlite_triggers(*, wide: bool) -> None:
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    new_rows = _sqlite_folded("SELECT new.id AS id, new.text AS x", wide=wide)
    old_rows = _sqlite_folded("SELECT old.id AS id, old.text AS x", wide=wide)
    op.execute(f"""
        CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
            INSERT INTO posts_fts(rowid, text) SELECT id, x FROM ({new_rows});
        END
    """)
    op.execute(f"""
        CREATE TRIGGER posts_fts_update AFTER UPDATE OF text ON posts BEGIN
            INSERT INTO posts_fts(posts_fts, rowid, text)
                SELECT 'delete', id, x FROM ({old_rows});
            INSERT INTO posts_fts(rowid, text) SELECT id, x FROM ({new_rows});
        END
    """)
    op.execute(f"""
        CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
            INSERT INTO posts_fts(posts_fts, rowid, text)
                SELECT 'delete', id, x FROM ({old_rows});
        END
    """)
    # An external-content index is emptied with 'delete-all' and filled with the folded text
    # ('rebuild' would read posts.text unfolded).
    op.execute("INSERT INTO posts_fts(posts_fts) VALUES ('delete-all')")
    every = _sqlite_folded("SELECT id, text AS x FROM posts", wide=wide)
    op.execute(f"INSERT INTO posts_fts(rowid, text) SELECT id, x FROM ({every})")


def _postgresql_fold(*, wide: bool) -> None:
    source = f"translate($1, {_sql_text(WIDE)}, {_sql_text(NARROW)})" if wide else "$1"
    marks = "\u0300-\u036f" + ARABIC_MARKS
    separators = "".join("\\" + c if c.isascii() else c for c in SEPARATORS).replace("'", "''")
    folded = (f"translate(normalize(regexp_replace(normalize(lower({source}), NFD), "
              f"'[{marks}]+', '', 'g'), NFC), 'łŁ', 'll')")
    op.execute(f"""
        CREATE OR REPLACE FUNCTION factpost_search_fold(text) RETURNS text
        LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 1000
        AS $$ BEGIN RETURN regexp_replace({folded}, '[{separators}]+', ' ', 'g'); END $$
    """)
    op.execute("REINDEX INDEX ix_posts_search")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_fold(wide=True)
    else:
        _sqlite_triggers(wide=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_fold(wide=False)
    else:
        _sqlite_triggers(wide=False)

"""full-text search over post text

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

SQLite: an FTS5 table indexing posts.text (external content: the text is stored once, in
posts), kept in step by triggers. PostgreSQL: a GIN index on the words of the text.

Both backends fold the same way, so a search finds the same posts on either: case and Latin
diacritics are ignored (café = Cafe), Arabic short vowels and tatweel are ignored
(مُحَمَّد = محمد), and words are runs of letters and digits, anything else separates them.
db/search.py folds the user's query with the same rules; tests/test_store.py checks that they
agree on both databases.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: The Arabic short vowels, shadda and sukun (U+064B-U+0652) and the dagger alef, which FTS5's
#: unicode61 treats as word separators (it splits مُحَمَّد into four one-letter words), and
#: tatweel, which it keeps inside a word: all removed before indexing. Hamza marks are left
#: alone: they change the letter. Fixed here rather than imported, so this migration means the
#: same forever; db/search.py keeps a copy for queries.
ARABIC_MARKS = "".join(map(chr, range(0x064B, 0x0653))) + "\u0670\u0640"

TOKENIZER = "unicode61 remove_diacritics 2"


def _strip_marks_sql(expression: str) -> str:
    """`expression` with every ARABIC_MARKS character removed, in SQL SQLite can run inside a
    trigger (a function registered from Python would break every other client)."""
    for mark in ARABIC_MARKS:
        expression = f"replace({expression}, '{mark}', '')"
    return expression


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def _upgrade_sqlite() -> None:
    op.execute(f"""
        CREATE VIRTUAL TABLE posts_fts USING fts5(
            text, content='posts', content_rowid='id', tokenize='{TOKENIZER}')
    """)
    # The index holds the folded text, so it must be given the same folded text to delete an
    # entry; and 'rebuild' (which would read posts.text unfolded) must not be used.
    new_text, old_text = _strip_marks_sql("new.text"), _strip_marks_sql("old.text")
    op.execute(f"""
        CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
            INSERT INTO posts_fts(rowid, text) VALUES (new.id, {new_text});
        END
    """)
    # OF text: status changes (the daemon's constant writes) leave the index alone.
    op.execute(f"""
        CREATE TRIGGER posts_fts_update AFTER UPDATE OF text ON posts BEGIN
            INSERT INTO posts_fts(posts_fts, rowid, text) VALUES ('delete', old.id, {old_text});
            INSERT INTO posts_fts(rowid, text) VALUES (new.id, {new_text});
        END
    """)
    op.execute(f"""
        CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
            INSERT INTO posts_fts(posts_fts, rowid, text) VALUES ('delete', old.id, {old_text});
        END
    """)
    op.execute(f"INSERT INTO posts_fts(rowid, text) SELECT id, {_strip_marks_sql('text')} "
               "FROM posts")


#: Characters that end a word. PostgreSQL's parser reads "art.51", "gov.iq/news" or
#: "2026-11-01" as one token where FTS5 sees several words; a locale of C would even glue
#: non-ASCII punctuation to words. Turning these into spaces first makes the two agree.
SEPARATORS = ("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
              "\u00a0\u00ab\u00bb\u00a1\u00bf\u00a7\u00b0\u00b7\u00d7\u00f7"
              "\u060c\u061b\u061f\u066a\u066b\u066c\u06d4"
              "\u2010\u2011\u2012\u2013\u2014\u2015\u2018\u2019\u201a\u201c\u201d\u201e"
              "\u2022\u2026\u2032\u2033\u2039\u203a\u200b\u200c\u200d\u200e\u200f"
              "\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u202e\ufeff")


def _fold_sql() -> str:
    """The folding as one SQL expression of $1: lower case; Latin letters decomposed, their
    accents dropped and recomposed (é -> e; Arabic hamza forms come back whole); ARABIC_MARKS
    dropped; SEPARATORS turned into spaces."""
    marks = "\u0300-\u036f" + "".join(ARABIC_MARKS)
    # In a bracket expression of PostgreSQL's regular expressions \c is the character c.
    separators = "".join("\\" + c if c.isascii() else c for c in SEPARATORS).replace("'", "''")
    folded = (f"translate(normalize(regexp_replace(normalize(lower($1), NFD), '[{marks}]+', "
              "'', 'g'), NFC), 'łŁ', 'll')")
    return f"regexp_replace({folded}, '[{separators}]+', ' ', 'g')"


def _upgrade_postgresql() -> None:
    # Words, not substrings: a GIN index on to_tsvector finds the posts holding every word
    # in time that grows with the matches, not the table. pg_trgm would also serve LIKE
    # '%fragment%', but its index is several times larger, slow for common short words, and
    # knows nothing of word boundaries. The 'simple' configuration only lowercases: no
    # stemming (which has no Arabic dictionary) and no stop words, so English and Arabic are
    # treated alike, as by FTS5. The unaccent extension is not assumed to be installable.
    #
    # plpgsql with a COST, not an SQL function: PostgreSQL inlines SQL functions and forgets
    # their cost, then believes checking a post's words is cheap and reads the whole history
    # in order to fill a page of a rare word (11 s at a million posts instead of 5 ms).
    op.execute(f"""
        CREATE FUNCTION factpost_search_fold(text) RETURNS text
        LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 1000
        AS $$ BEGIN RETURN {_fold_sql()}; END $$
    """)
    op.execute("CREATE INDEX ix_posts_search ON posts USING gin "
               "(to_tsvector('simple'::regconfig, factpost_search_fold(text)))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_posts_search")
        op.execute("DROP FUNCTION IF EXISTS factpost_search_fold(text)")
        return
    for trigger in ("posts_fts_insert", "posts_fts_update", "posts_fts_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS posts_fts")

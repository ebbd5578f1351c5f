"""`factpost archive export/verify` and `factpost audit verify` on real databases: the demo's
records export and verify, on SQLite and PostgreSQL; a changed or deleted audit row, in the
database or in an archive, is named; an archive holds every version, image and approval."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import APPROVER, AUTHOR, POSTGRES_URL, approve, postgres_store
from sqlalchemy import text

from posts.media import Media
from posts.states import PostStatus
from scheduler import demo
from scheduler.cli import cli

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00"
       b"\x00:~\x9bU\x00\x00\x00\nIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
       b"\x00\x00IEND\xaeB`\x82")


def factpost(config: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_office(request, tmp_path, monkeypatch):
    """The demo's database, published through the emulator: on its own SQLite file, or with
    the demo's config pointed at the test PostgreSQL database."""
    if request.param == "postgresql":
        postgres_store().close()
        monkeypatch.setattr(demo, "DEMO_CONFIG", demo.DEMO_CONFIG.replace(
            'url = "sqlite:///factpost.db"', f'url = "{POSTGRES_URL}"'))
    _, published, store, emulator = demo.run_demo(tmp_path, spacing=timedelta(0))
    emulator.stop()
    # Every post the demo queued went out (how many depends on the platforms it covers).
    assert published.published == len(store.history.search()) > 0
    yield tmp_path / "config.toml", store
    store.close()


def tamper(store, config: Path, sql: str) -> None:
    """Run `sql` on the database behind factpost's back: with Python's sqlite3 module on the
    demo's file (what `sqlite3 factpost.db` does), or a plain connection on PostgreSQL."""
    if store.engine.dialect.name == "sqlite":
        with sqlite3.connect(config.parent / "factpost.db") as raw:
            raw.execute(sql)
    else:
        with store.engine.begin() as c:
            c.execute(text(sql))


def test_the_demo_s_records_export_and_verify_and_an_edited_or_deleted_row_is_named(
        demo_office, tmp_path):
    config, store = demo_office
    out = tmp_path / "records"
    exported = factpost(config, "archive", "export", str(out))
    assert exported.exit_code == 0, exported.output
    n = len(store.history.search())  # every post the demo published
    assert f"{n} posts, {n} text versions, {n} attempts" in exported.output
    checked = factpost(config, "archive", "verify", str(out))
    assert checked.exit_code == 0, checked.output
    assert checked.output.startswith(f"archive {out} verified: 16 files, ")

    posts = jsonl(out / "posts.jsonl")
    assert len(posts) == n and all(p["status"] == "published" for p in posts)
    assert all(p["remote_id"] and p["remote_url"].startswith("https://") for p in posts)
    documents = jsonl(out / "documents.jsonl")
    assert {p["document_id"] for p in posts} == {d["id"] for d in documents}
    sections = {s["id"] for s in jsonl(out / "sections.jsonl")}
    assert {p["section_id"] for p in posts} == sections
    # The demo's two sheets: the English one and its Arabic version.
    assert {d["source_name"] for d in documents} == {"factsheet.txt", "factsheet_ar.txt"}
    assert {a["remote_id"] for a in jsonl(out / "attempts.jsonl")} == {
        p["remote_id"] for p in posts}
    trail = jsonl(out / "audit.jsonl")
    manifest = json.loads((out / "manifest.json").read_text())
    assert [r["seq"] for r in trail] == list(range(1, len(trail) + 1))
    assert manifest["audit"]["last_hash"] == trail[-1]["row_hash"] == \
        manifest["audit"]["trail_head"]["row_hash"]
    # The CSV twin holds the same rows; every time is ISO 8601 in UTC.
    for table in ("posts", "texts", "attempts", "audit"):
        with (out / f"{table}.csv").open(encoding="utf-8", newline="") as f:
            assert len(list(csv.DictReader(f))) == len(jsonl(out / f"{table}.jsonl"))
    assert all(r["at"].endswith("+00:00") for r in trail)
    assert all(datetime.fromisoformat(p["published_at"]).utcoffset() == timedelta(0)
               for p in posts)

    assert factpost(config, "audit", "verify").exit_code == 0
    row = trail[20]
    tamper(store, config, f"UPDATE audit_log SET reason = 'nothing to see' WHERE id = {row['id']}")
    changed = factpost(config, "audit", "verify")
    assert changed.exit_code == 1
    assert changed.output.startswith(f"factpost: error: audit row {row['id']} ({row['at']}, "
                                     f"place {row['seq']}): its content does not match its hash")
    # The archive written before keeps the trail as it was.
    assert factpost(config, "archive", "verify", str(out)).exit_code == 0

    # A row no text version points at (a publish), and the rows either side of it in the
    # chain (on PostgreSQL the daemon's account threads commit out of id order).
    gone = next(i for i in range(30, len(trail)) if trail[i]["action"] == "publish")
    before, after = trail[gone - 1], trail[gone + 1]
    tamper(store, config, f"UPDATE audit_log SET reason = {_quote(row['reason'])} "
                          f"WHERE id = {row['id']}")
    tamper(store, config, f"DELETE FROM audit_log WHERE id = {trail[gone]['id']}")
    deleted = factpost(config, "audit", "verify")
    assert deleted.exit_code == 1
    assert deleted.output == (
        f"factpost: error: audit row {after['id']} ({after['at']}, place {after['seq']}): "
        f"place {gone + 1} missing between row {before['id']} (place {gone}) and it; a row "
        f"was deleted (the deleted row's hash was {trail[gone]['row_hash']})\n")


def _quote(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def rehash(out: Path) -> None:
    """Rewrite the manifest's hashes to match the files, as a forger would."""
    manifest = json.loads((out / "manifest.json").read_text())
    for entry in manifest["files"]:
        data = (out / entry["path"]).read_bytes()
        entry["sha256"], entry["bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    (out / "manifest.json").write_text(json.dumps(manifest))


def test_an_archive_changed_after_export_is_named(office, tmp_path):
    for i in range(3):
        office.add(f"Road {i} open.")
    office.dispatcher().tick(datetime.now(UTC))
    out = tmp_path / "records"
    assert factpost(office.config_path, "archive", "export", str(out)).exit_code == 0
    pristine = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def restore():
        for extra in set(out.rglob("*.txt")):
            extra.unlink()
        for name, data in pristine.items():
            (out / name).write_bytes(data)

    def verify() -> str:
        result = factpost(office.config_path, "archive", "verify", str(out))
        assert result.exit_code == 1, result.output
        return result.output

    posts = (out / "posts.jsonl").read_text().replace("Road 1 open.", "Road 1 closed.")
    (out / "posts.jsonl").write_text(posts)
    assert f"{out / 'posts.jsonl'}: SHA-256 " in verify()
    assert "the file was changed after export" in verify()
    restore()
    (out / "notes.txt").write_text("added")
    assert verify() == f"factpost: error: {out / 'notes.txt'}: not in the manifest; it was " \
                       "added after export\n"
    restore()
    # A forger who drops an audit row and rewrites the manifest's hashes is caught by the chain.
    lines = (out / "audit.jsonl").read_text().splitlines(keepends=True)
    dropped = json.loads(lines[3])
    (out / "audit.jsonl").write_text("".join(lines[:3] + lines[4:]))
    rehash(out)
    assert f"place {dropped['seq']} missing between row" in verify()
    restore()
    # ... and one who edits a row's reason and its hash, at the next row.
    rows = [json.loads(line) for line in lines]
    from db.audit import row_digest

    rows[2]["reason"] = "cleared by nobody"
    rows[2]["row_hash"] = row_digest(rows[2])
    (out / "audit.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    rehash(out)
    assert f"audit row {rows[3]['id']} " in verify()
    assert "it records the previous row's hash as" in verify()


def test_an_archive_holds_every_text_version_the_image_and_the_approval(make_office, tmp_path):
    office = make_office(extra="[review]\nrequire_approval = true\n")
    now = datetime.now(UTC)
    post = office.store.posts.add(account="office-x", platform="x", text="Pier 4 open.",
                                  scheduled_at=now - timedelta(seconds=1), actor=AUTHOR,
                                  now=now, status=PostStatus.DRAFT,
                                  media=Media(PNG, "image/png", "Trucks on pier 4"))
    office.store.posts.edit(post.id, actor=AUTHOR, now=now, text="Pier 4 open at noon.")
    approve(office.store, [post.id], actor=APPROVER, now=now)
    assert office.dispatcher().tick(datetime.now(UTC)).published == 1
    out = tmp_path / "records"
    assert factpost(office.config_path, "archive", "export", str(out)).exit_code == 0
    assert factpost(office.config_path, "archive", "verify", str(out)).exit_code == 0
    assert [(t["text"], t["actor"]) for t in jsonl(out / "texts.jsonl")] == [
        ("Pier 4 open.", AUTHOR.name), ("Pier 4 open at noon.", AUTHOR.name)]
    [approval] = jsonl(out / "approvals.jsonl")
    assert approval["actor"] == APPROVER.name and approval["reason"].startswith("approved (version")
    [image] = jsonl(out / "media.jsonl")
    assert image["alt_text"] == "Trucks on pier 4"
    assert (out / image["file"]).read_bytes() == PNG
    assert image["sha256"] == hashlib.sha256(PNG).hexdigest()
    [published] = jsonl(out / "posts.jsonl")
    assert published["remote_url"] and published["media_id"] == image["id"]


def test_a_period_holds_its_stretch_of_the_chain_and_verifies_on_its_own(office, tmp_path):
    early = datetime(2026, 1, 5, 9, tzinfo=UTC)
    late = datetime(2026, 3, 5, 9, tzinfo=UTC)
    for when, words in ((early, "January"), (late, "March")):
        office.store.posts.add(account="office-x", platform="x", text=f"{words} briefing.",
                               scheduled_at=when + timedelta(days=400), actor=AUTHOR,
                               now=when, status=PostStatus.QUEUED)
    office.store.posts.cancel(1, actor=AUTHOR, now=late + timedelta(hours=1))
    out = tmp_path / "march"
    result = factpost(office.config_path, "archive", "export", "--since", "2026-03-01",
                      "--until", "2026-04-01", str(out))
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["audit"]["first_seq"], manifest["audit"]["last_seq"]) == (2, 3)
    assert manifest["audit"]["prev_hash"] != "0" * 64
    assert manifest["period"]["since"] == "2026-02-28T21:00:00.000000+00:00"  # Baghdad, UTC+3
    assert [p["text"] for p in jsonl(out / "posts.jsonl")] == ["January briefing.",
                                                                "March briefing."]
    assert factpost(office.config_path, "archive", "verify", str(out)).exit_code == 0


def test_an_export_never_writes_over_a_folder_or_leaves_half_an_archive(office, tmp_path):
    office.add("Bridge open.")
    (tmp_path / "taken").mkdir()
    result = factpost(office.config_path, "archive", "export", str(tmp_path / "taken"))
    assert (result.exit_code, result.output) == (1, (
        f"factpost: error: {tmp_path / 'taken'} already exists; an archive is never written "
        "over, so give a new folder name\n"))
    backwards = factpost(office.config_path, "archive", "export", "--since", "2026-03-01",
                         "--until", "2026-02-01", str(tmp_path / "none"))
    assert backwards.exit_code == 1 and "is not before --until" in backwards.output
    missing = factpost(office.config_path, "archive", "verify", str(tmp_path / "taken"))
    assert missing.output == (f"factpost: error: {tmp_path / 'taken'} has no manifest.json; "
                              "it is not a factpost archive, or its manifest was removed\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["taken", "config.toml", "factpost.db", "factpost.db-wal", "factpost.db-shm"])

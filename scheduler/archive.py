"""The records archive: a period's posts, everything about them and the audit trail, written as
a self-describing folder that can be checked without factpost (docs/RECORDS.md, field by field).

Posts of a government office are federal records, to be managed in the agency's own
recordkeeping system with their content, context and metadata (NARA Bulletin 2014-02,
https://www.archives.gov/records-mgmt/bulletins/2014/2014-02.html; GRS 6.4 item 020 schedules
agency postings on social media, https://www.archives.gov/records-mgmt/grs/faqs-for-grs-6-4 and
https://www.archives.gov/records-mgmt/memos/ac-06-2023). A bundle holds each table
twice, as JSON Lines (exact: every value as stored) and CSV (for spreadsheets), the post images
as files, and `manifest.json`: what the bundle is, the period, the stretch of the audit chain it
holds with the hash before it and the trail's head when written, and the SHA-256 and size of
every other file. `verify` checks every file against the manifest and the audit rows' chain.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from db.audit import ChainState, check_chain, check_end, stamp
from db.errors import ChainBroken
from db.store import Store
from posts.errors import FactpostError
from scheduler.records import csv_safe

FORMAT = "factpost-archive"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"

#: Each table of a bundle and its fields, in file order (docs/RECORDS.md describes each field).
TABLES: dict[str, tuple[str, ...]] = {
    "posts": ("id", "account", "platform", "status", "text", "scheduled_at", "published_at",
              "remote_id", "remote_url", "thread_position", "thread_size", "parent_id",
              "pair_id", "document_id", "section_id", "media_id", "created_by", "created_at",
              "updated_at", "approved_by", "approved_at", "approved_content", "attempt_count",
              "last_error"),
    "texts": ("id", "post_id", "at", "actor", "audit_id", "text", "media_id"),
    "approvals": ("audit_id", "post_id", "at", "actor", "reason"),
    "attempts": ("id", "post_id", "worker", "started_at", "finished_at", "outcome",
                 "error_code", "error_message", "explanation", "remote_id"),
    "media": ("id", "sha256", "mime_type", "size", "alt_text", "created_at", "file"),
    "documents": ("id", "source_name", "content_hash", "title", "imported_at", "imported_by"),
    "sections": ("id", "document_id", "position", "heading", "text"),
    "audit": ("id", "seq", "at", "actor", "action", "post_id", "account", "from_status",
              "to_status", "reason", "prev_hash", "row_hash"),
}

#: File name extensions of the image types factpost accepts (posts/media.py).
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif",
               "image/webp": "webp"}


class ArchiveError(FactpostError):
    """An archive that cannot be written, or that does not verify: the message names the
    file (and row) and what differs."""


@dataclass(frozen=True)
class Exported:
    """What `export` wrote: rows per table, image files, the audit places held."""

    out: Path
    rows: dict[str, int]
    images: int
    first: int | None
    last: int | None


@dataclass(frozen=True)
class ArchiveVerified:
    """An archive that verified: files checked, audit rows and where their chain ends, and
    the manifest's own SHA-256 (to note down elsewhere: it pins everything else)."""

    files: int
    audit_rows: int
    end: ChainState
    manifest_sha256: str


def _value(value):
    return stamp(value) if isinstance(value, datetime) else value


def _record(obj, fields: Iterable[str]) -> dict:
    return {f: _value(getattr(obj, f) if not isinstance(obj, Mapping) else obj[f])
            for f in fields}


class _TableWriter:
    """One table as `NAME.jsonl` and `NAME.csv`, written side by side."""

    def __init__(self, folder: Path, name: str) -> None:
        self.name, self.fields, self.rows = name, TABLES[name], 0
        self._jsonl = (folder / f"{name}.jsonl").open("w", encoding="utf-8", newline="\n")
        self._csv_file = (folder / f"{name}.csv").open("w", encoding="utf-8", newline="")
        # The dialect of every factpost export: RFC 4180's CRLF, formula-like cells made text
        # (scheduler/records.py); the JSON Lines file keeps every value exactly.
        self._csv = csv.DictWriter(self._csv_file, fieldnames=self.fields, lineterminator="\r\n")
        self._csv.writeheader()

    def write(self, record: dict) -> None:
        self._jsonl.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._csv.writerow({k: csv_safe(v) for k, v in record.items()})
        self.rows += 1

    def close(self) -> None:
        self._jsonl.close()
        self._csv_file.close()


def export(store: Store, out: Path, *, since: datetime | None, until: datetime | None,
           now: datetime, created_by: str, version: str) -> Exported:
    """Write the records of [since, until) (UTC; None: from the start, to now) to the new
    folder `out`: built beside it under a temporary name and renamed when complete, so a
    failure leaves nothing half-written. Raises `ArchiveError` when `out` exists or its parent
    folder does not."""
    out = Path(out)
    if out.exists():
        raise ArchiveError(f"{out} already exists; an archive is never written over, so give a "
                           "new folder name")
    if not out.parent.is_dir():
        raise ArchiveError(f"{out.parent} is not a folder; create it first or choose another "
                           "place for the archive")
    if since is not None and until is not None and since >= until:
        raise ArchiveError(f"--since ({stamp(since)}) is not before --until ({stamp(until)}); "
                           "give a period that starts before it ends")
    building = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(mode=0o700)
    try:
        result = _write_bundle(store, building, since=since, until=until, now=now,
                               created_by=created_by, version=version)
        building.rename(out)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return Exported(out, *result)


def _write_bundle(store: Store, folder: Path, *, since, until, now, created_by, version):
    writers = {name: _TableWriter(folder, name) for name in TABLES}
    (folder / "media").mkdir()
    images = set()
    try:
        with store.records.snapshot(since, until) as reader:
            period = reader.period
            for post in reader.posts():
                writers["posts"].write(_record(post, TABLES["posts"]))
            for text in reader.texts():
                writers["texts"].write(_record(text, TABLES["texts"]))
            for entry in reader.approvals():
                writers["approvals"].write({"audit_id": entry.id, "post_id": entry.post_id,
                                            "at": stamp(entry.at), "actor": entry.actor,
                                            "reason": entry.reason})
            for attempt in reader.attempts():
                writers["attempts"].write(_record(attempt, TABLES["attempts"]))
            for item in reader.media():
                name = f"media/{item.sha256}.{_EXTENSIONS.get(item.mime_type, 'bin')}"
                if name not in images:
                    (folder / name).write_bytes(item.content)
                    images.add(name)
                writers["media"].write({**_record(item, TABLES["media"][:-1]), "file": name})
            for document in reader.documents():
                writers["documents"].write(_record(document, TABLES["documents"]))
            for section in reader.sections():
                writers["sections"].write(_record(section, TABLES["sections"]))
            for row in reader.audit_rows():
                writers["audit"].write(_record(row, TABLES["audit"]))
    finally:
        for writer in writers.values():
            writer.close()
    rows = {name: writer.rows for name, writer in writers.items()}
    files = [_describe(folder, path, rows.get(path.split(".")[0]))
             for path in sorted(_files(folder))]
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "documentation": "docs/RECORDS.md in factpost's source (every file and field)",
        "created_at": stamp(now), "created_by": created_by, "factpost_version": version,
        "period": {"since": stamp(since) if since else None,
                   "until": stamp(until) if until else None},
        "audit": {"first_seq": period.first, "last_seq": period.last,
                  "prev_hash": period.before,
                  "last_hash": _last_hash(folder) if period.first else period.before,
                  "trail_head": {"seq": period.head.seq, "row_hash": period.head.row_hash},
                  "hash": "SHA-256 of the JSON array of seq, prev_hash, id, at, actor, "
                          "action, post_id, account, from_status, to_status, reason "
                          "(UTF-8, no spaces; docs/RECORDS.md)"},
        "tables": {name: {"files": [f"{name}.jsonl", f"{name}.csv"], "fields": list(fields)}
                   for name, fields in TABLES.items()},
        "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                   encoding="utf-8")
    return rows, len(images), period.first, period.last


def _last_hash(folder: Path) -> str:
    last = None
    with (folder / "audit.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            last = line
    return json.loads(last)["row_hash"]


def _files(folder: Path) -> list[str]:
    """Every file under `folder` but the manifest, as paths relative to it with `/`."""
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*")
                  if path.is_file() and path != folder / MANIFEST)


def _sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _describe(folder: Path, name: str, rows: int | None) -> dict:
    sha, size = _sha256(folder / name)
    entry = {"path": name, "sha256": sha, "bytes": size}
    if rows is not None and not name.startswith("media/"):
        entry["rows"] = rows
    return entry


def verify(out: Path) -> ArchiveVerified:
    """Check the archive in `out`: every file the manifest lists has its SHA-256 and size, no
    other file is there, and the audit rows form an unbroken chain from the manifest's
    `prev_hash` to its `last_hash`. Raises `ArchiveError` naming the first problem (for the
    chain: the row's id, time, place and what differs)."""
    out = Path(out)
    if not out.is_dir():
        raise ArchiveError(f"{out} is not a folder; give the folder 'factpost archive export' "
                           "wrote")
    manifest_path = out / MANIFEST
    try:
        raw = manifest_path.read_bytes()
        manifest = json.loads(raw)
        audit_info = manifest["audit"]
        listed = {entry["path"]: entry for entry in manifest["files"]}
    except FileNotFoundError:
        raise ArchiveError(f"{out} has no {MANIFEST}; it is not a factpost archive, or its "
                           "manifest was removed") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ArchiveError(f"{manifest_path}: not a factpost archive manifest ({exc}); restore "
                           "it from another copy") from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise ArchiveError(f"{manifest_path}: format {manifest.get('format')!r} version "
                           f"{manifest.get('format_version')!r}; this factpost reads {FORMAT} "
                           f"version {FORMAT_VERSION}")
    for name, entry in listed.items():
        path = out / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise ArchiveError(f"{manifest_path}: lists {name!r}, outside the archive")
        if not path.is_file():
            raise ArchiveError(f"{path}: missing; the manifest lists it (SHA-256 "
                               f"{entry['sha256']})")
        sha, size = _sha256(path)
        if sha != entry["sha256"] or size != entry["bytes"]:
            raise ArchiveError(f"{path}: SHA-256 {sha} ({size} bytes), but the manifest records "
                               f"{entry['sha256']} ({entry['bytes']} bytes); the file was "
                               "changed after export")
    extra = sorted(set(_files(out)) - set(listed))
    if extra:
        raise ArchiveError(f"{out / extra[0]}: not in the manifest; it was added after export")
    audit_path = out / "audit.jsonl"
    first = audit_info["first_seq"]
    start = ChainState((first or 1) - 1, audit_info["prev_hash"])
    rows = _audit_rows(audit_path)
    try:
        end = check_chain(rows, start)
        check_end(end, ChainState(audit_info["last_seq"] or start.seq, audit_info["last_hash"]),
                  "the manifest")
    except ChainBroken as exc:
        raise ArchiveError(f"{audit_path}: {exc}") from None
    return ArchiveVerified(len(listed), end.seq - start.seq, end,
                           hashlib.sha256(raw).hexdigest())


def _audit_rows(path: Path):
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            try:
                row = json.loads(line)
                missing = [f for f in TABLES["audit"] if f not in row]
            except ValueError as exc:
                raise ArchiveError(f"{path}, line {number}: not JSON ({exc})") from None
            if missing:
                raise ArchiveError(f"{path}, line {number}: no {', '.join(missing)}")
            yield row

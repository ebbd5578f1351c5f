"""The emulator's own view of an HTTP exchange, independent of `http.server`."""

from __future__ import annotations

import email.parser
import email.policy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, urlsplit

JSON = "application/json; charset=utf-8"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


@dataclass(frozen=True)
class UploadedFile:
    filename: str | None
    content_type: str | None
    content: bytes


@dataclass
class Request:
    method: str
    target: str  # the raw request target: path and query, as sent
    headers: Mapping[str, str]  # case-insensitive (email.message.Message from http.server)
    body: bytes = b""

    @cached_property
    def path(self) -> str:
        return urlsplit(self.target).path

    @cached_property
    def query_string(self) -> str:
        return urlsplit(self.target).query

    @cached_property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.query_string, keep_blank_values=True))

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    @cached_property
    def form(self) -> dict[str, str]:
        """Form-encoded or multipart text fields, or JSON object fields as strings; {} for
        anything else."""
        if self.content_type == MULTIPART:
            return {name: part.content.decode("utf-8", "replace")
                    for name, part in self._multipart.items() if part.filename is None}
        if self.content_type == FORM:
            return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))
        if self.content_type == "application/json":
            try:
                data = self.json()
            except ValueError:
                return {}
            if isinstance(data, dict):
                return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
        return {}

    @property
    def files(self) -> dict[str, UploadedFile]:
        """The file parts of a multipart body, by field name."""
        return {n: p for n, p in self._multipart.items() if p.filename is not None}

    @cached_property
    def _multipart(self) -> dict[str, UploadedFile]:
        if self.content_type != MULTIPART:
            return {}
        head = f"Content-Type: {self.headers.get('Content-Type')}\r\n\r\n".encode("latin-1")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + self.body)
        parts: dict[str, UploadedFile] = {}
        for part in message.iter_parts() if message.is_multipart() else ():
            name = part.get_param("name", header="content-disposition")
            if name:
                parts[name] = UploadedFile(part.get_filename(), part.get_content_type()
                                           if part.get("Content-Type") else None,
                                           part.get_payload(decode=True) or b"")
        return parts

    def json(self) -> Any:
        """The body as JSON; raises ValueError when it is not."""
        return json.loads(self.body.decode("utf-8"))

    def own_url(self) -> str:
        """The URL as the client addressed this server (scheme is always http)."""
        return f"http://{self.headers.get('Host', '')}{self.target}"


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering
    auth_ok: bool | None = None
    fault: str | None = None

    @classmethod
    def dropped(cls) -> Response:
        return cls(status=0, drop=True)


def json_response(status: int, payload: Any, *, content_type: str = JSON,
                  headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, content_type, dict(headers or {}))


def html_response(status: int, html: str) -> Response:
    return Response(status, html.encode("utf-8"), "text/html")

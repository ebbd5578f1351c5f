"""The part of the Telegram Bot API that factpost uses, answered the way the Bot API answers.

    POST /bot<token>/getMe          https://core.telegram.org/bots/api#getme
    POST /bot<token>/getChat        https://core.telegram.org/bots/api#getchat
    POST /bot<token>/sendMessage    https://core.telegram.org/bots/api#sendmessage
    POST /bot<token>/sendPhoto      https://core.telegram.org/bots/api#sendphoto
    POST /bot<token>/deleteMessage  https://core.telegram.org/bots/api#deletemessage

Parameters come as a query string, form fields, multipart fields or JSON, objects among them
as JSON text (https://core.telegram.org/bots/api#making-requests). Every answer is
{"ok": true, "result": ...} or {"ok": false, "error_code", "description"[, "parameters"]}; the
descriptions are those the Bot API gives (quoted in public reports, linked where used). A bot
may send about 20 messages a minute to one channel
(https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this); past that
it gets 429 with `parameters.retry_after` (https://core.telegram.org/bots/api#responseparameters).
There is no method that reads a channel's history, and the emulator offers none either.
Telegram takes the same text twice: no duplicate refusal exists to emulate.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable, Mapping

from emulator.faults import FaultPlan, run_publish
from emulator.messages import Request, Response, json_response
from emulator.world import StoredImage, Window, World, numeric_id
from posts.media import JPEG, PNG, WEBP, sniff_image_type

PATH = re.compile(r"^/bot([^/]+)/(getMe|getChat|sendMessage|sendPhoto|deleteMessage)$")
#: https://core.telegram.org/bots/api#sendmessage, #sendphoto ("after entities parsing"; as
#: measured, code points: https://github.com/FerroxLabs/wayland/issues/934)
TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024
PHOTO_TYPES = (JPEG, PNG, WEBP)
MESSAGES_PER_MINUTE = 20
#: What a fault's 429 asks a client to wait, in seconds.
FAULT_RETRY_AFTER = 1


def error(code: int, description: str, **parameters: object) -> Response:
    body: dict = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return json_response(code, body)


def ok(result: object) -> Response:
    return json_response(200, {"ok": True, "result": result})


class TelegramDouble:
    """Channels, each with its posting bot, on the emulator (doubles.py `Double`)."""

    name = "telegram"
    duplicates_refused = False
    #: Telegram has no duplicate refusal at all, so none can be switched on to test one.
    refusal_exists = False

    def __init__(self, world: World, faults: FaultPlan, wait: Callable[[float], object]) -> None:
        self.world, self.faults, self.wait = world, faults, wait
        self.channels: dict[str, dict] = {}  # by handle, without "@"

    def owns(self, request: Request) -> bool:
        return PATH.match(request.path) is not None

    def register(self, handle: str, credentials: Mapping[str, str]) -> None:
        handle = handle.lstrip("@")
        numeric = handle if re.fullmatch(r"-?\d+", handle) else "-100" + numeric_id(handle, 10)
        with self.world.lock:
            channel = self.channels.setdefault(handle, {"messages": [], "next_id": 1,
                                                        "window": Window(MESSAGES_PER_MINUTE,
                                                                         60)})
            channel.update(token=credentials["bot_token"], id=int(numeric),
                           username=None if handle == numeric else handle,
                           title=f"{handle} (emulated channel)")

    # -- answering ------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        token, method = PATH.match(request.path).groups()
        with self.world.lock:
            mine = [h for h, c in self.channels.items() if c["token"] == token]
        if not mine:
            # What the Bot API answers a revoked or mistyped token.
            response = error(401, "Unauthorized")
            response.auth_ok = False
            return response
        params = self._params(request)
        if method == "getMe":
            response = ok({"id": int(numeric_id(token, 10)), "is_bot": True,
                           "first_name": "factpost", "username": f"{mine[0]}_bot"})
        else:
            handle = self._chat(params.get("chat_id"), mine)
            if handle is None:
                # https://github.com/bottenderjs/messaging-apis/issues/414
                response = error(400, "Bad Request: chat not found")
            elif method == "getChat":
                # A ChatFullInfo: these two are always present
                # (https://core.telegram.org/bots/api#chatfullinfo).
                response = ok({**self._chat_object(handle), "accent_color_id": 0,
                               "max_reaction_count": 11})
            else:
                act = (self._delete if method == "deleteMessage" else self._send)
                response = run_publish(
                    self.faults.take(self.name), lambda: act(handle, method, request, params),
                    unavailable=lambda: error(500, "Internal Server Error"),
                    rate_limited=lambda: error(
                        429, f"Too Many Requests: retry after {FAULT_RETRY_AFTER}",
                        retry_after=FAULT_RETRY_AFTER),
                    # https://github.com/TelegramBots/Telegram.Bot/issues/648
                    refused=lambda: error(403, "Forbidden: bot is not a member of the channel "
                                               "chat"),
                    wait=self.wait)
        response.auth_ok = True
        return response

    def _params(self, request: Request) -> dict[str, str]:
        params = dict(request.query)
        params.update(request.form)
        return params

    def _chat(self, wanted: str | None, mine: list[str]) -> str | None:
        for handle in mine:
            channel = self.channels[handle]
            if wanted in (str(channel["id"]), f"@{channel['username']}"):
                return handle
        return None

    def _chat_object(self, handle: str) -> dict:
        channel = self.channels[handle]
        chat = {"id": channel["id"], "type": "channel", "title": channel["title"]}
        if channel["username"]:
            chat["username"] = channel["username"]
        return chat

    def _send(self, handle: str, method: str, request: Request, params: dict) -> Response:
        photo = None
        if method == "sendPhoto":
            upload = request.files.get("photo")
            if upload is None:
                return error(400, "Bad Request: there is no photo in the request")
            photo = upload.content
            text = params.get("caption") or ""
            if len(text) > CAPTION_LIMIT:  # the caption's form of "message is too long"
                return error(400, "Bad Request: message caption is too long")
        else:
            text = params.get("text") or ""
            if not text.strip():
                return error(400, "Bad Request: message text is empty")
            if len(text) > TEXT_LIMIT:
                # https://github.com/tdlib/telegram-bot-api/issues/374
                return error(400, "Bad Request: message is too long")
        if photo is not None and sniff_image_type(photo) not in PHOTO_TYPES:
            # https://github.com/mullwar/telebot/issues/144
            return error(400, "Bad Request: IMAGE_PROCESS_FAILED")
        reply = json.loads(params.get("reply_parameters") or "null") or {}
        with self.world.lock:
            channel = self.channels[handle]
            now = self.world.clock()
            if channel["window"].exhausted(now):
                wait = max(1, channel["window"].reset_epoch(now) - int(now))
                return error(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
            by_id = {m["message_id"]: m for m in channel["messages"]}
            parent = reply.get("message_id")
            if parent is not None and parent not in by_id and not reply.get(
                    "allow_sending_without_reply"):
                # https://github.com/aiogram/aiogram/pull/447
                return error(400, "Bad Request: reply message not found")
            channel["window"].hit(now)
            message = {"message_id": channel["next_id"], "date": int(now),
                       "chat": self._chat_object(handle),
                       "sender_chat": self._chat_object(handle)}
            channel["next_id"] += 1
            if parent in by_id:
                message["reply_to_message"] = {k: v for k, v in by_id[parent].items()
                                               if k != "reply_to_message"}
            if photo is None:
                message["text"] = text
                # Echoed where set, as Message.link_preview_options is
                # (https://core.telegram.org/bots/api#message).
                if params.get("link_preview_options"):
                    message["link_preview_options"] = json.loads(params["link_preview_options"])
            else:
                image = StoredImage(f"tg-photo-{len(self.world.images) + 1}", handle,
                                    sniff_image_type(photo), photo)
                self.world.images[image.id] = image
                width, height = _size(photo)
                message["photo"] = [{"file_id": image.id, "file_unique_id": image.id,
                                     "width": width, "height": height,
                                     "file_size": len(photo)}]
                if text:
                    message["caption"] = text
            channel["messages"].append(message)
            return ok(message)

    def _delete(self, handle: str, method: str, request: Request, params: dict) -> Response:
        with self.world.lock:
            messages = self.channels[handle]["messages"]
            wanted = params.get("message_id")
            kept = [m for m in messages if str(m["message_id"]) != wanted]
            if len(kept) == len(messages):
                # A message id names a message of this chat only: another channel's is not
                # found here. https://github.com/airatk/kaishnik-bot/issues/1
                return error(400, "Bad Request: message to delete not found")
            messages[:] = kept
            return ok(True)

    # -- what tests and the control API read ---------------------------------------------------

    def posts(self, handle: str) -> list[dict]:
        with self.world.lock:
            messages = self.channels[handle.lstrip("@")]["messages"]
            return [{"id": str(m["message_id"]), "text": m.get("text", m.get("caption", "")),
                     "reply_to": (str(m["reply_to_message"]["message_id"])
                                  if "reply_to_message" in m else None),
                     "media": [self.world.images[p["file_id"]].snapshot()
                               for p in m.get("photo", [])[:1]]}
                    for m in messages]

    def lift_limits(self, handle: str) -> None:
        with self.world.lock:
            self.channels[handle.lstrip("@")]["window"] = Window(10**9, 60)

    def state_snapshot(self) -> dict:
        with self.world.lock:
            return {h: list(c["messages"]) for h, c in self.channels.items()}

    def clear(self) -> None:
        with self.world.lock:
            for channel in self.channels.values():
                channel["messages"].clear()
                channel["next_id"] = 1
                channel["window"].restart(self.world.clock())


def _size(photo: bytes) -> tuple[int, int]:
    """A PNG's width and height from its header; (0, 0) where not read."""
    if photo[:8] == b"\x89PNG\r\n\x1a\n" and len(photo) >= 24:
        return struct.unpack(">II", photo[16:24])
    return 0, 0

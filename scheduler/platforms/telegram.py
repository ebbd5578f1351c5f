"""Telegram channels through the Bot API, with python-telegram-bot's `Bot` (one bot token per
account; the bot is an administrator of the channel allowed to post).

- Posting: `sendMessage`, https://core.telegram.org/bots/api#sendmessage ("1-4096 characters
  after entities parsing"), and `sendPhoto` with the post as its caption,
  https://core.telegram.org/bots/api#sendphoto ("0-1024 characters after entities parsing";
  a photo at most 10 MB). Text goes out as plain text: no `parse_mode`, so nothing in a
  statement is read as Markdown or HTML (https://core.telegram.org/bots/api#formatting-options);
  Telegram finds the links itself. A thread is a chain of replies (`reply_parameters`, with
  `allow_sending_without_reply` off so a part whose parent was deleted is refused, not
  posted loose).
- Length: Telegram counts entity offsets in UTF-16 code units
  (https://core.telegram.org/bots/api#messageentity); for the message itself one measurement
  (https://github.com/FerroxLabs/wayland/issues/934) found code points counted, others count
  UTF-16 (https://github.com/NousResearch/hermes-agent/pull/8698). factpost measures UTF-16
  code units, never fewer than code points, so a post it passes fits either way.
- Link previews: the account's `link_previews` option (`LinkPreviewOptions.is_disabled`,
  https://core.telegram.org/bots/api#linkpreviewoptions).
- Errors: every answer is {"ok", "error_code", "description", "parameters"}
  (https://core.telegram.org/bots/api#making-requests); a 429 names its wait in
  `parameters.retry_after` (https://core.telegram.org/bots/api#responseparameters). Bots may
  send about 20 messages a minute to one group or channel
  (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this).
- Reading back: the Bot API has no method that reads a channel's history, and a bot is sent
  no update for its own messages, channel posts included
  (https://github.com/rubenlagus/TelegramApi/issues/85,
  https://github.com/yagop/node-telegram-bot-api/issues/1005); a second bot in the channel is
  no reliable witness either, since bots do not see other bots' posts
  (https://core.telegram.org/bots/faq#why-doesn-39t-my-bot-see-messages-from-other-bots,
  https://github.com/eternnoir/pyTelegramBotAPI/issues/2214). So `recent_posts` raises
  `TimelineUnreadable`, and a post whose outcome is unclear goes to needs_review with that
  reason (scheduler/dispatch.py), never out again unseen.

python-telegram-bot is asyncio-only; each publisher runs its own event loop, entered only by
the one thread that drains its account at a time, so the daemon's threads stay as they are.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from posts.media import JPEG, MB, PNG, WEBP, Media, MediaRules
from posts.split import TextRules
from scheduler.platforms.base import (
    Account,
    AccountInfo,
    Ambiguous,
    Budget,
    CredentialsRejected,
    Deleted,
    Permanent,
    Published,
    PublishError,
    RateLimited,
    RateLimitState,
    RemotePost,
    Retryable,
)
from scheduler.platforms.http import Redactor, is_loopback, quiet
from scheduler.platforms.spec import Option, PlatformSpec

if TYPE_CHECKING:  # python-telegram-bot and httpx load with the first publisher
    import telegram

DEFAULT_BASE = "https://api.telegram.org"
#: sendMessage's limit, https://core.telegram.org/bots/api#sendmessage
MESSAGE_LIMIT = 4096
#: sendPhoto's caption limit, https://core.telegram.org/bots/api#sendphoto
CAPTION_LIMIT = 1024
# httpx logs every request URL at INFO, and a Bot API URL holds the bot token; the library
# logs its base URL (with the token) at DEBUG.
quiet("telegram", "httpcore")
_HTTPX_LEVEL = "WARNING"


def utf16_length(text: str) -> int:
    """`text`'s length in UTF-16 code units (a character outside the BMP counts 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _utf16_weight(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def _handle_problem(handle: str) -> str | None:
    # A username is 5-32 letters, digits and underscores, starting with a letter
    # (https://www.rubydoc.info/gems/validates_im/TelegramValidator); collectible ones bought
    # on Fragment may have 4 (https://gist.github.com/Laiteux/bc6895e8e3dcfe7ffaa91cf2c1077031).
    # A channel's numeric id, as the Bot API gives it, starts -100.
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,31}", handle) or re.fullmatch(r"-100\d+", handle):
        return None
    return f"{handle!r} is neither a channel @username nor a channel id"


def _flag_problem(value: object) -> str | None:
    return None if isinstance(value, bool) else f"{value!r} is not true or false"


SPEC = PlatformSpec(
    name="telegram",
    title="Telegram",
    docs="https://core.telegram.org/bots/api",
    # 4,096 per message; a longer section is a chain of replies, numbered as on X, packed by
    # whole paragraphs where they fit (a channel post reads like a page, not a tweet).
    text=TextRules(limit=MESSAGE_LIMIT, measure=utf16_length, unit="characters (UTF-16)",
                   threads=True, packs="paragraphs", char_weight=_utf16_weight),
    # sendPhoto takes JPEG, PNG and WEBP photos up to 10 MB. The Bot API has no alt text for a
    # photo: factpost still asks for one (the office's record, the other platforms) but
    # cannot send it.
    media=MediaRules(types=(JPEG, PNG, WEBP), max_bytes=10 * MB, max_alt_chars=1000,
                     alt_text=False, max_caption=CAPTION_LIMIT),
    credentials=("BOT_TOKEN",),
    handle="the channel's @username or its numeric id (-100...)",
    api_url=DEFAULT_BASE,
    budget=lambda options: Budget(20, 60),
    options=(Option("link_previews", True, _flag_problem,
                    "write link_previews = true or link_previews = false"),),
    # Message ids in a chat grow by one with each message.
    ordered_ids=True,
    timeline=False,
    handle_problem=_handle_problem,
)


class TimelineUnreadable(Permanent):
    explanation = ("the Telegram Bot API cannot read a channel's posts back, so whether the "
                   "post went out cannot be checked")


def chat_id(handle: str) -> str | int:
    """The Bot API's `chat_id` for an account's handle: a numeric id as a number, a channel
    username with its "@" (the config keeps it without)."""
    handle = handle.strip()
    return int(handle) if re.fullmatch(r"-?\d+", handle) else "@" + handle.lstrip("@")


def message_url(handle: str, message_id: str) -> str:
    """A public channel's t.me link, or a private one's (t.me/c/ID without its -100)."""
    chat = chat_id(handle)
    if isinstance(chat, int):
        return f"https://t.me/c/{str(chat).removeprefix('-100').lstrip('-')}/{message_id}"
    return f"https://t.me/{chat[1:]}/{message_id}"


class TelegramPublisher:
    platform = SPEC.name

    def __init__(self, account: Account, credentials: Mapping[str, str], *,
                 session: object | None = None) -> None:
        # `session` (a requests session) does not apply: the library speaks httpx.
        import asyncio
        import logging

        import telegram
        from telegram.request import HTTPXRequest

        logging.getLogger("httpx").setLevel(_HTTPX_LEVEL)
        self.account_name = account.name
        self.handle = account.handle
        self._chat = chat_id(account.handle)
        self._redact = Redactor(credentials.values())
        self._rate_limit: RateLimitState | None = None
        self._previews = bool(SPEC.option(account, "link_previews"))
        timeout = account.timeout_seconds
        # Loopback traffic (the emulator) must not be carried off by HTTP(S)_PROXY.
        request = HTTPXRequest(connection_pool_size=2, connect_timeout=timeout,
                               read_timeout=timeout, write_timeout=timeout,
                               media_write_timeout=timeout, pool_timeout=timeout,
                               httpx_kwargs={"trust_env": not is_loopback(account.api_url)})
        self._loop = asyncio.new_event_loop()
        self._bot = telegram.Bot(credentials["bot_token"],
                                 base_url=account.api_url.rstrip("/") + "/bot",
                                 request=request, get_updates_request=request)

    def __repr__(self) -> str:
        return f"TelegramPublisher(account={self.account_name!r}, chat={self.handle!r})"

    def publish(self, text: str, *, reply_to: str | None = None,
                media: Media | None = None, key: str | None = None) -> Published:
        # The Bot API takes no idempotency key (`key`); see the module docstring.
        from telegram import LinkPreviewOptions, ReplyParameters

        reply = (ReplyParameters(int(reply_to), allow_sending_without_reply=False)
                 if reply_to else None)
        if media is None:
            call = self._bot.send_message(
                self._chat, text, reply_parameters=reply,
                link_preview_options=LinkPreviewOptions(is_disabled=not self._previews))
        else:
            if utf16_length(text) > CAPTION_LIMIT:
                raise Permanent(f"a Telegram photo's caption holds {CAPTION_LIMIT:,} "
                                f"characters and this post has {utf16_length(text):,}; "
                                "shorten it or post the image on its own", code="caption")
            call = self._bot.send_photo(self._chat, media.content, caption=text,
                                        reply_parameters=reply, filename=media.filename)
        message = self._run(call, creating=True)
        remote_id = str(message.message_id)
        return Published(remote_id, message_url(self.handle, remote_id))

    def delete(self, remote_id: str) -> Deleted:
        """Delete one of the channel's messages (base.Deleter) with `deleteMessage`,
        https://core.telegram.org/bots/api#deletemessage. Message ids belong to one chat, so
        only this channel's message can be named; one Telegram does not find is gone."""
        try:
            self._run(self._bot.delete_message(self._chat, int(remote_id)), creating=True)
        except Ambiguous as exc:
            raise Ambiguous("Telegram did not confirm the deletion; factpost asks again before "
                            "saying whether the post is gone", code=exc.code,
                            message=exc.message) from None
        except Permanent as exc:
            # https://github.com/airatk/kaishnik-bot/issues/1 for the answer's wording.
            if "message to delete not found" in (exc.message or "").lower():
                return Deleted(remote_id, already_gone=True)
            raise
        return Deleted(remote_id)

    def recent_posts(self, limit: int = 100, since: datetime | None = None, *,
                     after_id: str | None = None, replies: bool = True) -> list[RemotePost]:
        raise TimelineUnreadable(code="no_history_method",
                                 message="the Bot API has no method that reads a channel's "
                                         "history, and a bot gets no update for its own posts")

    def check(self) -> AccountInfo:
        chat = self._run(self._bot.get_chat(self._chat), creating=False)
        return AccountInfo(str(chat.id), chat.username or self.handle, chat.title or "")

    @property
    def rate_limit(self) -> RateLimitState | None:
        return self._rate_limit

    def _run(self, call, *, creating: bool):
        from telegram.error import TelegramError

        try:
            return self._loop.run_until_complete(call)
        except TelegramError as exc:
            raise self._sort(exc, creating=creating) from None

    def _sort(self, exc: telegram.error.TelegramError, *, creating: bool) -> PublishError:
        import httpx
        from telegram import error

        message = self._redact(str(exc.message))
        common = {"code": type(exc).__name__, "message": message}
        cause = exc.__cause__
        if isinstance(exc, error.RetryAfter):
            with warnings.catch_warnings():  # PTB 22 warns that the type will change
                warnings.simplefilter("ignore")
                wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            reset = datetime.now(UTC) + timedelta(seconds=max(seconds, 1))
            self._rate_limit = RateLimitState(0, reset)
            return RateLimited(f"Telegram asked factpost to wait {seconds:.0f} seconds",
                               reset_at=reset, http_status=429, **common)
        if isinstance(exc, error.InvalidToken):
            return CredentialsRejected("Telegram rejected the bot token; renew it with "
                                       "@BotFather, then run 'factpost accounts resume'",
                                       http_status=401, **common)
        if isinstance(exc, error.Forbidden):
            return Permanent("Telegram refused: the bot may not post to this channel (make "
                             f"it an administrator allowed to post): {message}",
                             http_status=403, **common)
        if isinstance(exc, error.BadRequest | error.ChatMigrated):
            return Permanent(f"Telegram rejected the post: {message}", http_status=400,
                             **common)
        never_sent = isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout
                                | httpx.PoolTimeout) or "Pool timeout" in message
        if never_sent:
            return Retryable("Telegram could not be reached; factpost will try again",
                             **{**common, "code": "connection"})
        if not creating:
            return Retryable("Telegram did not answer; factpost will try again", **common)
        if isinstance(exc, error.TimedOut):
            return Ambiguous("Telegram did not answer in time; the post may or may not be "
                             "live", **{**common, "code": "timeout"})
        # A broken connection after sending, a 5xx, a proxy's HTML page: it may be live.
        return Ambiguous("Telegram's answer was lost or an error; the post may or may not be "
                         "live", **common)


def publisher(account: Account, credentials: Mapping[str, str], *,
              session: object | None = None) -> TelegramPublisher:
    """The publisher of one Telegram channel (registry.py builds it)."""
    return TelegramPublisher(account, credentials, session=session)

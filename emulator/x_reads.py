"""X's answers: reading timelines and posts, deleting posts, and the shapes of X's errors.

    GET    /2/users/:id/tweets      https://docs.x.com/x-api/users/get-posts
    GET    /2/tweets/:id            https://docs.x.com/x-api/posts/get-post-by-id
    DELETE /2/tweets/:id            https://docs.x.com/x-api/posts/delete-post
    GET    /2/users/me              https://docs.x.com/x-api/users/get-my-user

Error bodies are RFC 7807 problems, as X sends them. A post is read back as X returns it, not
as it was sent, with the entities that say where its t.co links lead (`rendered`).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable
from datetime import datetime

from emulator.messages import Request, Response, json_response
from emulator.world import Window
from emulator.x_pricing import POST_DELETE, POST_READ, USER_READ
from emulator.x_state import Tweet, XAccount, XState, x_time
from posts.weight import find_urls

PROBLEM = "application/problem+json; charset=utf-8"
INVALID_REQUEST = "https://api.twitter.com/2/problems/invalid-request"
NOT_FOUND = "https://api.twitter.com/2/problems/resource-not-found"
TWEET_FIELDS = (
    "article", "attachments", "author_id", "card_uri", "community_id", "context_annotations",
    "conversation_id", "created_at", "display_text_range", "edit_controls",
    "edit_history_tweet_ids", "entities", "geo", "id", "in_reply_to_user_id", "lang",
    "media_metadata", "non_public_metrics", "note_tweet", "organic_metrics",
    "possibly_sensitive", "promoted_metrics", "public_metrics", "referenced_tweets",
    "reply_settings", "scopes", "source", "text", "withheld",
)


def problem(status: int, title: str, detail: str, *, type_: str = "about:blank",
            **extra) -> Response:
    payload = {"title": title, "detail": detail, "type": type_, "status": status, **extra}
    return json_response(status, payload, content_type=PROBLEM)


def invalid_request(errors: list[dict]) -> Response:
    return json_response(400, {"errors": errors, "title": "Invalid Request",
                               "detail": "One or more parameters to your request was invalid.",
                               "type": INVALID_REQUEST}, content_type=PROBLEM)


def not_found_error(kind: str, value: str) -> dict:
    return {"value": value, "detail": f"Could not find {kind} with id: [{value}].",
            "title": "Not Found Error", "resource_type": kind, "parameter": "id",
            "resource_id": value, "type": NOT_FOUND}


def too_many_requests() -> Response:
    return problem(429, "Too Many Requests", "Too Many Requests")


def unavailable() -> Response:
    return problem(503, "Service Unavailable", "Service Unavailable")


def limited(state: XState, account: XAccount, endpoint: str,
            handle: Callable[[], Response]) -> Response:
    """`handle()` within the account's window for `endpoint`, or X's 429 once it is used up."""
    with state.world.lock:
        now = state.world.clock()
        window = account.read_window(endpoint)
        if window.exhausted(now):
            return too_many_requests()
        window.hit(now)
        return handle()


def read(state: XState, account: XAccount, endpoint: str, args: tuple[str, ...],
         request: Request) -> Response:
    """Answer a read or a delete (every endpoint but the three that create)."""
    return limited(state, account, endpoint,
                   lambda: _answer(state, account, endpoint, args, request))


def _answer(state: XState, account: XAccount, endpoint: str, args: tuple[str, ...],
            request: Request) -> Response:
    with state.world.lock:
        if endpoint == "GET /2/users/me":
            state.charge(account, endpoint, USER_READ, resources=[f"user:{account.user_id}"])
            return json_response(200, {"data": {"id": account.user_id, "name": account.name,
                                                "username": account.handle}})
        if endpoint == "GET /2/users/:id/tweets":
            return _timeline(state, account, args[0], request)
        if endpoint == "GET /2/tweets/:id":
            return _lookup(state, account, args[0], request)
        return _delete(state, account, args[0])


def _timeline(state: XState, reader: XAccount, user_id: str, request: Request) -> Response:
    owner = state.by_id(user_id)
    if owner is None:
        return json_response(200, {"errors": [not_found_error("user", user_id)]})
    fields = _tweet_fields(request)
    if isinstance(fields, Response):
        return fields
    raw_max = request.query.get("max_results", "10")
    if not raw_max.isdigit() or not 5 <= int(raw_max) <= 100:
        return invalid_request([{
            "parameters": {"max_results": [raw_max]},
            "message": f"The `max_results` query parameter value [{raw_max}] is not "
                       "between 5 and 100"}])
    tweets = sorted(owner.tweets, key=lambda t: int(t.id), reverse=True)
    # `exclude`: "replies", "retweets" (https://docs.x.com/x-api/users/get-posts). The emulator
    # holds no retweets, so only replies are left out.
    excluded = [v for v in request.query.get("exclude", "").split(",") if v]
    if any(v not in ("replies", "retweets") for v in excluded):
        return _bad_param("exclude", request.query["exclude"])
    if "replies" in excluded:
        tweets = [t for t in tweets if t.in_reply_to is None]
    for name, keep in (("since_id", lambda t, v: int(t.id) > v),
                       ("until_id", lambda t, v: int(t.id) < v)):
        if name in request.query:
            bound = _int_param(request.query[name])
            if bound is None:
                return _bad_param(name, request.query[name])
            tweets = [t for t in tweets if keep(t, bound)]
    # start_time is inclusive, end_time exclusive, both to the second
    # (https://docs.x.com/x-api/users/get-posts).
    for name, keep_time in (("start_time", lambda t, v: t.created_at >= v),
                            ("end_time", lambda t, v: t.created_at < v)):
        if name in request.query:
            moment = _time_param(request.query[name])
            if moment is None:
                return _bad_param(name, request.query[name])
            tweets = [t for t in tweets if keep_time(t, moment)]
    token = request.query.get("pagination_token")
    if token is not None:
        try:
            after = int(token, 36)
        except ValueError:
            return _bad_param("pagination_token", token)
        tweets = [t for t in tweets if int(t.id) < after]
    page = tweets[:int(raw_max)]
    if not page:
        return json_response(200, {"meta": {"result_count": 0}})
    state.charge(reader, "GET /2/users/:id/tweets", POST_READ,
                 resources=[f"post:{t.id}" for t in page])
    meta = {"result_count": len(page), "newest_id": page[0].id, "oldest_id": page[-1].id}
    if len(tweets) > len(page):
        meta["next_token"] = _base36(int(page[-1].id))
    return json_response(200, {"data": [_render(t, fields, owner.handle, state) for t in page],
                               "meta": meta})


def _lookup(state: XState, reader: XAccount, tweet_id: str, request: Request) -> Response:
    fields = _tweet_fields(request)
    if isinstance(fields, Response):
        return fields
    found = state.find_tweet(tweet_id)
    if found is None:
        return json_response(200, {"errors": [not_found_error("tweet", tweet_id)]})
    state.charge(reader, "GET /2/tweets/:id", POST_READ, resources=[f"post:{tweet_id}"])
    return json_response(200, {"data": _render(found[1], fields, found[0].handle, state)})


def _delete(state: XState, account: XAccount, tweet_id: str) -> Response:
    found = state.find_tweet(tweet_id)
    # `deleted` says "whether the specified Tweet has been deleted as a result of this
    # request" (https://developer.x.com/en/docs/x-api/tweets/manage-tweets/api-reference/
    # delete-tweets-id): a post already gone is not deleted again.
    if found is None:
        return json_response(200, {"data": {"deleted": False}})
    if found[0] is not account:
        return problem(403, "Forbidden", "You are not allowed to delete this Tweet.")
    account.tweets.remove(found[1])
    state.charge(account, "DELETE /2/tweets/:id", POST_DELETE, tweet_id=tweet_id)
    return json_response(200, {"data": {"deleted": True}})


def window_headers(prefix: str, window: Window, now: float) -> dict[str, str]:
    return {f"{prefix}-limit": str(window.limit),
            f"{prefix}-remaining": str(window.remaining(now)),
            f"{prefix}-reset": str(window.reset_epoch(now))}


def _tweet_fields(request: Request) -> set[str] | Response:
    raw = request.query.get("tweet.fields", "")
    wanted = {f for f in raw.split(",") if f}
    unknown = sorted(wanted - set(TWEET_FIELDS))
    if unknown:
        return invalid_request([{
            "parameters": {"tweet.fields": [unknown[0]]},
            "message": f"The `tweet.fields` query parameter value [{unknown[0]}] is not one of "
                       f"[{','.join(TWEET_FIELDS)}]"}])
    return wanted


def rendered(tweet: Tweet, handle: str) -> tuple[str, list[dict]]:
    """A post's `text` as X's reads give it back, and its `entities.urls`.

    The text: every link twitter-text finds (with or without a scheme) replaced by a t.co link
    (https://docs.x.com/fundamentals/counting-characters, "URLs";
    https://help.x.com/en/using-x/url-shortener), a t.co link to the attached image appended,
    and "&", "<", ">" escaped as HTML entities (https://github.com/tweepy/tweepy/issues/1080).

    The URL entities (https://docs.x.com/x-api/fundamentals/data-dictionary, Tweet
    `entities.urls`): `start`/`end` (code points into the text before its HTML escaping, end
    exclusive; X's own offsets are reported to drift around escaped characters, and factpost
    does not read them), `url` (the t.co link), `expanded_url` (the link as it was written,
    given the "http://" scheme a bare domain implies), `display_url` (without the scheme,
    shortened with "…" past 25 characters: an approximation of X's display form); the image's
    entity also has `media_key`, an `expanded_url` to the post's photo page and a pic.x.com
    `display_url`. X's `unwound_url` (where a link finally leads, after redirects) is left
    out: the emulator follows no links."""
    text, out, at, entities = tweet.text, "", 0, []
    for n, (start, end) in enumerate(find_urls(text)):
        written, short = text[start:end], _tco(tweet.id, str(n))
        out += text[at:start]
        expanded = written if re.match(r"(?i)https?://", written) else "http://" + written
        entities.append({"start": len(out), "end": len(out) + len(short), "url": short,
                         "expanded_url": expanded, "display_url": _display(expanded)})
        out += short
        at = end
    out += text[at:]
    if tweet.media:
        short = _tco(tweet.id, "media")
        out += " "
        entities.append({"start": len(out), "end": len(out) + len(short), "url": short,
                         "expanded_url": f"https://x.com/{handle}/status/{tweet.id}/photo/1",
                         "display_url": "pic.x.com/" + short.rsplit("/", 1)[1],
                         "media_key": f"3_{tweet.media[0].id}"})
        out += short
    return html.escape(out, quote=False), entities


def _display(expanded: str) -> str:
    shown = re.sub(r"(?i)^https?://", "", expanded)
    return shown if len(shown) <= 25 else shown[:24] + "…"


def _tco(tweet_id: str, what: str) -> str:
    # t.co paths are ten letters and digits (twitter-text's validTcoUrl accepts only those).
    number = int.from_bytes(hashlib.sha256(f"{tweet_id}/{what}".encode()).digest()[:8], "big")
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    path = ""
    for _ in range(10):
        number, digit = divmod(number, 62)
        path += alphabet[digit]
    return "https://t.co/" + path


def _render(tweet: Tweet, fields: set[str], handle: str, state: XState) -> dict:
    text, urls = rendered(tweet, handle)
    out: dict = {"id": tweet.id, "text": text, "edit_history_tweet_ids": [tweet.id]}
    if "created_at" in fields:
        out["created_at"] = x_time(tweet.created_at)
    if "author_id" in fields:
        out["author_id"] = tweet.author_id
    if "conversation_id" in fields:
        out["conversation_id"] = tweet.conversation_id
    if "attachments" in fields and tweet.media:
        out["attachments"] = {"media_keys": [f"3_{m.id}" for m in tweet.media]}
    # Only the entities factpost reads are rendered (urls); X leaves out empty arrays.
    if "entities" in fields and urls and not state.omit_entities:
        out["entities"] = {"urls": urls}
    if tweet.in_reply_to:
        if "in_reply_to_user_id" in fields and tweet.in_reply_to_user_id:
            out["in_reply_to_user_id"] = tweet.in_reply_to_user_id
        if "referenced_tweets" in fields:
            out["referenced_tweets"] = [{"type": "replied_to", "id": tweet.in_reply_to}]
    return out


def _time_param(value: str) -> datetime | None:
    """An ISO 8601 / RFC 3339 time as X takes it (YYYY-MM-DDTHH:mm:ssZ), or None."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _int_param(value: str) -> int | None:
    return int(value) if re.fullmatch(r"[0-9]{1,19}", value) else None


def _bad_param(name: str, value: str) -> Response:
    return invalid_request([{"parameters": {name: [value]},
                             "message": f"The `{name}` query parameter value [{value}] is not "
                                        "valid"}])


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"

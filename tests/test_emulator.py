"""The built-in emulator speaks enough X API v2 and Graph API for the real clients, and plays
the failures factpost must survive — over real loopback HTTP."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime

import facebook
import pytest
import requests
import tweepy
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth1

from emulator import Emulator
from scheduler.config import AccountConfig, CredentialsMissing
from scheduler.emulated import demo_credentials
from scheduler.platforms import facebook_versions as graph_versions

X_CREDS = {"consumer_key": "ck-office", "consumer_secret": "cs-office",
           "access_token": "at-office", "access_token_secret": "ats-office"}
PAGE_ID = "104729384756102"
PAGE_TOKEN = "page-token-office"
OTHER_TOKEN = "page-token-other"


class Rewrite(HTTPAdapter):
    """Sends requests addressed to `real` to `local` instead, after auth has been applied."""

    def __init__(self, real: str, local: str) -> None:
        super().__init__()
        self.real, self.local = real, local

    def send(self, request, **kwargs):
        request.url = request.url.replace(self.real, self.local, 1)
        return super().send(request, **kwargs)


@pytest.fixture
def em(emulator: Emulator) -> Emulator:
    emulator.add_x_account("OfficeX", **X_CREDS, name="Press Office")
    emulator.add_x_account("OtherX", consumer_key="ck-office", consumer_secret="cs-office",
                           access_token="at-other", access_token_secret="ats-other")
    emulator.add_facebook_page(PAGE_ID, page_token=PAGE_TOKEN, name="Press Office",
                               username="OfficeFB")
    emulator.add_facebook_page("204729384756102", page_token=OTHER_TOKEN, name="Other")
    return emulator


def x_auth(**override: str) -> OAuth1:
    c = {**X_CREDS, **override}
    return OAuth1(c["consumer_key"], c["consumer_secret"], c["access_token"],
                  c["access_token_secret"])


def tweet(em: Emulator, text: str, *, reply_to: str | None = None, auth: OAuth1 | None = None,
          timeout: float = 5) -> requests.Response:
    body: dict = {"text": text}
    if reply_to is not None:
        body["reply"] = {"in_reply_to_tweet_id": reply_to}
    return requests.post(f"{em.url}/2/tweets", json=body, auth=auth or x_auth(),
                         timeout=timeout)


def x_get(em: Emulator, path: str, **params) -> requests.Response:
    return requests.get(em.url + path, params=params, auth=x_auth(), timeout=5)


def fb_post(em: Emulator, message: str, *, page: str = "OfficeFB", token: str = PAGE_TOKEN,
            version: str = "/v25.0", timeout: float = 5) -> requests.Response:
    return requests.post(f"{em.url}{version}/{page}/feed",
                         data={"message": message, "access_token": token}, timeout=timeout)


def fb_get(em: Emulator, path: str, *, token: str | None = PAGE_TOKEN, **params
           ) -> requests.Response:
    if token is not None:
        params["access_token"] = token
    return requests.get(f"{em.url}/v25.0{path}", params=params, timeout=5)


def graph_error(response: requests.Response) -> dict:
    return response.json()["error"]


# X: publishing ---------------------------------------------------------------------------------

def test_x_create_tweet_answers_201_with_a_snowflake_id_and_stores_the_tweet(em):
    response = tweet(em, "Coalition partners met in Baghdad.")
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["text"] == "Coalition partners met in Baghdad."
    assert data["id"].isdigit() and len(data["id"]) >= 18
    assert data["edit_history_tweet_ids"] == [data["id"]]
    [stored] = em.tweets("OfficeX")
    assert stored["id"] == data["id"] and stored["in_reply_to"] is None
    assert stored["created_at"].endswith(".000Z")


def test_x_tweet_ids_increase_and_replies_record_their_parent(em):
    first = tweet(em, "1/2 first").json()["data"]["id"]
    second = tweet(em, "2/2 second", reply_to=first).json()["data"]["id"]
    assert int(second) > int(first)
    assert [t["in_reply_to"] for t in em.tweets("@officex")] == [None, first]


def test_x_rejects_duplicate_text_from_the_same_account_with_403(em):
    assert tweet(em, "Same words.").status_code == 201
    again = tweet(em, "Same words.")
    assert again.status_code == 403
    assert again.json() == {"detail": "You are not allowed to create a Tweet with duplicate "
                                      "content.", "type": "about:blank", "title": "Forbidden",
                            "status": 403}
    other = OAuth1("ck-office", "cs-office", "at-other", "ats-other")
    assert tweet(em, "Same words.", auth=other).status_code == 201
    assert len(em.tweets("OfficeX")) == 1


def test_x_rejects_text_over_280_characters_as_too_long(em):
    assert tweet(em, "a" * 280).status_code == 201
    too_long = tweet(em, "b" * 281)
    assert too_long.status_code == 400
    assert too_long.json()["errors"][0]["message"].startswith("Your Tweet text is too long.")
    assert len(em.tweets("OfficeX")) == 1


def test_x_counts_weighted_length_not_code_points():
    pytest.importorskip("posts.weight")
    with Emulator() as em:
        em.add_x_account("OfficeX", **X_CREDS)
        assert tweet(em, "東" * 140).status_code == 201  # CJK weighs 2: exactly 280
        assert tweet(em, "京" * 141).status_code == 400


def test_x_rejects_empty_text_and_replies_to_unknown_tweets(em):
    assert tweet(em, "").status_code == 400
    assert tweet(em, "   ").status_code == 400
    orphan = tweet(em, "A reply to nothing", reply_to="1234567890123456789")
    assert orphan.status_code == 403
    assert "deleted or not visible" in orphan.json()["detail"]
    assert tweet(em, "Bad id", reply_to="not-a-number").status_code == 400
    assert em.tweets("OfficeX") == []


def test_x_rejects_a_body_that_is_not_json(em):
    response = requests.post(f"{em.url}/2/tweets", data="text=hello", auth=x_auth(),
                             headers={"Content-Type": "application/json"}, timeout=5)
    assert response.status_code == 400


# X: credentials ------------------------------------------------------------------------------

UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401,
                "detail": "Unauthorized"}


@pytest.mark.parametrize("auth", [
    x_auth(consumer_secret="wrong"),
    x_auth(access_token_secret="wrong"),
    x_auth(access_token="unknown-token"),
    x_auth(consumer_key="another-app"),
    None,
], ids=["bad-consumer-secret", "bad-token-secret", "unknown-token", "wrong-app", "unsigned"])
def test_x_answers_401_to_bad_or_missing_credentials_and_stores_nothing(em, auth):
    response = requests.post(f"{em.url}/2/tweets", json={"text": "hello"}, auth=auth, timeout=5)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert em.tweets("OfficeX") == []
    assert em.requests_log[-1]["auth_ok"] is False


def test_x_refuses_app_only_bearer_tokens_for_user_endpoints(em):
    response = requests.get(f"{em.url}/2/users/me", headers={"Authorization": "Bearer None"},
                            timeout=5)
    assert response.status_code == 401


def test_x_accepts_a_signature_made_for_api_twitter_com_and_sent_here(em):
    session = requests.Session()
    session.mount("https://api.twitter.com/", Rewrite("https://api.twitter.com", em.url))
    response = session.post("https://api.twitter.com/2/tweets", json={"text": "rewritten"},
                            auth=x_auth(), timeout=5)
    assert response.status_code == 201
    query = session.get("https://api.twitter.com/2/users/me", params={"user.fields": "id"},
                        auth=x_auth(), timeout=5)
    assert query.status_code == 200


def test_x_rejects_a_signature_made_for_some_other_host(em):
    session = requests.Session()
    session.mount("https://api.example.com/", Rewrite("https://api.example.com", em.url))
    response = session.post("https://api.example.com/2/tweets", json={"text": "elsewhere"},
                            auth=x_auth(), timeout=5)
    assert response.status_code == 401


# X: rate limits ----------------------------------------------------------------------------

def test_x_every_response_carries_rate_limit_headers(em):
    posted = tweet(em, "counted")
    for name in ("x-rate-limit", "x-app-limit-24hour"):
        assert int(posted.headers[f"{name}-remaining"]) < int(posted.headers[f"{name}-limit"])
        assert int(posted.headers[f"{name}-reset"]) > time.time()
    # X's pay-per-use limits for POST /2/tweets: 100 per 15 minutes per user, 10,000 per 24
    # hours per app, and no per-user daily limit (https://docs.x.com/x-api/fundamentals/rate-limits).
    assert posted.headers["x-rate-limit-limit"] == "100"
    assert 890 < int(posted.headers["x-rate-limit-reset"]) - time.time() <= 900
    assert posted.headers["x-app-limit-24hour-limit"] == "10000"
    assert "x-user-limit-24hour-limit" not in posted.headers
    me = x_get(em, "/2/users/me")
    assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= set(
        me.headers)
    refused = tweet(em, "x", auth=x_auth(consumer_secret="wrong"))
    assert "x-rate-limit-reset" in refused.headers


def test_x_answers_429_once_the_window_is_used_up(em):
    em.set_x_limits("OfficeX", window_limit=2, window_seconds=900)
    first, second = tweet(em, "one"), tweet(em, "two")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.headers["x-rate-limit-remaining"] == "1"
    assert second.headers["x-rate-limit-remaining"] == "0"
    third = tweet(em, "three")
    assert third.status_code == 429
    assert third.json() == {"title": "Too Many Requests", "detail": "Too Many Requests",
                            "type": "about:blank", "status": 429}
    assert third.headers["x-rate-limit-remaining"] == "0"
    assert 890 < int(third.headers["x-rate-limit-reset"]) - time.time() <= 900
    assert len(em.tweets("OfficeX")) == 2
    assert tweet(em, "other account", auth=OAuth1("ck-office", "cs-office", "at-other",
                                                  "ats-other")).status_code == 201


def test_x_24_hour_user_limit_answers_429_with_its_own_reset(em):
    em.set_x_limits("OfficeX", window_limit=100, day_limit=1)
    assert tweet(em, "only one today").status_code == 201
    refused = tweet(em, "one too many")
    assert refused.status_code == 429
    assert refused.headers["x-user-limit-24hour-remaining"] == "0"
    assert int(refused.headers["x-user-limit-24hour-reset"]) - time.time() > 86_000
    assert refused.headers["x-rate-limit-remaining"] != "0"


# X: reading and deleting -------------------------------------------------------------------

def test_x_users_me_names_the_credentials_owner(em):
    data = x_get(em, "/2/users/me").json()["data"]
    assert data == {"id": data["id"], "name": "Press Office", "username": "OfficeX"}


def test_x_user_timeline_is_newest_first_with_requested_fields_and_pages(em):
    user_id = x_get(em, "/2/users/me").json()["data"]["id"]
    ids = [tweet(em, f"fact {i}").json()["data"]["id"] for i in range(6)]
    reply = tweet(em, "a reply", reply_to=ids[0]).json()["data"]["id"]
    first = x_get(em, f"/2/users/{user_id}/tweets", max_results=5,
                  **{"tweet.fields": "created_at,referenced_tweets,in_reply_to_user_id"}).json()
    assert [t["id"] for t in first["data"]] == [reply, ids[5], ids[4], ids[3], ids[2]]
    assert first["data"][0]["referenced_tweets"] == [{"type": "replied_to", "id": ids[0]}]
    assert first["data"][0]["in_reply_to_user_id"] == user_id
    assert "referenced_tweets" not in first["data"][1]
    assert first["data"][1]["created_at"].endswith(".000Z")
    assert first["meta"]["result_count"] == 5
    assert (first["meta"]["newest_id"], first["meta"]["oldest_id"]) == (reply, ids[2])
    second = x_get(em, f"/2/users/{user_id}/tweets", max_results=5,
                   pagination_token=first["meta"]["next_token"]).json()
    assert [t["id"] for t in second["data"]] == [ids[1], ids[0]]
    assert "next_token" not in second["meta"] and "created_at" not in second["data"][0]


def test_x_user_timeline_without_tweets_has_only_a_zero_count(em):
    user_id = x_get(em, "/2/users/me").json()["data"]["id"]
    assert x_get(em, f"/2/users/{user_id}/tweets").json() == {"meta": {"result_count": 0}}


def test_x_user_timeline_checks_max_results_and_fields(em):
    user_id = x_get(em, "/2/users/me").json()["data"]["id"]
    assert x_get(em, f"/2/users/{user_id}/tweets", max_results=3).status_code == 400
    assert x_get(em, f"/2/users/{user_id}/tweets", max_results=101).status_code == 400
    bad_field = x_get(em, f"/2/users/{user_id}/tweets", **{"tweet.fields": "colour"})
    assert bad_field.status_code == 400
    assert "colour" in bad_field.json()["errors"][0]["message"]
    unknown = x_get(em, "/2/users/1234/tweets").json()
    assert unknown["errors"][0]["resource_type"] == "user"


def test_x_deletes_only_the_accounts_own_tweets(em):
    mine = tweet(em, "to be deleted").json()["data"]["id"]
    theirs = tweet(em, "not yours", auth=OAuth1("ck-office", "cs-office", "at-other",
                                                "ats-other")).json()["data"]["id"]
    deleted = requests.delete(f"{em.url}/2/tweets/{mine}", auth=x_auth(), timeout=5)
    assert deleted.json() == {"data": {"deleted": True}}
    assert em.tweets("OfficeX") == []
    assert requests.delete(f"{em.url}/2/tweets/{theirs}", auth=x_auth(),
                           timeout=5).status_code == 403
    assert len(em.tweets("OtherX")) == 1


def test_x_unknown_routes_answer_404(em):
    assert x_get(em, "/2/spaces/search").status_code == 404


# Graph: publishing and reading -----------------------------------------------------------

@pytest.mark.parametrize("page", ["OfficeFB", "officefb", PAGE_ID])
@pytest.mark.parametrize("version", ["/v25.0", "/v26.0", ""])
def test_graph_post_to_feed_by_id_or_username_with_or_without_version(em, page, version):
    response = fb_post(em, "Aid convoy arrived.", page=page, version=version)
    assert response.status_code == 200
    post_id = response.json()["id"]
    assert post_id.startswith(PAGE_ID + "_") and post_id.split("_")[1].isdigit()
    assert em.page_posts("OfficeFB") == em.page_posts(PAGE_ID)
    [stored] = em.page_posts(PAGE_ID)
    assert stored["id"] == post_id and stored["message"] == "Aid convoy arrived."
    assert stored["created_time"].endswith("+0000")


def test_graph_refuses_a_retired_version_as_meta_does(em):
    # v20.0 retired on 2026-09-24 (graph_versions.py has the table and the sources).
    refused = fb_post(em, "Too old.", version="/v20.0")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert (error["code"], error["type"]) == (2635, "OAuthException")
    assert error["message"] == ("(#2635) You are calling a deprecated version of the Graph "
                                "API. Please update to the latest version: v26.0.")
    assert error["fbtrace_id"]
    assert em.page_posts("OfficeFB") == []
    never_released = fb_post(em, "No such version.", version="/v21.5")
    assert never_released.json()["error"]["code"] == 2500
    served = fb_post(em, "Current.", version="/v25.0")
    assert served.headers["facebook-api-version"] == "v25.0"
    # Unversioned calls are served by the oldest version still available.
    oldest = graph_versions.oldest_available(datetime.now(UTC).date())
    assert fb_post(em, "Unversioned.", version="").headers["facebook-api-version"] == oldest


def test_graph_accepts_the_token_in_an_authorization_header(em):
    for scheme in ("Bearer", "OAuth"):
        response = requests.post(f"{em.url}/v25.0/{PAGE_ID}/feed",
                                 data={"message": f"via {scheme}"},
                                 headers={"Authorization": f"{scheme} {PAGE_TOKEN}"}, timeout=5)
        assert response.status_code == 200


def test_graph_page_object_has_the_requested_fields(em):
    assert fb_get(em, "/OfficeFB").json() == {"id": PAGE_ID, "name": "Press Office"}
    assert fb_get(em, f"/{PAGE_ID}", fields="id,name,username").json() == {
        "id": PAGE_ID, "name": "Press Office", "username": "OfficeFB"}
    assert fb_get(em, "/me", fields="id").json() == {"id": PAGE_ID}
    no_username = fb_get(em, "/204729384756102", fields="id,username", token=OTHER_TOKEN)
    assert no_username.json() == {"id": "204729384756102"}


def test_graph_feed_is_newest_first_and_pages_with_cursors(em):
    ids = [fb_post(em, f"update {i}").json()["id"] for i in range(5)]
    first = fb_get(em, "/OfficeFB/feed", fields="id,message,created_time,permalink_url",
                   limit=3).json()
    assert [p["id"] for p in first["data"]] == ids[:1:-1]
    assert first["data"][0]["message"] == "update 4"
    assert first["data"][0]["permalink_url"] == (
        f"https://www.facebook.com/{PAGE_ID}/posts/{ids[4].split('_')[1]}")
    assert "next" in first["paging"]
    second = fb_get(em, "/OfficeFB/feed", fields="id", limit=3,
                    after=first["paging"]["cursors"]["after"]).json()
    assert [p["id"] for p in second["data"]] == [ids[1], ids[0]]
    assert "next" not in second["paging"]
    assert fb_get(em, "/OfficeFB/posts").json()["data"][0].keys() == {
        "id", "message", "created_time"}


# Graph: errors -----------------------------------------------------------------------------

@pytest.mark.parametrize(("token", "code"), [("not-a-token", 190), (None, 104)])
def test_graph_rejects_bad_or_missing_tokens(em, token, code):
    response = requests.post(f"{em.url}/v25.0/OfficeFB/feed",
                             data={"message": "hello", **({"access_token": token} if token
                                                          else {})}, timeout=5)
    assert response.status_code == 400
    error = graph_error(response)
    assert (error["code"], error["type"]) == (code, "OAuthException")
    assert error["fbtrace_id"]
    assert em.page_posts("OfficeFB") == []
    assert em.requests_log[-1]["auth_ok"] is False


def test_graph_refuses_a_post_with_another_pages_token(em):
    response = fb_post(em, "not my page", token=OTHER_TOKEN)
    assert response.status_code == 403
    assert graph_error(response)["code"] == 200
    assert em.page_posts("OfficeFB") == []


def test_a_page_takes_the_same_message_twice_as_facebook_does(em):
    assert [fb_post(em, "Same words.").status_code for _ in range(2)] == [200, 200]
    assert [p["message"] for p in em.page_posts("OfficeFB")] == ["Same words."] * 2
    assert em.refuses_duplicates("x") and not em.refuses_duplicates("facebook")


def test_graph_answers_a_refused_repeat_with_506_when_a_test_turns_refusal_on(em):
    em.refuse_duplicates(platform="facebook")
    assert fb_post(em, "Same words.").status_code == 200
    again = fb_post(em, "Same words.")
    assert again.status_code == 400
    assert graph_error(again)["code"] == 506
    assert graph_error(again)["message"] == "(#506) Duplicate status message"
    assert len(em.page_posts("OfficeFB")) == 1


def test_duplicate_refusal_can_be_turned_off_everywhere_to_expose_duplicates(em):
    em.refuse_duplicates(False)
    assert [tweet(em, "twice").status_code for _ in range(2)] == [201, 201]
    assert [fb_post(em, "twice").status_code for _ in range(2)] == [200, 200]
    assert (len(em.tweets("OfficeX")), len(em.page_posts("OfficeFB"))) == (2, 2)


def test_graph_rejects_an_empty_message_with_100(em):
    response = fb_post(em, "  ")
    assert response.status_code == 400
    assert graph_error(response)["code"] == 100


def test_graph_unknown_pages_answer_803_for_names_and_100_for_ids(em):
    alias = fb_post(em, "hello", page="NoSuchPage")
    assert (alias.status_code, graph_error(alias)["code"]) == (404, 803)
    numeric = fb_post(em, "hello", page="999999999999999")
    assert (numeric.status_code, graph_error(numeric)["code"]) == (400, 100)
    assert graph_error(numeric)["error_subcode"] == 33


@pytest.mark.parametrize("code", [4, 17, 32, 613])
def test_graph_throttled_page_answers_the_throttling_code_until_lifted(em, code):
    em.set_graph_throttle("OfficeFB", code=code)
    for _ in range(2):
        refused = fb_post(em, "throttled")
        assert refused.status_code == 400
        assert graph_error(refused)["code"] == code
    usage = json.loads(refused.headers["X-Business-Use-Case-Usage"])[PAGE_ID][0]
    assert usage["call_count"] == 100 and usage["estimated_time_to_regain_access"] > 0
    assert em.page_posts("OfficeFB") == []
    em.set_graph_throttle("OfficeFB", code=None)
    assert fb_post(em, "throttled").status_code == 200


def test_graph_throttle_codes_are_checked(em):
    with pytest.raises(ValueError, match="613"):
        em.set_graph_throttle("OfficeFB", code=5)


def test_graph_blocked_page_answers_368(em):
    em.set_graph_block("OfficeFB")
    refused = fb_post(em, "spam?")
    assert (refused.status_code, graph_error(refused)["code"]) == (400, 368)
    em.set_graph_block("OfficeFB", blocked=False)
    assert fb_post(em, "spam?").status_code == 200


def test_graph_every_response_carries_usage_headers(em):
    for response in (fb_post(em, "counted"), fb_get(em, "/OfficeFB"),
                     fb_post(em, "x", token="bad")):
        app = json.loads(response.headers["X-App-Usage"])
        assert set(app) == {"call_count", "total_cputime", "total_time"}
        buc = json.loads(response.headers["X-Business-Use-Case-Usage"])
        assert buc[PAGE_ID][0]["type"] == "pages"
        assert {"call_count", "total_cputime", "total_time",
                "estimated_time_to_regain_access"} <= set(buc[PAGE_ID][0])


# Faults --------------------------------------------------------------------------------

def publish(em: Emulator, platform: str, text: str, timeout: float = 5) -> requests.Response:
    return tweet(em, text, timeout=timeout) if platform == "x" else fb_post(em, text,
                                                                             timeout=timeout)


def stored(em: Emulator, platform: str) -> list[str]:
    if platform == "x":
        return [t["text"] for t in em.tweets("OfficeX")]
    return [p["message"] for p in em.page_posts("OfficeFB")]


both_platforms = pytest.mark.parametrize("platform", ["x", "facebook"])


def test_error_before_answers_503_on_x_without_storing(em):
    em.inject("error_before", platform="x")
    response = tweet(em, "lost")
    assert response.status_code == 503
    assert response.json() == {"title": "Service Unavailable", "detail": "Service Unavailable",
                               "type": "about:blank", "status": 503}
    assert stored(em, "x") == []
    assert tweet(em, "lost").status_code == 201


def test_error_before_answers_graph_500_code_1_without_storing(em):
    em.inject("error_before", platform="facebook")
    response = fb_post(em, "lost")
    assert response.status_code == 500
    error = graph_error(response)
    assert (error["code"], error["type"], error["is_transient"]) == (1, "OAuthException", True)
    assert error["message"] == "An unknown error occurred" and error["fbtrace_id"]
    assert stored(em, "facebook") == []


@both_platforms
def test_commit_then_error_stores_the_post_and_still_answers_an_error(em, platform):
    em.inject("commit_then_error", platform=platform)
    assert publish(em, platform, "applied anyway").status_code in (500, 503)
    assert stored(em, platform) == ["applied anyway"]


@both_platforms
def test_drop_before_hangs_up_without_storing(em, platform):
    em.inject("drop_before")
    with pytest.raises(requests.ConnectionError):
        publish(em, platform, "never arrived")
    assert stored(em, platform) == []
    assert em.requests_log[-1]["status"] is None
    assert em.requests_log[-1]["fault"] == "drop_before"


@both_platforms
def test_drop_after_hangs_up_after_storing(em, platform):
    em.inject("drop_after")
    with pytest.raises(requests.ConnectionError):
        publish(em, platform, "arrived silently")
    assert stored(em, platform) == ["arrived silently"]


@both_platforms
def test_slow_lets_client_timeouts_fire_and_then_stores_the_post(em, platform):
    em.inject("slow", delay=0.4)
    with pytest.raises(requests.ReadTimeout):
        publish(em, platform, "late", timeout=0.1)
    deadline = time.monotonic() + 3
    while not stored(em, platform) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored(em, platform) == ["late"]


def test_slow_with_patience_is_an_ordinary_success(em):
    em.inject("slow", delay=0.2)
    started = time.monotonic()
    assert tweet(em, "patient").status_code == 201
    assert time.monotonic() - started >= 0.2


@both_platforms
def test_html_error_answers_a_502_proxy_page_without_storing(em, platform):
    em.inject("html_error")
    response = publish(em, platform, "proxied")
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text
    assert not {"x-rate-limit-limit", "X-App-Usage"} & set(response.headers)
    assert stored(em, platform) == []


def test_rate_limit_fault_answers_429_with_a_future_reset_on_x(em):
    em.inject("rate_limit", platform="x")
    response = tweet(em, "limited")
    assert response.status_code == 429
    assert response.headers["x-rate-limit-remaining"] == "0"
    assert int(response.headers["x-rate-limit-reset"]) > time.time()
    assert stored(em, "x") == []


def test_rate_limit_fault_answers_graph_code_32(em):
    em.inject("rate_limit", platform="facebook")
    response = fb_post(em, "limited")
    assert (response.status_code, graph_error(response)["code"]) == (400, 32)


def test_faults_wait_for_their_platform_and_their_count(em):
    em.inject("error_before", platform="facebook", count=2)
    assert tweet(em, "x is unaffected").status_code == 201
    assert fb_get(em, "/OfficeFB/feed").status_code == 200  # reads are never faulted
    assert [fb_post(em, f"try {i}").status_code for i in range(3)] == [500, 500, 200]
    assert em.pending_faults() == 0


def test_faults_injected_counts_the_faults_played(em):
    em.inject("error_before", count=3)
    tweet(em, "one")
    fb_post(em, "two")
    assert (em.faults_injected, em.pending_faults()) == (2, 1)


def test_unknown_fault_kinds_and_counts_are_refused(em):
    with pytest.raises(ValueError, match="drop_after"):
        em.inject("explode")
    with pytest.raises(ValueError, match="count"):
        em.inject("drop_after", count=0)
    with pytest.raises(ValueError, match="platform"):
        em.inject("drop_after", platform="myspace")


def random_fault_run(seed: int) -> list[str | None]:
    with Emulator(seed=seed) as em:
        em.add_x_account("OfficeX", **X_CREDS)
        em.set_random_faults(0.5, kinds=["error_before", "rate_limit", "html_error"])
        for i in range(16):
            tweet(em, f"attempt {i}")
        return [entry["fault"] for entry in em.requests_log]


def test_random_faults_replay_exactly_for_the_same_seed():
    run = random_fault_run(11)
    assert run == random_fault_run(11)
    assert None in run and {"error_before", "rate_limit", "html_error"} & set(run)
    assert run != random_fault_run(12)


def test_random_fault_rate_is_checked(em):
    with pytest.raises(ValueError, match="rate"):
        em.set_random_faults(1.5)


def test_latency_delays_every_platform_response():
    with Emulator(latency=0.2) as em:
        em.add_x_account("OfficeX", **X_CREDS)
        started = time.monotonic()
        x_get(em, "/2/users/me")
        assert time.monotonic() - started >= 0.2


# Control API -----------------------------------------------------------------------------

def test_control_api_queues_faults_for_another_process(em):
    queued = requests.post(f"{em.url}/_emulator/faults",
                           json={"fault": "commit_then_error", "count": 1, "platform": "x"},
                           timeout=5)
    assert queued.json() == {"queued": 1}
    assert tweet(em, "ambiguous").status_code == 503
    assert stored(em, "x") == ["ambiguous"]


def test_control_api_sets_random_faults(em):
    response = requests.post(f"{em.url}/_emulator/faults",
                             json={"random_rate": 1.0, "kinds": ["html_error"]}, timeout=5)
    assert response.status_code == 200
    assert [fb_post(em, f"p{i}").status_code for i in range(3)] == [502, 502, 502]


@pytest.mark.parametrize("body", [{"fault": "explode"}, {"fault": "slow", "cont": 2},
                                  {"random_rate": "often"}, [1, 2], {}])
def test_control_api_refuses_bad_fault_requests_with_a_reason(em, body):
    response = requests.post(f"{em.url}/_emulator/faults", json=body, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]


def test_control_api_state_lists_every_accounts_posts(em):
    tweet(em, "on x")
    fb_post(em, "on facebook")
    state = requests.get(f"{em.url}/_emulator/state", timeout=5).json()
    assert [t["text"] for t in state["x"]["OfficeX"]] == ["on x"]
    assert state["x"]["OtherX"] == []
    assert [p["message"] for p in state["facebook"]["OfficeFB"]] == ["on facebook"]
    assert state["facebook"]["204729384756102"] == []


def test_control_api_reset_forgets_posts_faults_and_counters(em):
    em.set_x_limits("OfficeX", window_limit=1)
    tweet(em, "before reset")
    em.inject("error_before", count=3)
    assert requests.post(f"{em.url}/_emulator/reset", timeout=5).json() == {"reset": True}
    assert stored(em, "x") == [] and em.pending_faults() == 0 and em.requests_log == []
    assert tweet(em, "before reset").status_code == 201


def test_control_requests_are_not_logged_and_the_log_holds_no_tokens(em):
    fb_get(em, "/OfficeFB", fields="id")
    requests.get(f"{em.url}/_emulator/requests", timeout=5)
    log = requests.get(f"{em.url}/_emulator/requests", timeout=5).json()["requests"]
    assert log == [{"method": "GET", "path": "/v25.0/OfficeFB", "status": 200, "auth_ok": True,
                    "platform": "facebook", "fault": None}]
    assert PAGE_TOKEN not in json.dumps(log)


# The real clients ------------------------------------------------------------------------

def test_real_tweepy_client_works_against_the_emulator(em):
    client = tweepy.Client(**X_CREDS)
    client.session.mount("https://api.twitter.com/", Rewrite("https://api.twitter.com", em.url))
    first = client.create_tweet(text="1/2 Coalition update")
    client.create_tweet(text="2/2 More to follow", in_reply_to_tweet_id=first.data["id"])
    me = client.get_me(user_auth=True).data
    assert me.username == "OfficeX"
    timeline = client.get_users_tweets(me.id, user_auth=True, max_results=5,
                                       tweet_fields=["created_at", "referenced_tweets"])
    assert [t.text for t in timeline.data] == ["2/2 More to follow", "1/2 Coalition update"]
    assert timeline.data[0].referenced_tweets[0].id == int(first.data["id"])
    assert timeline.data[1].created_at.tzinfo is not None
    with pytest.raises(tweepy.Forbidden, match="duplicate content"):
        client.create_tweet(text="1/2 Coalition update")
    em.inject("rate_limit", platform="x")
    with pytest.raises(tweepy.TooManyRequests) as limited:
        client.create_tweet(text="limited")
    assert limited.value.response.headers["x-rate-limit-remaining"] == "0"


def test_real_facebook_sdk_works_against_the_emulator(em):
    session = requests.Session()
    session.mount("https://graph.facebook.com/",
                  Rewrite("https://graph.facebook.com", em.url))
    graph = facebook.GraphAPI(access_token=PAGE_TOKEN, version="3.1", session=session)
    graph.version = "v25.0"  # facebook-sdk 3.1.0 only accepts versions Meta retired in 2020
    posted = graph.put_object("OfficeFB", "feed", message="Aid convoy arrived.")
    assert posted["id"].startswith(PAGE_ID + "_")
    assert graph.get_object("OfficeFB", fields="id,name,username")["username"] == "OfficeFB"
    feed = graph.get_connections(PAGE_ID, "feed", fields="id,message,created_time")
    assert feed["data"][0]["id"] == posted["id"]
    for i in range(3):
        graph.put_object(PAGE_ID, "feed", message=f"more {i}")
    everything = list(graph.get_all_connections(PAGE_ID, "feed", fields="id", limit=2))
    assert len(everything) == 4
    em.refuse_duplicates(platform="facebook")  # as Graph did in 2012: error 506
    with pytest.raises(facebook.GraphAPIError) as duplicate:
        graph.put_object("OfficeFB", "feed", message="Aid convoy arrived.")
    assert duplicate.value.code == 506
    em.inject("html_error", platform="facebook")
    with pytest.raises(facebook.GraphAPIError) as proxied:
        graph.put_object("OfficeFB", "feed", message="through a proxy")
    assert proxied.value.code is None


# Accounts from the configuration ---------------------------------------------------------

X_ACCOUNT = AccountConfig(name="office-x", platform="x", handle="OfficeX",
                          api_url="http://127.0.0.1:1")
FB_ACCOUNT = AccountConfig(name="office.fb", platform="facebook", handle="OfficeFB",
                           api_url="http://127.0.0.1:1")


def test_demo_credentials_are_fixed_and_named_for_the_publishers_variables():
    assert demo_credentials(X_ACCOUNT) == {
        "FACTPOST_OFFICE_X_CONSUMER_KEY": "emulator-office-x-consumer-key",
        "FACTPOST_OFFICE_X_CONSUMER_SECRET": "emulator-office-x-consumer-secret",
        "FACTPOST_OFFICE_X_ACCESS_TOKEN": "emulator-office-x-access-token",
        "FACTPOST_OFFICE_X_ACCESS_TOKEN_SECRET": "emulator-office-x-access-token-secret",
    }
    assert demo_credentials(FB_ACCOUNT) == {
        "FACTPOST_OFFICE_FB_PAGE_TOKEN": "emulator-office-fb-page-token"}


def test_registered_accounts_accept_the_credentials_from_the_environment(emulator):
    environ = {**demo_credentials(X_ACCOUNT), **demo_credentials(FB_ACCOUNT)}
    emulator.register_accounts([X_ACCOUNT, FB_ACCOUNT], environ)
    auth = OAuth1(*(environ[f"FACTPOST_OFFICE_X_{f}"] for f in (
        "CONSUMER_KEY", "CONSUMER_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET")))
    assert tweet(emulator, "from config", auth=auth).status_code == 201
    page = fb_get(emulator, "/OfficeFB", token=environ["FACTPOST_OFFICE_FB_PAGE_TOKEN"]).json()
    assert page["id"].isdigit() and len(page["id"]) == 15
    assert fb_post(emulator, "by id", page=page["id"],
                   token=environ["FACTPOST_OFFICE_FB_PAGE_TOKEN"]).status_code == 200
    emulator.register_accounts([X_ACCOUNT], environ)  # registering again keeps the posts
    assert len(emulator.tweets("OfficeX")) == 1


def test_registering_an_account_without_its_credentials_fails_loudly(emulator):
    with pytest.raises(CredentialsMissing, match="FACTPOST_OFFICE_X_CONSUMER_KEY"):
        emulator.register_accounts([X_ACCOUNT], {})


def test_inspection_of_an_unknown_account_fails_loudly(em):
    with pytest.raises(KeyError, match="NoSuchAccount"):
        em.tweets("NoSuchAccount")
    with pytest.raises(KeyError, match="NoSuchPage"):
        em.page_posts("NoSuchPage")


def test_a_request_cut_off_mid_body_is_not_acted_on(em):
    host, port = em.url.removeprefix("http://").split(":")
    body = b"message=half&access_token=" + PAGE_TOKEN.encode()
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(b"POST /v25.0/OfficeFB/feed HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: %d\r\n\r\n" % (len(body) + 50) + body)
        conn.shutdown(socket.SHUT_WR)
        assert conn.recv(100) == b""
    assert em.page_posts("OfficeFB") == [] and em.requests_log == []


def test_stop_returns_promptly_with_a_kept_alive_client(em):
    session, url = requests.Session(), em.url
    assert session.get(f"{url}/_emulator/state", timeout=5).status_code == 200
    started = time.monotonic()
    em.stop()
    assert time.monotonic() - started < 5  # not the keep-alive's wait (see transport.py)
    with pytest.raises(requests.ConnectionError):
        session.get(f"{url}/_emulator/state", timeout=5)


def test_run_emulator_prints_its_url_and_stops_on_sigterm(tmp_path):
    script = (
        "from scheduler.config import AccountConfig\n"
        "from scheduler.emulated import run_emulator\n"
        "accounts = [AccountConfig(name='office-x', platform='x', handle='OfficeX',"
        " api_url='http://127.0.0.1:1')]\n"
        "run_emulator(accounts, {}, host='127.0.0.1', port=0, seed=3)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTPOST_")}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=os.getcwd())
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("emulator listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        state = requests.get(f"{url}/_emulator/state", timeout=5).json()
        # Every platform served, only the configured account registered.
        assert state == {name: {"OfficeX": []} if name == "x" else {} for name in state}
        assert {"x", "facebook"} <= set(state)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        proc.kill()
        proc.wait()


# X's bill under pay-per-use -----------------------------------------------------------------

def test_x_bills_creates_by_whether_they_hold_a_link_and_refusals_not_at_all(em):
    assert tweet(em, "No link here.").status_code == 201
    assert tweet(em, "Read more at www.jtf-meridian.mil/report.").status_code == 201
    assert tweet(em, "No link here.").status_code == 403          # duplicate
    assert tweet(em, "x" * 281).status_code == 400                # too long
    em.inject("commit_then_error", platform="x")
    assert tweet(em, "Stored, then a 503.").status_code == 503    # made: billed
    em.inject("error_before", platform="x")
    assert tweet(em, "Never stored.").status_code == 503          # not made: not billed
    bill = requests.get(f"{em.url}/_emulator/bill", timeout=5).json()
    assert [(e["operation"], e["micros"]) for e in bill["bill"]] == [
        ("post_create", 15_000), ("post_create_with_url", 200_000), ("post_create", 15_000)]
    assert bill["micros"] == 230_000
    assert {e["tweet_id"] for e in bill["bill"]} == {t["id"] for t in em.tweets("OfficeX")}


def test_x_bills_each_post_read_once_per_app_and_utc_day(em):
    for n in range(3):
        tweet(em, f"Post {n}.")
    user_id = x_get(em, "/2/users/me").json()["data"]["id"]
    x_get(em, f"/2/users/{user_id}/tweets", max_results=5)
    x_get(em, f"/2/users/{user_id}/tweets", max_results=5)
    reads = [e for e in em.bill() if e["operation"].endswith("_read")]
    assert [(e["operation"], e["units"], e["billed_units"]) for e in reads] == [
        ("user_read", 1, 1), ("post_read", 3, 3), ("post_read", 3, 0)]
    # Another app reading the same posts pays for them itself.
    other = OAuth1("ck-other-app", "cs-other-app", "at-third", "ats-third")
    em.add_x_account("ThirdX", consumer_key="ck-other-app", consumer_secret="cs-other-app",
                     access_token="at-third", access_token_secret="ats-third")
    requests.get(f"{em.url}/2/users/{user_id}/tweets", params={"max_results": 5},
                 auth=other, timeout=5)
    assert em.bill()[-1]["billed_units"] == 3


def test_x_timeline_reads_only_posts_since_start_time_and_since_id(em):
    clock = {"now": 1_796_100_000.0}
    with Emulator(port=0, clock=lambda: clock["now"]) as timed:
        timed.add_x_account("OfficeX", **X_CREDS)
        ids = []
        for n in range(4):
            ids.append(tweet(timed, f"Post {n}.").json()["data"]["id"])
            clock["now"] += 60
        user_id = x_get(timed, "/2/users/me").json()["data"]["id"]
        start = datetime.fromtimestamp(1_796_100_000 + 120, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        page = x_get(timed, f"/2/users/{user_id}/tweets", max_results=5, start_time=start)
        assert [t["id"] for t in page.json()["data"]] == [ids[3], ids[2]]
        page = x_get(timed, f"/2/users/{user_id}/tweets", max_results=5, since_id=ids[2])
        assert [t["id"] for t in page.json()["data"]] == [ids[3]]
        assert timed.bill()[-1]["billed_units"] == 0  # read once today already
        bad = x_get(timed, f"/2/users/{user_id}/tweets", start_time="yesterday")
        assert bad.status_code == 400


def test_x_timeline_gives_t_co_links_with_the_entities_that_say_where_they_lead(em):
    # https://docs.x.com/x-api/fundamentals/data-dictionary (Tweet `entities.urls`)
    sent = "Fish & chips at mod.gov.iq/menu > https://www.jtf-meridian.mil/r?a=1&b=2 today"
    tweet_id = tweet(em, sent).json()["data"]["id"]
    user_id = x_get(em, "/2/users/me").json()["data"]["id"]
    [plain] = x_get(em, f"/2/users/{user_id}/tweets", max_results=5).json()["data"]
    assert "entities" not in plain  # only when asked for
    [read] = x_get(em, f"/2/users/{user_id}/tweets", max_results=5,
                   **{"tweet.fields": "entities"}).json()["data"]
    urls = read["entities"]["urls"]
    assert [(u["expanded_url"], u["display_url"]) for u in urls] == [
        ("http://mod.gov.iq/menu", "mod.gov.iq/menu"),
        ("https://www.jtf-meridian.mil/r?a=1&b=2", "www.jtf-meridian.mil/r?a…")]
    assert all(re.fullmatch(r"https://t\.co/[A-Za-z0-9]{10}", u["url"]) for u in urls)
    unescaped = html.unescape(read["text"])
    assert read["text"].startswith("Fish &amp; chips at https://t.co/")
    assert [unescaped[u["start"]:u["end"]] for u in urls] == [u["url"] for u in urls]
    # A lookup of the one post renders it the same way.
    [one] = [x_get(em, f"/2/tweets/{tweet_id}", **{"tweet.fields": "entities"}).json()["data"]]
    assert one["entities"] == read["entities"]


def test_x_timeline_can_be_told_to_leave_out_entities_as_an_older_shape_or_a_proxy_does(em):
    tweet(em, "Details at mod.gov.iq/menu today")
    user_id = x_get(em, "/2/users/me").json()["data"]["id"]
    em.omit_x_entities()
    [read] = x_get(em, f"/2/users/{user_id}/tweets", max_results=5,
                   **{"tweet.fields": "entities"}).json()["data"]
    assert "entities" not in read
    assert re.fullmatch(r"Details at https://t\.co/[A-Za-z0-9]{10} today", read["text"])


def test_x_timeline_leaves_out_replies_when_asked_and_refuses_unknown_exclusions(em):
    first = tweet(em, "Thread 1/2").json()["data"]["id"]
    tweet(em, "Thread 2/2", reply_to=first)
    user_id = x_get(em, "/2/users/me").json()["data"]["id"]
    page = x_get(em, f"/2/users/{user_id}/tweets", max_results=5, exclude="replies,retweets")
    assert [t["text"] for t in page.json()["data"]] == ["Thread 1/2"]
    assert x_get(em, f"/2/users/{user_id}/tweets", exclude="quotes").status_code == 400

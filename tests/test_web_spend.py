"""The web UI says what X posts cost before they are queued, and the Status page shows the X
spend per account and day with the month against the cap."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from conftest import page_csrf, sign_in

from scheduler.demo import sample_factsheet


def test_the_import_review_says_what_the_x_posts_will_cost(newsroom):
    client = sign_in(newsroom.url, "chen")
    review = client.post("/import/review", data={"csrf": page_csrf(client),
                                                 "schedule": "spaced",
                                                 "account": ["office-x", "office-fb"],
                                                 "at": "", "every": "0s"},
                         files={"file": ("meridian.txt", sample_factsheet().encode())})
    assert review.status_code == 200
    costs = re.findall(r"Cost on X: <strong>(.*?)</strong>", review.text)
    assert costs == ["11 posts, 1 with link: $0.3500"]  # the Facebook account has none
    assert "https://docs.x.com/x-api/getting-started/pricing" in review.text


def test_the_compose_preview_gives_the_cost_of_a_thread(newsroom):
    client = sign_in(newsroom.url, "chen")
    text = "Read the report at www.jtf-meridian.mil/reports today. " + "More words. " * 40
    preview = client.post("/api/preview", json={"account": "office-x", "text": text},
                          headers={"X-CSRF-Token": page_csrf(client)}).json()
    assert len(preview["parts"]) == 2
    assert preview["cost"] == "2 posts, 1 with link: $0.2150"
    fb = client.post("/api/preview", json={"account": "office-fb", "text": text},
                     headers={"X-CSRF-Token": page_csrf(client)}).json()
    assert fb["cost"] is None


def test_the_status_page_shows_x_spend_per_account_and_day(newsroom):
    from scheduler.dispatch import Dispatcher

    newsroom.add("Counted on the Status page.")
    newsroom.add("With a link: www.jtf-meridian.mil/status.")
    Dispatcher(newsroom.store, newsroom.config, newsroom.publishers(),
               worker="test-worker").tick(datetime.now(UTC))
    page = sign_in(newsroom.url, "chen").get("/status").text
    assert f"X spend, {datetime.now(UTC):%Y-%m}" in page
    row = re.search(r'<tr><td data-label="Day">(\d{4}-\d\d-\d\d)</td><td data-label="Account">'
                    r'office-x</td><td data-label="Posts">2</td><td data-label="With links">1'
                    r'</td><td data-label="Posts read">0</td><td data-label="Spent">(.*?)</td>'
                    r'</tr>', page)
    assert row and row.group(2) == "$0.2150"

"""Config: checked at load time, one line naming the file, the key and the fix."""

from __future__ import annotations

import pytest

from scheduler.config import ConfigError, CredentialsMissing, load_config

GOOD = """
[database]
url = "sqlite:///factpost.db"
[schedule]
timezone = "Asia/Baghdad"
[review]
require_approval = true
[[accounts]]
name = "oir-x"
platform = "x"
handle = "@CJTFOIR"
api_url = "http://127.0.0.1:8765/"
slots = ["0 9 * * mon-fri", "0 15 * * mon-fri"]
hashtags = ["DefeatDaesh"]
[[accounts]]
name = "oir.fb"
platform = "facebook"
handle = "CJTFOIR"
"""


def test_a_good_config_loads_with_defaults_filled_in(write_config):
    config = load_config(write_config(GOOD))
    assert config.timezone.key == "Asia/Baghdad"
    assert config.require_approval is True
    x, fb = config.accounts
    assert (x.handle, x.api_url, x.hashtags) == ("CJTFOIR", "http://127.0.0.1:8765",
                                                 ("#DefeatDaesh",))
    # X's pay-per-use terms: 100 posts per 15 minutes per user (POST /2/tweets), no day cap.
    assert (x.options["tier"], x.budget.posts, x.budget.window_seconds) == (
        "pay-per-use", 100, 900)
    billing = config.billing_for("x")
    assert (billing.app_budget.posts, billing.app_budget.window_seconds) == (10_000, 86_400)
    assert billing.monthly_cap_micros is None
    assert x.links == "as-written"
    assert fb.api_url == "https://graph.facebook.com"
    assert fb.options["graph_version"] == "v25.0"  # supported until 2028-07-29
    # The web server reads 1 MB of JSON or form, 11 MB of upload, each within 30 seconds.
    assert (config.max_body_bytes, config.max_request_bytes, config.body_timeout_seconds) == (
        1024 * 1024, 11 * 1024 * 1024, 30.0)


@pytest.mark.parametrize(("tier", "budget"), [("free", (17, 86_400)), ("basic", (100, 86_400)),
                                              ("pro", (100, 900))])
def test_a_legacy_contracts_tier_still_sets_its_posting_budget(write_config, tier, budget):
    config = load_config(write_config(GOOD.replace('platform = "x"',
                                                   f'platform = "x"\ntier = "{tier}"')))
    x = config.accounts[0]
    assert (x.options["tier"], x.budget.posts, x.budget.window_seconds) == (tier, *budget)


def test_the_x_table_sets_the_cap_and_overrides_prices(write_config):
    config = load_config(write_config(GOOD + """
[x]
monthly_spend_usd = 80
app_budget_posts = 500
[x.prices]
post_read = 0.001
"""))
    billing = config.billing_for("x")
    assert billing.monthly_cap_micros == 80_000_000
    assert billing.prices.of("post_read") == 1_000
    assert billing.prices.of("post_create_with_url") == 200_000  # the rest as X lists them
    assert billing.app_budget.posts == 500


def test_a_relative_sqlite_path_is_next_to_the_config_file(write_config, tmp_path):
    config = load_config(write_config(GOOD))
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'factpost.db'}"


@pytest.mark.parametrize(("change", "expected"), [
    (('platform = "x"', 'platform = "myspace"'), "accounts[0].platform: unknown platform"),
    (('"0 9 * * mon-fri"', '"0 25 * * mon-fri"'), "accounts[0].slots: bad cron expression"),
    (('timezone = "Asia/Baghdad"', 'timezone = "Mars/Olympus"'),
     "schedule.timezone: unknown timezone"),
    (('name = "oir.fb"', 'name = "oir-x"'), "accounts[1].name: duplicate account name"),
    (('handle = "CJTFOIR"', 'handle = ""'), "accounts[1].handle: missing"),
    (('require_approval = true', 'require_approval = "yes"'), "review.require_approval"),
    (('api_url = "http://127.0.0.1:8765/"', 'api_url = "ftp://x"'), "accounts[0].api_url"),
    (('timezone = "Asia/Baghdad"', 'timezone = "Asia/Baghdad"\nlease_seconds = 20'),
     "schedule.lease_seconds: 20 is not longer than accounts[0].timeout_seconds (30)"),
    (('platform = "x"', 'platform = "x"\ntier = "enterprise"'),
     "accounts[0].tier: unknown X API tier"),
    (('platform = "x"', 'platform = "x"\nlinks = "last-part"'),
     "accounts[0].links: unknown link placement"),
    (('handle = "CJTFOIR"\n', 'handle = "CJTFOIR"\ngraph_version = "v21.5"\n'),
     "accounts[1].graph_version: 'v21.5' is not a Graph API version"),
    (('[review]', '[x]\nmonthly_spend_usd = -5\n[review]'), "x.monthly_spend_usd"),
    (('[review]', '[x.prices]\npost_like = 0.1\n[review]'),
     "x.prices.post_like: unknown operation"),
    (('[review]', '[web]\nmax_body_kb = 0\n[review]'), "web.max_body_kb: 0 is not a number"),
    (('[review]', '[web]\nbody_timeout_seconds = "30s"\n[review]'),
     "web.body_timeout_seconds: '30s' is not a number"),
])
def test_bad_values_name_the_file_the_key_and_the_fix(write_config, change, expected):
    path = write_config(GOOD.replace(*change))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {expected}")
    assert "\n" not in message
    assert ";" in message  # the fix follows the problem


def test_broken_toml_and_missing_file_are_one_line_errors(write_config, tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write_config("[database\nurl = 1"))
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_credentials_come_from_the_environment_by_account_name(write_config):
    x, fb = load_config(write_config(GOOD)).accounts
    env = {"FACTPOST_OIR_X_CONSUMER_KEY": "ck", "FACTPOST_OIR_X_CONSUMER_SECRET": "cs",
           "FACTPOST_OIR_X_ACCESS_TOKEN": "at", "FACTPOST_OIR_X_ACCESS_TOKEN_SECRET": "as",
           "FACTPOST_OIR_FB_PAGE_TOKEN": "pt"}
    assert x.credentials(env) == {"consumer_key": "ck", "consumer_secret": "cs",
                                  "access_token": "at", "access_token_secret": "as"}
    assert fb.credentials(env) == {"page_token": "pt"}


def test_missing_credentials_name_the_variables_but_no_values(write_config):
    x, _ = load_config(write_config(GOOD)).accounts
    with pytest.raises(CredentialsMissing) as err:
        x.credentials({"FACTPOST_OIR_X_CONSUMER_KEY": "secret-value"})
    assert "FACTPOST_OIR_X_ACCESS_TOKEN_SECRET" in str(err.value)
    assert "FACTPOST_OIR_X_CONSUMER_KEY" not in str(err.value)
    assert "secret-value" not in str(err.value)

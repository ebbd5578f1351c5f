"""`factpost demo`, the README's first command: the whole path with no config or secrets."""

from __future__ import annotations

import os

from click.testing import CliRunner

from scheduler.cli import cli


def test_the_demo_publishes_the_samples_through_the_emulator_and_shows_the_history(tmp_path,
                                                                                 monkeypatch):
    for var in list(os.environ):
        if var.startswith("FACTPOST_"):
            monkeypatch.delenv(var)
    result = CliRunner().invoke(cli, ["demo", "--keep", str(tmp_path)])
    assert result.exit_code == 0, result.output
    # The English sheet to every platform's English account, the Arabic one to its Arabic.
    assert "imported factsheet.txt: 39 posts" in result.output
    assert "imported factsheet_ar.txt: 17 posts" in result.output
    assert "published 56 through the emulator" in result.output
    assert result.output.count("published") >= 57  # the summary line and every history row
    assert "https://x.com/JTFMeridian/status/" in result.output
    assert "https://t.me/JTFMeridianAR/" in result.output
    assert "https://bsky.app/profile/JTFMeridian/post/" in result.output
    assert (tmp_path / "factpost.db").exists() and (tmp_path / "config.toml").exists()
    # The English and the Arabic sheet went to an account of each language on every platform.
    from db.store import HistoryFilter, Store
    from scheduler.platforms import registry

    store = Store.open(f"sqlite:///{tmp_path / 'factpost.db'}")
    try:
        history = store.history.search(HistoryFilter())
    finally:
        store.close()
    assert {p.status for p in history} == {"published"}
    assert {p.account for p in history} == {f"meridian-{name}{side}" for name in registry.names()
                                            for side in ("", "-ar")}

"""Alerts: telling staff by e-mail and signed webhook when a post fails or needs review, an
account is paused, a spend cap is reached, a daemon falls silent, or a platform version nears
retirement.

    db/alerts.py          the outbox: events written with what they record, deliveries
    alert_settings.py     [alerts] in config.toml: channels, and which events go where
    alerts/deliver.py     the deliverer: observes, routes, sends outside any transaction
    alerts/channels.py    one message to one channel: SMTP, or a signed webhook POST
"""

"""Slack alerting from an outbox (built in a later issue)."""

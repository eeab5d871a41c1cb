"""Alerts for the on-call: failing check results → incidents (with a likely cause) → one Slack
message per incident, sent from an outbox (docs/alerts.md).

definition (pure data and rules) · incidents (grouping, resolution) · cause (evidence) · body
(format-neutral message, routing) · render (Block Kit, plain text) · outbox (state, retries, never
twice) · slack (transports) · service (the entry points) · cli (`nova alerts`)."""

"""Quality monitor: batch gate, checks, seasonal anomalies, trust scores (built in a later issue)."""

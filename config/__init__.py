"""Settings: `config/local.toml` (embedded DuckDB default) and `config/production.example.toml`."""

from config.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]

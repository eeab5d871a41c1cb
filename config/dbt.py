"""Settings of the generated dbt package (`nova dbt export`): where the analysts' dbt finds our tables
in Snowflake, and the freshness levels its sources declare."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DbtConfig(BaseModel):
    snowflake_database: str = Field(
        "NOVA", description="Snowflake database of the curated tables (the database of warehouse_url in production)")
    snowflake_schema: str = Field(
        "USAGE", description="Snowflake schema of the curated tables (the schema of warehouse_url in production)")
    duckdb_alias: str = Field(
        "nova", description="Name the analysts' dbt-duckdb profile attaches the warehouse file under (read-only)")
    curated_warn_after_minutes: int = Field(
        15, description="Freshness warning: newest curated event received longer ago than the curated "
                        "service level (upload to curated within 15 minutes)")
    curated_error_after_minutes: int = Field(
        60, description="Freshness error: the curated layer is this far behind (several scheduled runs missed)")
    trust_warn_after_hours: int = Field(26, description="Freshness warning of trust_scores (scored daily)")
    trust_error_after_hours: int = Field(50, description="Freshness error of trust_scores (two days not scored)")
    dashboard_owner: str = Field("Product analytics", description="Owner named on the generated exposures")

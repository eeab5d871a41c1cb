"""The warehouse layer shared by pipeline/, monitors/ and alerts/: engines (what differs between
DuckDB and Snowflake), the session, the table declarations and the one clock."""

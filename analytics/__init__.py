"""What analysts read beside `nova query`: the curated layer as a generated dbt package (`nova dbt export`)."""

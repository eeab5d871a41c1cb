"""Event contracts and the feature catalog: the single source for validation, SQL, checks and docs."""

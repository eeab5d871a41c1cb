"""The ELT: load raw lines, stage them through the contracts, curate usage tables."""

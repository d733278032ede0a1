"""The audit log: who did what to what, when, from which address, and how it ended."""

"""The account's blocked numbers: the blacklist (opted out) and the invalid numbers (unassigned)."""

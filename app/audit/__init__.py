"""Who did what to whom: staff reads of personal data, merges, goodwill, door unlocks."""

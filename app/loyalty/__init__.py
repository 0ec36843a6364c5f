"""The loyalty club (chain level): membership, tiers, the points ledger, referrals, birthdays, offers."""

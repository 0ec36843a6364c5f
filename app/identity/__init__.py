"""Authentication shared by every kind of account: sessions, rotating refresh tokens, one-time codes, API keys."""

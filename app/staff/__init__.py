"""Staff accounts: roles, the hotels each may work in, staff login."""

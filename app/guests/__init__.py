"""The guest: one profile per person across the whole chain, with preferences, family and consents."""

"""Stays: prices and availability, direct bookings, check-in, the folio and express checkout."""

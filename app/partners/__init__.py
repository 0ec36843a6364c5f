"""Partner excursions and experiences: partners, offerings, slots, bookings, vouchers, webhooks, statements."""

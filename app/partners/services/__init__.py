"""Partner use cases, split by what they manage: the catalogue, bookings, webhooks and statements."""

from app.partners.services.access import key_partner
from app.partners.services.bookings import (
    book,
    cancel,
    confirm,
    decline,
    guest_booking,
    guest_bookings,
    partner_booking,
    partner_bookings,
    partner_view,
    redeem_voucher,
    verify_voucher,
)
from app.partners.services.catalogue import (
    BrowseFilters,
    browse,
    create_offering,
    create_partner,
    create_slot,
    get_experience,
    get_partner,
    issue_partner_key,
    list_managed_offerings,
    list_open_slots,
    list_partner_offerings,
    list_partner_slots,
    list_partners,
    update_offering,
    update_partner,
    update_slot,
)
from app.partners.services.statements import managed_statement, monthly_statement
from app.partners.services.webhooks import (
    create_endpoint,
    delete_endpoint,
    list_deliveries,
    list_endpoints,
    retry_delivery,
    rotate_secret,
)

__all__ = [
    "BrowseFilters", "book", "browse", "cancel", "confirm", "create_endpoint", "create_offering", "create_partner",
    "create_slot", "decline", "delete_endpoint", "get_experience", "get_partner", "guest_booking", "guest_bookings",
    "issue_partner_key", "key_partner", "list_deliveries", "list_endpoints", "list_managed_offerings",
    "list_open_slots", "list_partner_offerings", "list_partner_slots", "list_partners", "managed_statement",
    "monthly_statement", "partner_booking", "partner_bookings", "partner_view", "redeem_voucher", "retry_delivery",
    "rotate_secret", "update_offering", "update_partner", "update_slot", "verify_voucher",
]

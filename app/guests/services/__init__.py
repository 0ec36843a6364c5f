"""Guest use cases, split by who acts: the guest's account, the guest's profile, the front desk."""

from app.guests.services.accounts import (
    change_password,
    check_login,
    find_by_contact,
    log_in,
    log_in_with_code,
    register,
    request_login_code,
)
from app.guests.services.desk import (
    create_walk_in,
    guest_card,
    merge_guests,
    read_guest,
    search_guests,
    visible_guest,
)
from app.guests.services.profile import (
    add_family_member,
    consent_overview,
    consent_policy_version,
    decide_consent,
    get_identity_document,
    get_preferences,
    my_profile,
    record_consent,
    remove_family_member,
    replace_preferences,
    set_identity_document,
    update_profile,
)

__all__ = [
    "add_family_member", "change_password", "check_login", "consent_overview", "consent_policy_version",
    "create_walk_in", "decide_consent",
    "find_by_contact", "get_identity_document", "get_preferences", "guest_card", "log_in",
    "log_in_with_code", "merge_guests", "my_profile", "read_guest", "record_consent", "register",
    "remove_family_member",
    "replace_preferences", "request_login_code", "search_guests", "set_identity_document", "update_profile",
    "visible_guest",
]

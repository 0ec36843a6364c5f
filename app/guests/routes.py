"""Guest accounts (/auth), the guest's own profile (/me) and the front desk's work on guests (/staff/guests)."""

from flask import current_app, jsonify, request
from flask.views import MethodView
from flask_jwt_extended import get_jwt
from flask_smorest import Blueprint

from app.core.auth import (
    GUEST_DATA_ROLES,
    current_guest,
    current_guest_id,
    current_session_id,
    current_staff,
    guest_required,
    staff_required,
)
from app.core.db import unit_of_work
from app.core.idempotency import idempotent
from app.core.pagination import page_schema
from app.extensions import limiter
from app.guests import services
from app.guests.models import ConsentPurpose
from app.guests.schemas import (
    CodeRequestedSchema,
    CodeRequestSchema,
    CodeVerifySchema,
    ConsentInputSchema,
    ConsentOverviewSchema,
    FamilyMemberSchema,
    GuestCardSchema,
    GuestSchema,
    GuestSearchArgsSchema,
    GuestUpdateSchema,
    IdentityDocumentSchema,
    IdentityDocumentViewSchema,
    LoginSchema,
    MergeSchema,
    PasswordChangeSchema,
    PreferencesSchema,
    RegisterSchema,
    WalkInCreateSchema,
    dump_guest,
    normalise_contact,
)
from app.guests.senders import code_sender
from app.identity.schemas import TokenPairSchema
from app.identity.web import client_info

auth_blp = Blueprint("guest-auth", __name__, description="Guest registration and login")
me_blp = Blueprint("me", __name__, description="The logged-in guest's own profile")
staff_blp = Blueprint("staff-guests", __name__, description="Guest profiles as the front desk sees them")


def _contact_in_body() -> str:
    """Rate-limit key for code requests: the phone or email asked for, whoever asks."""
    body = request.get_json(silent=True)
    contact = (body.get("phone") or body.get("email")) if isinstance(body, dict) else None
    # Normalised, so that "+7 999 ..." and "+7999..." spend the same allowance.
    return f"contact:{normalise_contact(str(contact)[:254])}" if contact else f"address:{request.remote_addr}"


# -- /auth -------------------------------------------------------------------------------------------------------

@auth_blp.route("/register")
class Register(MethodView):
    @limiter.limit(lambda: current_app.config["RATELIMIT_REGISTER"])
    @idempotent
    @auth_blp.arguments(RegisterSchema)
    @auth_blp.response(201, TokenPairSchema)
    def post(self, data: dict):
        """Create a guest account with email or phone and a password, and log in."""
        client = client_info(data.pop("device_name", None))
        with unit_of_work():
            return services.register(client=client, **{k: data.get(k) for k in (
                "email", "phone", "password", "first_name", "last_name", "language")})


@auth_blp.route("/login")
class Login(MethodView):
    @limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
    @auth_blp.arguments(LoginSchema)
    @auth_blp.response(200, TokenPairSchema)
    def post(self, data: dict):
        """Log in with email or phone and password."""
        check = services.check_login(login=data["login"], password=data["password"])  # slow hash, no lock held
        with unit_of_work():
            return services.log_in(check=check, client=client_info(data.get("device_name")))


@auth_blp.route("/code")
class LoginCode(MethodView):
    @limiter.limit(lambda: current_app.config["RATELIMIT_CODE_REQUEST_PER_ADDRESS"])
    @limiter.limit(lambda: current_app.config["RATELIMIT_CODE_REQUEST"], key_func=_contact_in_body)
    @auth_blp.arguments(CodeRequestSchema)
    @auth_blp.response(202, CodeRequestedSchema)
    def post(self, data: dict):
        """Send a one-time login code to a phone or email (valid 5 minutes, single use)."""
        destination = data.get("phone") or data["email"]
        with unit_of_work():
            code = services.request_login_code(destination=destination)
        # Sent after the commit: no network I/O inside the unit of work, and no code that was never stored.
        code_sender().send(destination=destination, code=code, language=request.accept_languages.best or "en")
        return {"sent_to": destination, "expires_in": current_app.config["LOGIN_CODE_TTL_SECONDS"]}


@auth_blp.route("/code/verify")
class LoginCodeVerify(MethodView):
    @limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
    @auth_blp.arguments(CodeVerifySchema)
    @auth_blp.response(200, TokenPairSchema)
    def post(self, data: dict):
        """Log in with the one-time code; a contact new to the chain gets a new profile."""
        with unit_of_work():
            return services.log_in_with_code(
                destination=data.get("phone") or data["email"], code=data["code"], language=data["language"],
                client=client_info(data.get("device_name")),
            )


@auth_blp.route("/password")
class Password(MethodView):
    @guest_required
    @auth_blp.arguments(PasswordChangeSchema)
    @auth_blp.response(204)
    def post(self, data: dict):
        """Change my password (or set one after a code login); my other sessions end."""
        claims = get_jwt()
        with unit_of_work():
            services.change_password(
                guest=current_guest(), session_id=current_session_id(), current_password=data.get("current_password"),
                new_password=data["new_password"], fresh_code_login=claims.get("amr") == "code" and claims["fresh"],
            )


# -- /me ---------------------------------------------------------------------------------------------------------

@me_blp.route("")
class Me(MethodView):
    @guest_required
    @me_blp.response(200, GuestSchema)
    def get(self):
        """Show my profile."""
        return jsonify(dump_guest(services.my_profile(guest_id=current_guest_id())))

    @guest_required
    @me_blp.arguments(GuestUpdateSchema)
    @me_blp.response(200, GuestSchema)
    def patch(self, changes: dict):
        """Change some fields of my profile; a new email or phone is unverified until proven."""
        with unit_of_work():
            return services.update_profile(guest=current_guest(), changes=changes)


@me_blp.route("/identity-document")
class IdentityDocument(MethodView):
    @guest_required
    @me_blp.response(200, IdentityDocumentViewSchema)
    def get(self):
        """Show the identity document the chain keeps for my check-ins."""
        return services.get_identity_document(guest=current_guest())

    @guest_required
    @me_blp.arguments(IdentityDocumentSchema)
    @me_blp.response(200, IdentityDocumentViewSchema)
    def put(self, document: dict):
        """Keep my identity document for faster check-in (stored encrypted)."""
        with unit_of_work():
            return services.set_identity_document(guest=current_guest(), document=document)

    @guest_required
    @me_blp.response(204)
    def delete(self):
        """Erase my identity document."""
        with unit_of_work():
            services.set_identity_document(guest=current_guest(), document=None)


@me_blp.route("/preferences")
class Preferences(MethodView):
    @guest_required
    @me_blp.response(200, PreferencesSchema)
    def get(self):
        """Show my room and service preferences, used by every hotel of the chain."""
        return services.get_preferences(guest=current_guest())

    @guest_required
    @me_blp.arguments(PreferencesSchema)
    @me_blp.response(200, PreferencesSchema)
    def put(self, preferences: dict):
        """Replace my preferences (fields left out are cleared)."""
        with unit_of_work():
            return services.replace_preferences(guest=current_guest(), preferences=preferences)


@me_blp.route("/family")
class Family(MethodView):
    @guest_required
    @me_blp.response(200, FamilyMemberSchema(many=True))
    def get(self):
        """List the family members I travel with."""
        return current_guest().family

    @guest_required
    @me_blp.arguments(FamilyMemberSchema)
    @me_blp.response(201, FamilyMemberSchema)
    def post(self, member: dict):
        """Add a family member (a child's birthday needs the children_birthdays consent)."""
        with unit_of_work():
            return services.add_family_member(guest=current_guest(), **member)


@me_blp.route("/family/<int:member_id>")
class FamilyMemberById(MethodView):
    @guest_required
    @me_blp.response(204)
    def delete(self, member_id: int):
        """Remove a family member."""
        with unit_of_work():
            services.remove_family_member(guest=current_guest(), member_id=member_id)


@me_blp.route("/consents")
class Consents(MethodView):
    @guest_required
    @me_blp.response(200, ConsentOverviewSchema)
    def get(self):
        """Show my consents now and their full history."""
        return services.consent_overview(guest_id=current_guest_id())

    @guest_required
    @me_blp.arguments(ConsentInputSchema)
    @me_blp.response(201, ConsentOverviewSchema)
    def post(self, data: dict):
        """Give or withdraw a consent; the decision is added to the history."""
        with unit_of_work():
            return services.decide_consent(guest_id=current_guest_id(), purpose=ConsentPurpose(data["purpose"]),
                                           granted=data["granted"])


# -- /staff/guests -----------------------------------------------------------------------------------------------

@staff_blp.route("")
class StaffGuests(MethodView):
    @staff_required(*GUEST_DATA_ROLES)
    @staff_blp.arguments(GuestSearchArgsSchema, location="query")
    @staff_blp.response(200, page_schema(GuestCardSchema))
    def get(self, args: dict):
        """Search the guests of my hotels by name, email or phone (audited)."""
        with unit_of_work():
            return services.search_guests(staff=current_staff(), **args)

    @staff_required(*GUEST_DATA_ROLES)
    @idempotent
    @staff_blp.arguments(WalkInCreateSchema)
    @staff_blp.response(201, GuestCardSchema)
    def post(self, data: dict):
        """Create the profile of a walk-in guest at my hotel."""
        with unit_of_work():
            return services.create_walk_in(staff=current_staff(), hotel_id=data.pop("hotel_id"), data=data)


@staff_blp.route("/<int:guest_id>")
class StaffGuestById(MethodView):
    @staff_required(*GUEST_DATA_ROLES)
    @staff_blp.response(200, GuestCardSchema)
    def get(self, guest_id: int):
        """Read a guest's profile, preferences and consents (audited; contacts masked by role)."""
        with unit_of_work():
            return services.read_guest(staff=current_staff(), guest_id=guest_id)


@staff_blp.route("/merge")
class MergeGuests(MethodView):
    @staff_required(*GUEST_DATA_ROLES)
    @staff_blp.arguments(MergeSchema)
    @staff_blp.response(200, GuestCardSchema)
    def post(self, data: dict):
        """Merge a duplicate profile into another, keeping all history and the stricter consents (audited)."""
        with unit_of_work():
            return services.merge_guests(staff=current_staff(), **data)

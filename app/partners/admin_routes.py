"""Partner administration for chain admins and hotel managers: partners, their API keys, offerings, statements."""

from flask.views import MethodView
from flask_smorest import Blueprint

from app.core.auth import MANAGERS, current_staff, staff_required
from app.core.db import unit_of_work
from app.core.pagination import CursorArgsSchema, page_schema
from app.partners import services
from app.partners.schemas import (
    ApiKeyCreateSchema,
    IssuedKeySchema,
    OfferingAdminSchema,
    OfferingCreateSchema,
    OfferingUpdateSchema,
    PartnerAdminSchema,
    PartnerCreateSchema,
    PartnerUpdateSchema,
    StatementQueryArgsSchema,
    StatementSchema,
)

admin_blp = Blueprint("admin-partners", __name__, description="Chain administration: partners and offerings")


@admin_blp.route("/partners")
class AdminPartners(MethodView):
    @staff_required(*MANAGERS)
    @admin_blp.arguments(CursorArgsSchema, location="query")
    @admin_blp.response(200, page_schema(PartnerAdminSchema))
    def get(self, args: dict):
        """List the partners of my hotels (all, for chain admins)."""
        return services.list_partners(staff=current_staff(), **args)

    @staff_required(*MANAGERS)
    @admin_blp.arguments(PartnerCreateSchema)
    @admin_blp.response(201, PartnerAdminSchema)
    def post(self, data: dict):
        """Add a partner linked to some of my hotels (or, chain admins, to a city)."""
        with unit_of_work():
            return services.create_partner(staff=current_staff(), **data)


@admin_blp.route("/partners/<int:partner_id>")
class AdminPartnerById(MethodView):
    @staff_required(*MANAGERS)
    @admin_blp.response(200, PartnerAdminSchema)
    def get(self, partner_id: int):
        """Show a partner."""
        return services.get_partner(staff=current_staff(), partner_id=partner_id)

    @staff_required(*MANAGERS)
    @admin_blp.arguments(PartnerUpdateSchema)
    @admin_blp.response(200, PartnerAdminSchema)
    def patch(self, changes: dict, partner_id: int):
        """Change a partner: commission, hotels, deactivation."""
        with unit_of_work():
            return services.update_partner(staff=current_staff(), partner_id=partner_id, changes=changes)


@admin_blp.route("/partners/<int:partner_id>/api-keys")
class AdminPartnerKeys(MethodView):
    @staff_required(*MANAGERS)
    @admin_blp.arguments(ApiKeyCreateSchema)
    @admin_blp.response(201, IssuedKeySchema)
    def post(self, data: dict, partner_id: int):
        """Issue an API key for the partner's system (shown once); it sees only this partner's data."""
        with unit_of_work():
            return services.issue_partner_key(staff=current_staff(), partner_id=partner_id, **data)


@admin_blp.route("/partners/<int:partner_id>/offerings")
class AdminOfferings(MethodView):
    @staff_required(*MANAGERS)
    @admin_blp.arguments(CursorArgsSchema, location="query")
    @admin_blp.response(200, page_schema(OfferingAdminSchema))
    def get(self, args: dict, partner_id: int):
        """List a partner's offerings with every translation."""
        return services.list_managed_offerings(staff=current_staff(), partner_id=partner_id, **args)

    @staff_required(*MANAGERS)
    @admin_blp.arguments(OfferingCreateSchema)
    @admin_blp.response(201, OfferingAdminSchema)
    def post(self, data: dict, partner_id: int):
        """Add an offering (price in the partner's currency)."""
        with unit_of_work():
            return services.create_offering(staff=current_staff(), partner_id=partner_id, **data)


@admin_blp.route("/offerings/<int:offering_id>")
class AdminOfferingById(MethodView):
    @staff_required(*MANAGERS)
    @admin_blp.arguments(OfferingUpdateSchema)
    @admin_blp.response(200, OfferingAdminSchema)
    def patch(self, changes: dict, offering_id: int):
        """Change an offering (commission, policy, texts, withdrawal)."""
        with unit_of_work():
            return services.update_offering(staff=current_staff(), offering_id=offering_id, changes=changes)


@admin_blp.route("/partners/<int:partner_id>/statements")
class AdminPartnerStatements(MethodView):
    @staff_required(*MANAGERS)
    @admin_blp.arguments(StatementQueryArgsSchema, location="query")
    @admin_blp.response(200, StatementSchema)
    def get(self, args: dict, partner_id: int):
        """Show a partner's statement for a month."""
        return services.managed_statement(staff=current_staff(), partner_id=partner_id, month=args["month"])

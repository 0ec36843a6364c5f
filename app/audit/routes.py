"""GET /staff/audit: the access log, for managers."""

from flask.views import MethodView
from flask_smorest import Blueprint

from app.audit import services
from app.audit.schemas import AuditEntrySchema, AuditQueryArgsSchema
from app.core.auth import MANAGERS, current_staff, staff_required
from app.core.pagination import page_schema

blp = Blueprint("audit", __name__, description="Audit log of staff access and sensitive actions")


@blp.route("")
class AuditLog(MethodView):
    @staff_required(*MANAGERS)
    @blp.arguments(AuditQueryArgsSchema, location="query")
    @blp.response(200, page_schema(AuditEntrySchema))
    def get(self, args: dict):
        """Browse the audit log of my hotels, newest first."""
        return services.browse(viewer=current_staff(), **args)

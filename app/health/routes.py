"""GET /healthz (the process answers) and GET /readyz (it can reach its database)."""

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.core.errors import database_unavailable
from app.extensions import db

blp = Blueprint("health", __name__, description="Liveness and readiness probes")


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200)
    def get(self) -> dict:
        """Answer while the process is alive."""
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    @blp.response(200)
    def get(self) -> dict:
        """Answer 200 when the database answers, 503 otherwise."""
        try:
            db.session.execute(text("SELECT 1"))
            db.session.commit()
        except SQLAlchemyError:
            db.session.rollback()
            return database_unavailable("The database does not answer.")
        return {"status": "ok", "database": "ok"}

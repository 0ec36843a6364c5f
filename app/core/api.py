"""flask-smorest's Api, answering errors as problem+json and documenting them so."""

from __future__ import annotations

import http
from typing import Any

import marshmallow as ma
from flask import Request, Response
from flask_smorest import Api, Blueprint
from flask_smorest.spec import prepare_response
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from app.core.schemas import nul_error, nul_path


class SharedSchemaParser(FlaskParser):
    """webargs turns a schema *class* given to `@blp.arguments` into a new schema object on every request, and
    marshmallow deep-copies every declared field to build one: a fifth of a small POST's time in process. A schema
    holds no per-request state (marshmallow 4 has no `context`), so each class is instantiated once, when the view
    is decorated."""

    def use_args(self, argmap: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            argmap = argmap()
        return super().use_args(argmap, *args, **kwargs)


# Installed when this module is imported, before any view is decorated: app.extensions imports it, and every
# module that declares routes imports app.extensions (through its services) before its decorators run.
Blueprint.ARGUMENTS_PARSER = SharedSchemaParser()


class ProblemSchema(ma.Schema):
    """RFC 7807 problem details (documentation only: errors are built by app.core.errors.problem).

    Problems may carry extension members (RFC 7807 section 3.2: `balance`, `current_status`...), so the document
    allows additional properties.
    """

    class Meta:
        unknown = ma.INCLUDE

    type = ma.fields.String(metadata={"description": "URI reference naming the problem type"})
    title = ma.fields.String()
    status = ma.fields.Integer()
    code = ma.fields.String(metadata={"description": "Stable machine-readable code"})
    detail = ma.fields.String()
    errors = ma.fields.Dict(metadata={"description": "Per-field validation messages"})
    request_id = ma.fields.String()


class ProblemApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def init_app(self, app, *args, **kwargs):
        # webargs excludes unknown query parameters by default; a typo (?stauts=open) must be an error instead,
        # so query arguments follow their schema's Meta.unknown (RAISE). Headers stay lenient.
        Blueprint.ARGUMENTS_PARSER.DEFAULT_UNKNOWN_BY_LOCATION = {
            **Blueprint.ARGUMENTS_PARSER.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None,
        }
        # webargs' documented hook, run on every declared argument location before its schema loads.
        Blueprint.ARGUMENTS_PARSER.pre_load = refuse_nul_characters
        return super().init_app(app, *args, **kwargs)

    def handle_http_exception(self, error: HTTPException) -> Response:
        from app.core.errors import http_exception_to_problem

        return http_exception_to_problem(error)

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, "application/problem+json")
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, "application/problem+json")
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def refuse_nul_characters(location_data: Any, *, schema: ma.Schema, req: Request, location: str) -> Any:
    """Refuse (422, per field) any text of the query, body or form that contains U+0000.

    No text of this API has a use for it, and PostgreSQL cannot store it in a text column: it raised a DataError,
    a 500 for a client's mistake (the fuzzer's find, in a query argument). Checked once here, for every endpoint
    and field, rather than in each schema. The error is keyed like marshmallow's (list items by index).
    """
    source = {"query": req.args, "querystring": req.args, "form": req.form}.get(location, location_data)
    path = nul_path(source)
    if path is None:
        return location_data
    raise ma.ValidationError(nul_error(path))

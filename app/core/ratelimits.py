"""Rate limits: Flask-Limiter, whose per-request work runs only for the endpoints that declare a limit.

Every limit in this API is declared on its endpoint (`@limiter.limit(...)`: login, registration, one-time codes);
there are no default or application-wide limits. Flask-Limiter still hooks every request (a before-request check
resolving limits, exemptions and blueprint scopes to find nothing, a header step, a context reset): a fifth of the
app's own cost of a cheap read such as GET /me. `init_app` binds the limiter and then guards those three hooks so
that they run only for an endpoint with a declared limit; there they run exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request

from app.extensions import limiter

# Flask-Limiter marks the function its `limit` decorator returns with this attribute (a weak proxy of the Limiter);
# functools.wraps copies it onto every decorator stacked above. tests/core/test_rate_limits.py lists the endpoints
# found with it, so a library change that drops the mark fails a test instead of silently lifting the limits.
LIMITER_MARK = "__wrapper-limiter-instance"


def init_app(app: Flask) -> None:
    """`limiter.init_app(app)`, with the hooks it adds to every request guarded by `limited_endpoints`."""
    registries = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    existing = [list(registry.get(None, ())) for registry in registries]
    limiter.init_app(app)
    for registry, before in zip(registries, existing, strict=True):
        registry[None] = [hook if hook in before else _where_limited(hook) for hook in registry.get(None, ())]


def _where_limited(hook: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(*args: Any) -> Any:
        if request.endpoint in limited_endpoints(current_app):
            return hook(*args)
        # A before-request hook gets no argument and must return None to let the request go on; an after-request
        # hook gets the response and must return it; a teardown hook's return value is ignored.
        return args[0] if args else None

    return guarded


def limited_endpoints(app: Flask) -> frozenset[str]:
    """The endpoints of `app` with a declared rate limit on their view or on one of its HTTP methods.

    Built on first use, once every route is registered (create_app calls it at the end).
    """
    found = app.extensions.get("rate_limited_endpoints")
    if found is None:
        found = frozenset(endpoint for endpoint, view in app.view_functions.items() if _declares_limit(view))
        app.extensions["rate_limited_endpoints"] = found
    return found


def _declares_limit(view: Any) -> bool:
    functions = [view]
    view_class = getattr(view, "view_class", None)
    if view_class is not None:  # a MethodView: the limit sits on its get/post/... methods
        functions += [getattr(view_class, method.lower(), None) for method in view_class.methods or ()]
    return any(getattr(function, LIMITER_MARK, None) is not None for function in functions if function is not None)

"""Languages: pick the caller's from Accept-Language, and the right text from a {lang: text} mapping."""

from __future__ import annotations

from flask import current_app, g, has_request_context, request


def request_language() -> str:
    """The best supported language for this request (guest's Accept-Language), cached per request."""
    if not has_request_context():
        return current_app.config["DEFAULT_LANGUAGE"]
    if "language" not in g:
        supported = current_app.config["SUPPORTED_LANGUAGES"]
        g.language = request.accept_languages.best_match(supported) or current_app.config["DEFAULT_LANGUAGE"]
    return g.language


def localise(texts: dict[str, str] | None, language: str | None = None) -> str | None:
    """The text in `language`, else English, else any language there is."""
    if not texts:
        return None
    language = language or request_language()
    return texts.get(language) or texts.get("en") or next(iter(texts.values()))

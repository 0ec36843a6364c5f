"""A WSGI app for tests of the web worker (tests/core/test_web_worker.py): every answer is the id of the process
that served it. `/hold`, `/stream` and `/step` first wait HOLD_SECONDS: inside the app, in a long-lived streamed
body, and stepped out of the worker's running slot."""

import os
import time

from app.core.web_slots import LONG_LIVED, STEP_ASIDE

HOLD_SECONDS = 1.0


def app(environ, start_response):
    body = str(os.getpid()).encode()
    path = environ["PATH_INFO"]
    if path == "/hold":
        time.sleep(HOLD_SECONDS)
    elif path == "/step":
        with environ[STEP_ASIDE]():
            time.sleep(HOLD_SECONDS)
    start_response("200 OK", [("Content-Type", "text/plain")] + (
        [] if path == "/stream" else [("Content-Length", str(len(body)))]))
    if path == "/stream":
        environ[LONG_LIVED] = True

        def frames():
            time.sleep(HOLD_SECONDS)
            yield body
        return frames()
    return [body]

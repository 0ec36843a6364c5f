"""The baseline for bench/run: the smallest Flask app, served by gunicorn exactly like wsgi:app.

    gunicorn bench.hello_app:app      GET /hello -> {"hello": "world"}
"""

from flask import Flask, Response, jsonify

app = Flask(__name__)


@app.get("/hello")
def hello() -> Response:
    return jsonify({"hello": "world"})

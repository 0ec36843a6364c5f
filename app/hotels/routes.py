"""Hotels for guests (read) and for chain administration (write)."""

from flask_smorest import Blueprint

blp = Blueprint("hotels", __name__, description="Hotels of the chain, room types and seasons")
admin_blp = Blueprint("admin-hotels", __name__, description="Chain administration: hotels, room types, rooms")

"""URL converters: `<int:...>` ids are bounded to what the database can hold."""

from typing import Any

from werkzeug.routing import IntegerConverter

from app.core.schemas import MAX_ID


class IdConverter(IntegerConverter):
    """Like werkzeug's int, but /things/99999999999999999999999 is a 404, not an overflow in the driver."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int = 1, max: int = MAX_ID, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

"""Shapes of devices, commands and scenes; what each kind of device may be told to do."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from app.core.schemas import Localised, LocalisedText, StrictSchema, id_field
from app.iot.models import CommandStatus, DeviceKind

DEVICE_KEY = ma.validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,39}$",
                                error="Use 1-40 lower-case letters, digits, '-' or '_' (for example light-main).")
SCENES = ("welcome", "sleep", "away", "checkout")
PERCENT = ma.validate.Range(0, 100)


def _half_degree(value: float) -> None:
    if round(value * 2) != value * 2:
        raise ma.ValidationError("Use steps of 0.5 °C.")


# -- what a device can be told (the `values` of a command), per kind ----------------------------------------------

class LightValues(StrictSchema):
    on = ma.fields.Boolean()
    brightness = ma.fields.Integer(validate=PERCENT)


class ClimateValues(StrictSchema):
    power = ma.fields.Boolean()
    mode = ma.fields.String(validate=ma.validate.OneOf(["cool", "heat", "auto", "fan", "dry", "eco"]))
    setpoint_c = ma.fields.Float(validate=[ma.validate.Range(16, 30), _half_degree], allow_nan=False)
    fan = ma.fields.String(validate=ma.validate.OneOf(["auto", "low", "medium", "high"]))


class CurtainsValues(StrictSchema):
    position = ma.fields.Integer(validate=PERCENT, metadata={"description": "0 closed, 100 open"})


class LockValues(StrictSchema):
    locked = ma.fields.Boolean(required=True)


class IndicatorValues(StrictSchema):
    mode = ma.fields.String(required=True, validate=ma.validate.OneOf(["none", "dnd", "make_up_room"]))


COMMAND_VALUES: dict[str, type[ma.Schema]] = {
    DeviceKind.LIGHT: LightValues, DeviceKind.CLIMATE: ClimateValues, DeviceKind.CURTAINS: CurtainsValues,
    DeviceKind.LOCK: LockValues, DeviceKind.INDICATOR: IndicatorValues,
}


# One instance per kind, made once: a schema holds no per-call state in load(), and building one (fields copied,
# hooks resolved) cost more than loading a command's two or three values, on every light switched from the app.
_COMMAND_VALUES_SCHEMAS: dict[str, ma.Schema] = {kind: schema() for kind, schema in COMMAND_VALUES.items()}


def load_command_values(kind: str, values: Any) -> dict[str, Any]:
    """Validate a command's values for a kind of device; raises ma.ValidationError (sensors take no command)."""
    schema = _COMMAND_VALUES_SCHEMAS.get(kind)
    if schema is None:
        raise ma.ValidationError({"device_id": ["This device takes no commands."]})
    loaded = schema.load(values)
    if not loaded:
        raise ma.ValidationError({"values": ["Give at least one value to set."]})
    return loaded


# -- devices -------------------------------------------------------------------------------------------------------

class DeviceSchema(ma.Schema):
    """A device as a guest or staff member sees it: what it is, whether it is reachable, and its last state."""

    id = ma.fields.Integer()
    room_id = ma.fields.Integer()
    key = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": [kind.value for kind in DeviceKind]})
    name = Localised()
    available = ma.fields.Boolean(allow_none=True, metadata={
        "description": "null when unknown: the device has not reported, or no bridge is running"})
    state = ma.fields.Dict(allow_none=True)
    state_at = ma.fields.DateTime(allow_none=True)
    fault = ma.fields.String(allow_none=True)


class DeviceAdminSchema(DeviceSchema):
    name = ma.fields.Dict()
    hotel_id = ma.fields.Integer()
    topic = ma.fields.String()
    availability_at = ma.fields.DateTime(allow_none=True)


class DeviceCreateSchema(StrictSchema):
    key = ma.fields.String(required=True, validate=DEVICE_KEY)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf([kind.value for kind in DeviceKind]))
    name = LocalisedText(required=True)


# -- commands ------------------------------------------------------------------------------------------------------

class CommandCreateSchema(StrictSchema):
    device_id = id_field(required=True)
    values = ma.fields.Dict(required=True, metadata={
        "description": "light: on, brightness; climate: power, mode, setpoint_c, fan; curtains: position; "
                       "lock: locked; indicator: mode"})


class CommandSchema(ma.Schema):
    id = ma.fields.Integer()
    device_id = ma.fields.Integer()
    room_id = ma.fields.Integer()
    source = ma.fields.String()
    values = ma.fields.Dict()
    status = ma.fields.String(metadata={"enum": [status.value for status in CommandStatus]})
    created_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime()
    sent_at = ma.fields.DateTime(allow_none=True)
    completed_at = ma.fields.DateTime(allow_none=True)
    result = ma.fields.Dict(allow_none=True)


class SceneResultSchema(ma.Schema):
    scene = ma.fields.String()
    commands = ma.fields.List(ma.fields.Nested(CommandSchema))


class KeyBlockSchema(StrictSchema):
    reason = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))


# -- staff room view -----------------------------------------------------------------------------------------------

class StaffRoomsArgsSchema(StrictSchema):
    hotel_id = id_field(strict=False, required=True)


class StaffRoomSchema(ma.Schema):
    room_id = ma.fields.Integer()
    number = ma.fields.String()
    occupied = ma.fields.Boolean()
    stay_id = ma.fields.Integer(allow_none=True)
    room_state = ma.fields.String(metadata={"enum": ["none", "dnd", "make_up_room"]})
    devices = ma.fields.List(ma.fields.Nested(DeviceSchema))

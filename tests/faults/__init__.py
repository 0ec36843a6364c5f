"""Fault tests: the database, the broker or FCM fail, and the service holds.

- database outage: test_database_faults.py
- FCM failing: test_push_faults.py (single-device rules in tests/push/test_push_services.py)
- MQTT broker down: tests/iot/test_iot_bridge.py::
  test_commands_accepted_while_the_broker_is_down_are_delivered_once_after_it_returns (a real Mosquitto stopped and
  started again: commands accepted meanwhile stay pending and are each executed once when it returns)
"""

"""The MQTT bridge to the rooms' smart devices: registry, command outbox, scenes, simulator (docs/mqtt.md)."""

"""The staff console: server-rendered pages at /console (queue, rooms, marketing, partners) over the domain services."""

"""The chain's structure: chain, hotels, season calendars, room types, rooms, departments."""

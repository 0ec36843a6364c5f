"""In-stay service requests: catalogue, requests and their SLA, the staff queue, messages, guest summary."""

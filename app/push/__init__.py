"""Push notifications: devices, inbox, transactional pushes, segments and marketing campaigns."""

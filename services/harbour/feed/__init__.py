"""The feed service: the global feed for other systems, typed events, filtered by client,
stream kind and event type, resumable from a position, scoped by the caller's roles."""

"""Object storage: key layout (pure), the store protocol and its implementations."""

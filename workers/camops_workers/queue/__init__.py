"""The durable offline queue, the uploader pool that empties it, and their CLIs (``camops drain``, ``camops queue``)."""

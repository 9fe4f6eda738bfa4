"""Retention: a pure planner (listing + now -> what to delete or archive), the listing
strategy per key layout, the job that carries a plan out, and storage statistics."""

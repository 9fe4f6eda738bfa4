"""kopf handlers for RetentionPolicy (its retention CronJob and status)."""

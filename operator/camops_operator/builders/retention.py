"""Pure builders for RetentionPolicy children (the ``<policy>-retention`` CronJob)."""

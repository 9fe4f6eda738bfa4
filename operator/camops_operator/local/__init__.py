"""Local mode: ``camops local`` runs Camera manifests on one machine, no cluster (and ``--demo``)."""

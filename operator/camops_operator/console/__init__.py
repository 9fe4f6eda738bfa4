"""The camops console: a read-only web view of the fleet (wall of cameras, camera pages, live updates).

Served by ``camops local`` (the runner's state and its store) and by ``camops console`` in a
cluster (one watch on Cameras, objects through the storage API, Kubernetes RBAC decides who
sees which camera). See docs/console.md.
"""

"""Northstar: event-driven business performance management.

`northstar.domain` holds the pure business rules; the other subpackages are the shared
plumbing (settings, storage, Kafka, auth, HTTP conventions) the three services stand on.
"""

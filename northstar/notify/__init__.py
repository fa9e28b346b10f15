"""Notifications to people (SPEC §14): channels, subscriptions, grouped messages, digests.

The pure parts (which events a subscription wants, severities, quiet hours, digest
periods, reminder escalation, message templates) live here next to the pieces with side
effects that only the evaluator's background tasks and the api call: the vault that seals
channel targets, the Apprise targets and the SQL that queues messages. See
docs/notifications.md.
"""

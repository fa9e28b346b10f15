"""Notify: messages to people (SPEC §14) — email, Slack, Teams and any Apprise target;
messages grouped per goal, digests, check-in reminders, quiet hours.

"Notify" names the people path only. The machine path (the outbox → Kafka and webhooks)
is `northstar.outbox` and `services.evaluator.outbox`.

The shape is the rollups': `repository.py` holds every SQL statement of the evaluator's
side and returns typed rows (`rows.py`); `planning.py` holds the decisions as pure
functions of `now` and rows (grouping, the owners' default, digest content, reminders and
escalation); `timing.py` says when (quiet hours, digest periods, the reminder schedule)
and `templates.py` what a message says; `model.py` is the vocabulary, `targets.py` the
channel targets and `settings.py` the settings. The loops — `queue.py` (the relay's
hand-over), `services/evaluator/notify/notifier.py` and `schedules.py` — read through
the repository, call the planners and write what they return. See
docs/notifying-people.md.
"""

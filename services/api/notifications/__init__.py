"""`/v1/channels`, `/v1/subscriptions`, `/v1/digests` and `/v1/notification-preferences`."""

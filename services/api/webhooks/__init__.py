"""Webhooks (admin): subscribe a URL to event types, list, unsubscribe, read the delivery log."""

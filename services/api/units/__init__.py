"""Org units (`/v1/units`): the organisation tree goals belong to."""

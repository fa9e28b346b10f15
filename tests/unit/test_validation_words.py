"""Validation errors in words (northstar/http/validation_words.py), from the errors the
api's own request bodies really raise."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from northstar.http.validation_words import in_words
from services.api.notifications.schemas import ChannelCreate, DigestCreate, QuietHoursIn


def _words(model: Any, body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return {".".join(str(p) for p in e["loc"]): in_words(e) for e in caught.value.errors()}


def test_the_errors_people_meet_read_as_sentences() -> None:
    assert _words(QuietHoursIn, {"start": "8.30", "end": "07:00"}) == {
        "start": "must be a time of day as HH:MM, e.g. 08:30"
    }
    assert _words(ChannelCreate, {"name": "", "kind": "pager", "target": "xyz", "colour": 1}) == {
        "name": "must not be empty",
        "kind": "must be 'email', 'slack', 'teams' or 'apprise'",
        "colour": "is not a field of this request",
    }
    words = _words(
        DigestCreate,
        {"channel_id": "nope", "cadence": "weekly", "at": "08:30", "weekday": 9},
    )
    assert words["channel_id"] == "must be an id (a UUID such as 3f2b8c1e-…)"
    assert words["weekday"] == "must be at most 6"
    assert _words(DigestCreate, {"cadence": "daily", "at": "08:30"}) == {
        "channel_id": "is required"
    }
    ok = DigestCreate.model_validate(
        {"channel_id": str(uuid.uuid4()), "cadence": "daily", "at": "08:30"}
    )
    assert ok.at == "08:30"

"""Request and response bodies of channels, subscriptions, digests and quiet hours."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from northstar.notify.model import (
    DEFAULT_EVENTS,
    SUBSCRIBABLE_EVENTS,
    ChannelKind,
    OwnerKind,
    Severity,
)


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone such as Europe/Berlin or UTC") from None
    return value


class Owner(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: OwnerKind = Field(description="`user` (a person's channel) or `unit` (a team channel).")
    id: uuid.UUID = Field(description="The user's or the unit's id.")


class ChannelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["Sales lead's email"])
    kind: ChannelKind = Field(
        description="`email` (target: one address, sent through the server's SMTP relay), "
        "`slack` (a Slack incoming-webhook URL or slack:// URL), `teams` (a Teams Workflows "
        "URL or workflow:// URL) or `apprise` (any Apprise URL: Google Chat, Discord, ntfy, "
        "Matrix, …)."
    )
    target: str = Field(
        min_length=3,
        max_length=2000,
        description="Where messages go. A secret: stored encrypted and never shown again.",
        examples=["sales.lead@example.com"],
    )
    owner: Owner | None = Field(
        default=None,
        description="Whose channel it is; default: the signed-in person (required with a "
        "service key).",
    )


class ChannelOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: ChannelKind
    owner: Owner
    implicit: bool = Field(
        default=False,
        description="Made by Northstar for a goal owner's default critical-alert emails; "
        "deleting it turns that default off.",
    )
    created_at: datetime


class MessageStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class DeliveryOut(BaseModel):
    id: uuid.UUID
    kind: Literal["event", "digest", "reminder"] = Field(
        description="`event` (a goal's events of one grouping window, or one new review), "
        "`digest` or `reminder`."
    )
    goal_id: uuid.UUID | None = Field(
        default=None, description="The goal an event message is about."
    )
    review_id: uuid.UUID | None = Field(
        default=None, description="The review a `review.created` message announces."
    )
    severity: Severity
    subject: str | None = Field(
        default=None, description="As sent (null before the first attempt)."
    )
    events: int = Field(description="How many events this message carries (grouped).")
    status: MessageStatus = Field(
        description="`pending` (waiting for its window, quiet hours or a retry), `delivered` "
        "or `failed` (gave up after the last attempt, or the channel was deleted)."
    )
    attempts: int
    last_error: str | None = None
    held_until: datetime | None = Field(
        default=None, description="Set while quiet hours hold the message."
    )
    created_at: datetime
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    next_attempt_at: datetime | None = Field(
        default=None, description="When it is due; null once delivered or failed."
    )


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    goal_id: uuid.UUID | None = Field(default=None, description="One goal.")
    unit_id: uuid.UUID | None = Field(
        default=None, description="Every goal of this unit and the units below it."
    )
    mine: bool = Field(
        default=False, description="Goals owned by the channel's owner (a user's channel)."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Scope:
        if sum([self.goal_id is not None, self.unit_id is not None, self.mine]) != 1:
            raise ValueError("give exactly one of goal_id, unit_id or mine: true")
        return self

    @property
    def kind(self) -> str:
        return "goal" if self.goal_id else "unit" if self.unit_id else "mine"


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel_id: uuid.UUID
    scope: Scope
    events: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EVENTS),
        min_length=1,
        description="Any of: "
        + "; ".join(f"`{k}` ({v})" for k, v in SUBSCRIBABLE_EVENTS.items())
        + f". Default: {', '.join(DEFAULT_EVENTS)}.",
    )
    min_severity: Severity = Field(
        default=Severity.WARNING,
        description="Events below it are not sent: alerts carry their severity; a status "
        "change is critical to off_track/missed, warning to at_risk, info otherwise.",
    )

    @field_validator("events")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [e for e in value if e not in SUBSCRIBABLE_EVENTS]
        if unknown:
            raise ValueError(
                f"unknown event(s) {', '.join(map(repr, unknown))}; "
                f"valid are {', '.join(SUBSCRIBABLE_EVENTS)}"
            )
        return list(dict.fromkeys(value))


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    channel_id: uuid.UUID
    scope: Scope
    events: list[str]
    min_severity: Severity
    created_at: datetime


class DigestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel_id: uuid.UUID
    cadence: Literal["daily", "weekly"]
    at: str = Field(
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Local time, HH:MM.", examples=["08:30"]
    )
    timezone: str = Field(default="UTC", max_length=64, examples=["Europe/Berlin"])
    weekday: int = Field(
        default=0, ge=0, le=6, description="Weekly digests: the day, Monday = 0 (default)."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _zone(value)


class DigestOut(BaseModel):
    id: uuid.UUID
    channel_id: uuid.UUID
    cadence: Literal["daily", "weekly"]
    at: str
    timezone: str
    weekday: int
    created_at: datetime


class QuietHoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["22:00"])
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["07:00"])


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(default="UTC", max_length=64, examples=["Europe/Berlin"])
    quiet_hours: QuietHoursIn | None = Field(
        default=None,
        description="Local span in which only critical messages go out; others are held "
        "until it ends. Null: none.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _zone(value)


class PreferencesOut(BaseModel):
    user_id: uuid.UUID
    timezone: str
    quiet_hours: QuietHoursIn | None


def clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class ChannelKindOut(BaseModel):
    kind: ChannelKind = Field(description="The channel kind.")
    sendable: bool = Field(
        description="Whether this server can send to channels of this kind (email needs "
        "an SMTP relay)."
    )
    how_to_enable: str | None = Field(
        description="When not sendable: what an operator sets up to make it so."
    )


class ChannelKinds(BaseModel):
    items: list[ChannelKindOut] = Field(description="Every channel kind, sendable first.")


class ChannelTestOut(BaseModel):
    sent: bool = Field(description="Whether the channel's service accepted the test message.")
    detail: str = Field(
        description="What happened, in words: where the message went, or why it was not sent "
        "(the target is never quoted)."
    )

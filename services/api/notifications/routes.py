"""`/v1/channels`, `/v1/subscriptions`, `/v1/digests`, quiet hours
(`/v1/me/notification-preferences`, `/v1/users/{id}/notification-preferences`).

A person's notification settings (channels, their subscriptions, digests and delivery
logs, quiet hours) are theirs and admins'; a unit's channels are its leads', editors'
and admins' (`northstar.auth.policy`, rule 4). A single channel, subscription or digest
is `notifications:read` / `notifications:manage` on its channel (403 for anyone else);
lists hold only what the caller may see (`notification_reach`). Creating one is
`notifications:own` for every person, then the same rule on the channel or owner named
in the body (`services.api.notifications.service`). A channel's target is write-only:
it is sealed before it is stored and no answer ever contains it, nor does any log line.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from northstar.auth.policy import Action, notification_reach
from northstar.crypto import SecretBox, SecretUnreadable
from northstar.db.models import (
    NotificationChannel,
    NotificationDigest,
    NotificationMessage,
    NotificationSubscription,
)
from northstar.http.problems import Problem
from northstar.http.ratelimit import RateLimiter, parse_limits, retry_after_header
from northstar.notify.delivery import deliver, redact
from northstar.notify.model import ChannelKind, OwnerKind, Severity
from northstar.notify.targets import InvalidTarget, apprise_url
from northstar.notify.templates import test_message
from services.api.audit import Audit
from services.api.dependencies import Actor, Permit, Reader, Session
from services.api.notifications.repository import NotificationRepository
from services.api.notifications.schemas import (
    ChannelCreate,
    ChannelKindOut,
    ChannelKinds,
    ChannelOut,
    ChannelTestOut,
    DeliveryOut,
    DigestCreate,
    DigestOut,
    MessageStatus,
    Owner,
    PreferencesIn,
    PreferencesOut,
    QuietHoursIn,
    Scope,
    SubscriptionCreate,
    SubscriptionOut,
    clock,
)
from services.api.notifications.service import ChannelService, Targets, ensure_may_manage
from services.api.pagination import Cursor, Limit, Page, decode_time_key, encode_time_key, page_of
from services.api.resources import (
    channel_in_path,
    digest_in_path,
    person_in_path,
    subscription_in_path,
)
from services.api.settings import ApiSettings

channels = APIRouter(prefix="/v1/channels", tags=["notifications"])
subscriptions = APIRouter(prefix="/v1/subscriptions", tags=["notifications"])
digests = APIRouter(prefix="/v1/digests", tags=["notifications"])
me = APIRouter(prefix="/v1/me/notification-preferences", tags=["notifications"])
users = APIRouter(prefix="/v1/users", tags=["notifications"])
routers = (channels, subscriptions, digests, me, users)

Own = Annotated[Actor, Depends(Permit(Action.OWN_NOTIFICATIONS))]
SeesChannel = Annotated[Actor, Depends(Permit(Action.NOTIFICATIONS_READ, channel_in_path))]
ManagesChannel = Annotated[Actor, Depends(Permit(Action.NOTIFICATIONS_MANAGE, channel_in_path))]
ManagesSubscription = Annotated[
    Actor, Depends(Permit(Action.NOTIFICATIONS_MANAGE, subscription_in_path))
]
ManagesDigest = Annotated[Actor, Depends(Permit(Action.NOTIFICATIONS_MANAGE, digest_in_path))]
SeesPerson = Annotated[Actor, Depends(Permit(Action.NOTIFICATIONS_READ, person_in_path))]
PeopleAdmin = Annotated[Actor, Depends(Permit(Action.PEOPLE_MANAGE))]


def _channel_out(channel: NotificationChannel) -> ChannelOut:
    return ChannelOut(
        id=channel.id,
        name=channel.name,
        kind=ChannelKind(channel.kind),
        owner=Owner(kind=OwnerKind(channel.owner_kind), id=channel.owner_id),
        implicit=channel.implicit,
        created_at=channel.created_at,
    )


def _delivery_out(message: NotificationMessage) -> DeliveryOut:
    about, _, subject_id = message.group_key.partition(":")
    goal = subject_id if message.kind == "event" and about == "goal" else None
    review = subject_id if message.kind == "event" and about == "review" else None
    return DeliveryOut(
        id=message.id,
        kind=message.kind,
        goal_id=uuid.UUID(goal) if goal else None,
        review_id=uuid.UUID(review) if review else None,
        severity=Severity(message.severity),
        subject=message.subject,
        events=len(message.events),
        status=MessageStatus(message.status),
        attempts=message.attempts,
        last_error=message.last_error,
        held_until=message.held_until if message.status == "pending" else None,
        created_at=message.created_at,
        last_attempt_at=message.last_attempt_at,
        delivered_at=message.delivered_at,
        next_attempt_at=message.next_attempt_at if message.status == "pending" else None,
    )


def _subscription_out(subscription: NotificationSubscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=subscription.id,
        channel_id=subscription.channel_id,
        scope=Scope(
            goal_id=subscription.goal_id,
            unit_id=subscription.unit_id,
            mine=subscription.scope == "mine",
        ),
        events=subscription.events,
        min_severity=Severity(subscription.min_severity),
        created_at=subscription.created_at,
    )


def _digest_out(digest: NotificationDigest) -> DigestOut:
    return DigestOut(
        id=digest.id,
        channel_id=digest.channel_id,
        cadence=digest.cadence,
        at=digest.at.strftime("%H:%M"),
        timezone=digest.timezone,
        weekday=digest.weekday,
        created_at=digest.created_at,
    )


def _targets(request: Request) -> Targets:
    settings: ApiSettings = request.app.state.notification_settings
    return Targets(
        settings=settings,
        box=request.app.state.webhook_box,  # the one box for stored secrets
        allow_private=settings.webhook_allow_private_networks,
    )


def _no_channel(channel_id: uuid.UUID) -> Problem:
    return Problem(404, f"There is no channel with id {channel_id}.")


async def _live_channel(
    repository: NotificationRepository, channel_id: uuid.UUID
) -> NotificationChannel:
    channel = await repository.channel(channel_id)
    if channel is None:
        raise _no_channel(channel_id)
    return channel


# -- channels ------------------------------------------------------------------------------


@channels.post(
    "",
    status_code=201,
    response_model=ChannelOut,
    summary="Register a channel (email, Slack, Teams or any Apprise target)",
    description=(
        "The target is validated for its kind (a Slack channel needs a Slack webhook URL, …) "
        "and, when it names a host, checked to resolve to a public address unless "
        "`NORTHSTAR_WEBHOOK_ALLOW_PRIVATE_NETWORKS` is true (link-local and metadata "
        "addresses never). It is stored encrypted and never returned."
    ),
)
async def create_channel(
    body: ChannelCreate, request: Request, session: Session, actor: Own, audit: Audit
) -> ChannelOut:
    channel = await ChannelService(session, actor).create_channel(
        name=body.name,
        kind=body.kind,
        target=body.target,
        owner=body.owner,
        targets=_targets(request),
    )
    out = _channel_out(channel)
    audit.record("create", "notification_channel", channel.id, after=out)
    await session.commit()
    return out


@channels.get(
    "",
    response_model=Page[ChannelOut],
    summary="List the channels you may see (targets are never shown)",
    description="Your own channels and those of the units you lead (with their subtrees); "
    "editors every unit's channel; admins every channel.",
)
async def list_channels(
    session: Session, actor: Reader, limit: Limit = 100, cursor: Cursor = None
) -> Page[ChannelOut]:
    rows = await NotificationRepository(session).channels(
        limit + 1, decode_time_key(cursor), reach=notification_reach(actor.subject)
    )
    return page_of(rows, limit, lambda r: encode_time_key(r.created_at, r.id), _channel_out)


EMAIL_HOW_TO = (
    "Email needs an SMTP relay: an operator sets NORTHSTAR_SMTP_HOST (with NORTHSTAR_SMTP_PORT, "
    "NORTHSTAR_SMTP_SECURITY, NORTHSTAR_SMTP_USERNAME and NORTHSTAR_SMTP_PASSWORD as the relay "
    "needs) on the api and the evaluator and restarts them (docs/notifying-people.md)."
)
# "Send a test" reaches an outside service at a person's request: a few per channel and
# minute is enough to try a fix, and too few to use Northstar to flood someone.
TEST_LIMITS = parse_limits("3/minute;20/hour")


@channels.get(
    "/kinds",
    response_model=ChannelKinds,
    summary="The channel kinds this server can send",
    description="Every kind with `sendable`: Slack, Teams and Apprise targets are sent "
    "directly; email only when an SMTP relay is configured (`NORTHSTAR_SMTP_HOST`), and "
    "otherwise `how_to_enable` says what to set. The web app offers only sendable kinds.",
)
async def channel_kinds(request: Request, _: Reader) -> ChannelKinds:
    settings: ApiSettings = request.app.state.notification_settings
    email = bool(settings.smtp_host)
    items = [
        ChannelKindOut(
            kind=ChannelKind.EMAIL, sendable=email, how_to_enable=None if email else EMAIL_HOW_TO
        ),
        *(
            ChannelKindOut(kind=kind, sendable=True, how_to_enable=None)
            for kind in (ChannelKind.SLACK, ChannelKind.TEAMS, ChannelKind.APPRISE)
        ),
    ]
    return ChannelKinds(items=sorted(items, key=lambda k: not k.sendable))


@channels.get("/{channel_id}", response_model=ChannelOut, summary="Get a channel")
async def get_channel(channel_id: uuid.UUID, session: Session, _: SeesChannel) -> ChannelOut:
    return _channel_out(await _live_channel(NotificationRepository(session), channel_id))


@channels.delete(
    "/{channel_id}",
    status_code=204,
    summary="Delete a channel",
    description="Its subscriptions and digests stop; messages still pending are dropped "
    "(marked `failed`). Idempotent.",
)
async def delete_channel(
    channel_id: uuid.UUID, session: Session, _: ManagesChannel, audit: Audit
) -> Response:
    repository = NotificationRepository(session)
    channel = await repository.channel(channel_id)
    if channel is not None:
        before = _channel_out(channel)
        await repository.delete_channel(channel_id)
        audit.record("delete", "notification_channel", channel_id, before=before)
    elif not await repository.channel_existed(channel_id):
        raise _no_channel(channel_id)
    await session.commit()
    return Response(status_code=204)


@channels.post(
    "/{channel_id}/test",
    response_model=ChannelTestOut,
    responses={429: {"description": "Too many tests of this channel; see `Retry-After`."}},
    summary="Send a test message to a channel",
    description="Sends a short test message now, from the api, through the same path as "
    "every message (Apprise; email through the SMTP relay) and answers whether the "
    "channel's service accepted it: `sent` false with `detail` saying why (never quoting "
    "the target) is still a 200, since the request itself was fine. Allowed to whoever may "
    "manage the channel (`notifications:manage` on it: a person's channel is theirs and "
    "admins', a unit's its leads', editors' and admins'); at most 3 a "
    "minute and 20 an hour per channel (429). Audited as `test`. Not in the delivery log.",
)
async def test_channel(
    channel_id: uuid.UUID,
    request: Request,
    session: Session,
    actor: ManagesChannel,
    audit: Audit,
) -> ChannelTestOut:
    channel = await _live_channel(NotificationRepository(session), channel_id)
    limiter: RateLimiter = request.app.state.limiter
    wait = await limiter.hit(TEST_LIMITS, "channel-test", str(channel_id))
    if wait:
        raise Problem(
            429,
            f"This channel was tested a few times just now; try again in {int(wait) + 1} s.",
            headers=retry_after_header(wait),
        )
    settings: ApiSettings = request.app.state.notification_settings
    box: SecretBox = request.app.state.webhook_box
    name, kind, sealed = channel.name, channel.kind, channel.target
    audit.record("test", "notification_channel", channel_id, after=_channel_out(channel))
    await session.commit()  # the audit entry, and no transaction open while sending
    now = datetime.now(UTC)
    rendered = test_message(name, actor.name, now, settings.public_url)
    target = ""
    error: str | None
    try:
        target = box.decrypt(sealed.decode())
        async with asyncio.timeout(settings.notification_timeout_seconds):
            error = await deliver(
                kind,
                apprise_url(kind, target, settings),
                rendered,
                Severity.INFO,
                send_timeout=settings.notification_timeout_seconds,
                allow_private=settings.webhook_allow_private_networks,
            )
    except TimeoutError:
        error = f"the service did not answer within {settings.notification_timeout_seconds:g} s"
    except (InvalidTarget, SecretUnreadable) as exc:
        error = str(exc)
    error = redact(error, target)
    if error is None:
        return ChannelTestOut(sent=True, detail=f"Sent “{rendered.subject}” to {name}.")
    return ChannelTestOut(sent=False, detail=f"Not sent: {error}.")


@channels.get(
    "/{channel_id}/deliveries",
    response_model=Page[DeliveryOut],
    summary="The delivery log of a channel, newest first",
    description="Every message queued for the channel: grouped goal events, digests and "
    "reminders, with attempts, the last error and when the next attempt is due.",
)
async def list_deliveries(
    channel_id: uuid.UUID,
    session: Session,
    _: SeesChannel,
    status: Annotated[MessageStatus | None, Query(description="Only this status.")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[DeliveryOut]:
    repository = NotificationRepository(session)
    await _live_channel(repository, channel_id)
    rows = await repository.messages(
        channel_id,
        limit + 1,
        status=status.value if status else None,
        before=decode_time_key(cursor),
    )
    return page_of(rows, limit, lambda r: encode_time_key(r.created_at, r.id), _delivery_out)


# -- subscriptions -------------------------------------------------------------------------


@subscriptions.post(
    "",
    status_code=201,
    response_model=SubscriptionOut,
    summary="Subscribe a channel to a goal, a unit's subtree or its owner's goals",
)
async def create_subscription(
    body: SubscriptionCreate, session: Session, actor: Own, audit: Audit
) -> SubscriptionOut:
    subscription = await ChannelService(session, actor).create_subscription(
        channel_id=body.channel_id,
        scope=body.scope,
        events=body.events,
        min_severity=body.min_severity.value,
    )
    out = _subscription_out(subscription)
    audit.record("create", "notification_subscription", subscription.id, after=out)
    await session.commit()
    return out


@subscriptions.get(
    "",
    response_model=Page[SubscriptionOut],
    summary="List the subscriptions of the channels you may see",
)
async def list_subscriptions(
    session: Session,
    actor: Reader,
    channel_id: Annotated[uuid.UUID | None, Query(description="Only this channel's.")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[SubscriptionOut]:
    rows = await NotificationRepository(session).subscriptions(
        limit + 1,
        decode_time_key(cursor),
        channel_id=channel_id,
        reach=notification_reach(actor.subject),
    )
    return page_of(rows, limit, lambda r: encode_time_key(r.created_at, r.id), _subscription_out)


@subscriptions.delete("/{subscription_id}", status_code=204, summary="Delete a subscription")
async def delete_subscription(
    subscription_id: uuid.UUID, session: Session, _: ManagesSubscription, audit: Audit
) -> Response:
    repository = NotificationRepository(session)
    subscription = await repository.subscription(subscription_id)
    if subscription is None:
        raise Problem(404, f"There is no subscription with id {subscription_id}.")
    before = _subscription_out(subscription)
    await repository.delete_subscription(subscription_id)
    audit.record("delete", "notification_subscription", subscription_id, before=before)
    await session.commit()
    return Response(status_code=204)


# -- digests -------------------------------------------------------------------------------


@digests.post(
    "",
    status_code=201,
    response_model=DigestOut,
    summary="Send a channel a daily or weekly digest at a local time",
    description="One digest per channel and cadence (posting again moves it). Exactly one "
    "message per period, however many evaluators run.",
)
async def create_digest(
    body: DigestCreate, session: Session, actor: Own, audit: Audit
) -> DigestOut:
    repository = NotificationRepository(session)
    channel = await repository.channel(body.channel_id)
    if channel is None:
        raise Problem(422, f"There is no channel with id {body.channel_id}.")
    await ensure_may_manage(session, actor, channel.owner_kind, channel.owner_id)
    digest = await repository.put_digest(
        channel_id=body.channel_id,
        cadence=body.cadence,
        at=clock(body.at),
        timezone=body.timezone,
        weekday=body.weekday,
    )
    out = _digest_out(digest)
    audit.record("create", "notification_digest", digest.id, after=out)
    await session.commit()
    return out


@digests.get(
    "", response_model=list[DigestOut], summary="List the digests of the channels you may see"
)
async def list_digests(
    session: Session,
    actor: Reader,
    channel_id: Annotated[uuid.UUID | None, Query(description="Only this channel's.")] = None,
) -> list[DigestOut]:
    rows = await NotificationRepository(session).digests(
        channel_id=channel_id, reach=notification_reach(actor.subject)
    )
    return [_digest_out(d) for d in rows]


@digests.delete("/{digest_id}", status_code=204, summary="Stop a digest")
async def delete_digest(
    digest_id: uuid.UUID, session: Session, _: ManagesDigest, audit: Audit
) -> Response:
    repository = NotificationRepository(session)
    digest = await repository.digest(digest_id)
    if digest is None:
        raise Problem(404, f"There is no digest with id {digest_id}.")
    before = _digest_out(digest)
    await repository.delete_digest(digest_id)
    audit.record("delete", "notification_digest", digest_id, before=before)
    await session.commit()
    return Response(status_code=204)


# -- quiet hours ---------------------------------------------------------------------------


async def _read_preferences(session: Session, user_id: uuid.UUID) -> PreferencesOut:
    repository = NotificationRepository(session)
    if not await repository.user_exists(user_id):
        raise Problem(404, f"There is no user with id {user_id}.")
    row = await repository.preferences(user_id)
    if row is None or row.quiet_start is None or row.quiet_end is None:
        return PreferencesOut(
            user_id=user_id, timezone=row.timezone if row else "UTC", quiet_hours=None
        )
    return PreferencesOut(
        user_id=user_id,
        timezone=row.timezone,
        quiet_hours=QuietHoursIn(
            start=row.quiet_start.strftime("%H:%M"), end=row.quiet_end.strftime("%H:%M")
        ),
    )


async def _write_preferences(
    session: Session, user_id: uuid.UUID, body: PreferencesIn, audit: Audit
) -> PreferencesOut:
    before = await _read_preferences(session, user_id)  # 404 for an unknown user
    repository = NotificationRepository(session)
    quiet = body.quiet_hours
    await repository.put_preferences(
        user_id,
        body.timezone,
        clock(quiet.start) if quiet else None,
        clock(quiet.end) if quiet else None,
    )
    after = PreferencesOut(user_id=user_id, timezone=body.timezone, quiet_hours=quiet)
    audit.record("put", "notification_preferences", user_id, before=before, after=after)
    await session.commit()
    return after


def _person(actor: Actor) -> uuid.UUID:
    if actor.person is None:
        raise Problem(422, "A service key has no person, hence no quiet hours.")
    return actor.person.id


_QUIET = (
    "Messages to channels the person owns are held during quiet hours (local time) and "
    "sent when they end; critical ones go out at once."
)


@me.get("", response_model=PreferencesOut, summary="My quiet hours")
async def get_my_preferences(session: Session, actor: Reader) -> PreferencesOut:
    return await _read_preferences(session, _person(actor))


@me.put("", response_model=PreferencesOut, summary="Set my quiet hours", description=_QUIET)
async def put_my_preferences(
    body: PreferencesIn, session: Session, actor: Own, audit: Audit
) -> PreferencesOut:
    return await _write_preferences(session, _person(actor), body, audit)


@users.get(
    "/{user_id}/notification-preferences",
    response_model=PreferencesOut,
    summary="A person's quiet hours (theirs and admins' to see)",
)
async def get_preferences(user_id: uuid.UUID, session: Session, _: SeesPerson) -> PreferencesOut:
    return await _read_preferences(session, user_id)


@users.put(
    "/{user_id}/notification-preferences",
    response_model=PreferencesOut,
    summary="Set a person's quiet hours (admin)",
    description=_QUIET,
)
async def put_preferences(
    user_id: uuid.UUID, body: PreferencesIn, session: Session, _: PeopleAdmin, audit: Audit
) -> PreferencesOut:
    return await _write_preferences(session, user_id, body, audit)

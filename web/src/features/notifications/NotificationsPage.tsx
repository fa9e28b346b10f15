/**
 * Notifications `/notifications`: the signed-in person's own channels (registered here,
 * the target never shown back; deleted after an inline confirmation), what each channel
 * hears about (subscriptions), daily and weekly digests, quiet hours, and a channel's
 * delivery log. Changing needs `notifications:own`, which the policy gives every person
 * for their own channels; the page narrows the api's lists to channels the person owns.
 */
import { type FormEvent, useId, useState } from "react";

import { useGoalTree, useUnits } from "@/shared/api/queries";
import { fieldErrors } from "@/shared/api/problems";
import { useSession } from "@/shared/auth/session";
import { ChannelDelete, ChannelForm, ChannelTest } from "@/shared/components/Channels";
import { ErrorMessage, FieldMessage, fieldProps, FormProblem, Panel, QueryState } from "@/shared/components/Feedback";
import { type Channel, channelKind } from "@/shared/lib/channels";
import { formatDateTime } from "@/shared/lib/format";

import {
  useChannels,
  useCreateDigest,
  useCreateSubscription,
  useDeleteDigest,
  useDeleteSubscription,
  useDeliveries,
  useDigests,
  usePreferences,
  useSavePreferences,
  useSubscriptions,
} from "./api";
import {
  DEFAULT_EVENTS,
  deliveryLabel,
  digestBody,
  digestLabel,
  EVENTS,
  eventLabel,
  goalChoices,
  ownChannels,
  preferencesBody,
  quietHoursLabel,
  type ScopeKind,
  scopeLabel,
  SEVERITIES,
  type Severity,
  subscriptionBody,
  timeZones,
  WEEKDAYS,
} from "./settings";

const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const SUPPORTED_ZONES: readonly string[] =
  typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];

export default function NotificationsPage() {
  const { actor, can } = useSession();
  const channels = useChannels();
  const [deliveriesOf, setDeliveriesOf] = useState<string | null>(null);
  if (!actor || actor.kind !== "user") {
    return (
      <>
        <h1>Notifications</h1>
        <p className="muted">Notification settings belong to a person; sign in as one.</p>
      </>
    );
  }
  const mayChange = can("notifications:own");
  const mine = ownChannels(channels.data ?? [], actor.id);
  const showDeliveries = (id: string) => {
    setDeliveriesOf(id);
    requestAnimationFrame(() => document.getElementById("deliveries-heading")?.scrollIntoView());
  };
  return (
    <>
      <h1>Notifications</h1>
      <p className="summary">
        Where Northstar tells you about goals (by email, Slack, Teams or any Apprise service), what about, a daily or
        weekly digest, and when to keep quiet. Until you add a channel of your own, critical alerts on the goals you own
        come by email (where this server sends email).
      </p>
      <Panel title="My channels" id="channels">
        <QueryState query={channels} feature="Notification channels">
          {() => <ChannelList channels={mine} mayChange={mayChange} onDeliveries={showDeliveries} />}
        </QueryState>
        {mayChange && (
          <>
            <h3>Add a channel</h3>
            <ChannelForm label="New channel" />
          </>
        )}
      </Panel>
      <Subscriptions channels={mine} mayChange={mayChange} />
      <Digests channels={mine} mayChange={mayChange} />
      <QuietHours mayChange={mayChange} />
      <Deliveries channels={mine} selected={deliveriesOf} onSelect={setDeliveriesOf} />
    </>
  );
}

function ChannelList({
  channels,
  mayChange,
  onDeliveries,
}: {
  channels: Channel[];
  mayChange: boolean;
  onDeliveries: (id: string) => void;
}) {
  if (channels.length === 0) return <p className="muted">You have no channels yet.</p>;
  return (
    <table className="compact" data-testid="my-channels">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Kind</th>
          <th scope="col">Added</th>
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {channels.map((c) => (
          <ChannelRow key={c.id} channel={c} mayChange={mayChange} onDeliveries={onDeliveries} />
        ))}
      </tbody>
    </table>
  );
}

function ChannelRow({
  channel,
  mayChange,
  onDeliveries,
}: {
  channel: Channel;
  mayChange: boolean;
  onDeliveries: (id: string) => void;
}) {
  return (
    <tr data-channel-id={channel.id}>
      <th scope="row">
        {channel.name}
        {channel.implicit && <span className="muted small"> · made by Northstar for critical alerts</span>}
      </th>
      <td>{channelKind(channel.kind).label}</td>
      <td>{formatDateTime(channel.created_at)}</td>
      <td>
        <div className="actions">
          <button type="button" className="small" onClick={() => onDeliveries(channel.id)} aria-label={`Deliveries of ${channel.name}`}>
            Deliveries
          </button>
          {mayChange && <ChannelTest channel={channel} />}
          {mayChange && (
            <ChannelDelete
              channel={channel}
              consequence="Its subscriptions and digests stop and messages not yet sent are dropped."
            />
          )}
        </div>
      </td>
    </tr>
  );
}

/** The zones a picker offers, `current` first; the api checks the name (a 422 shows here). */
function TimeZoneSelect({ id, current, message }: { id: string; current: string; message: string | undefined }) {
  return (
    <label>
      Time zone
      <select name="timezone" defaultValue={current} {...fieldProps(id, message)}>
        {timeZones(SUPPORTED_ZONES, current).map((z) => (
          <option key={z} value={z}>
            {z}
          </option>
        ))}
      </select>
      <FieldMessage id={id} message={message} />
    </label>
  );
}

function ChannelSelect({
  channels,
  id,
  message,
  value,
  onChange,
}: {
  channels: Channel[];
  id: string;
  message?: string;
  value?: string;
  onChange?: (id: string) => void;
}) {
  return (
    <label>
      Channel
      <select
        name="channel"
        defaultValue={value === undefined ? channels[channels.length - 1]?.id : undefined}
        value={value}
        onChange={onChange ? (e) => onChange(e.target.value) : undefined}
        {...fieldProps(id, message)}
      >
        {channels.map((c) => (
          <option key={c.id} value={c.id}>
            {c.name}
          </option>
        ))}
      </select>
      <FieldMessage id={id} message={message} />
    </label>
  );
}

const SUBSCRIPTION_FIELDS = ["channel_id", "scope.goal_id", "scope.unit_id", "scope", "events", "min_severity"];

function Subscriptions({ channels, mayChange }: { channels: Channel[]; mayChange: boolean }) {
  const subscriptions = useSubscriptions();
  const tree = useGoalTree();
  const units = useUnits();
  const create = useCreateSubscription();
  const remove = useDeleteSubscription();
  const id = useId();
  const [scope, setScope] = useState<ScopeKind>("mine");
  const [missing, setMissing] = useState<{ field: string; message: string } | null>(null);
  const goals = goalChoices(tree.data ?? []);
  const goalNames = new Map(goals.map((g) => [g.id, g.title]));
  const unitNames = new Map((units.data ?? []).map((u) => [u.id, u.name]));
  const channelNames = new Map(channels.map((c) => [c.id, c.name]));
  const errors = fieldErrors(create.error, SUBSCRIPTION_FIELDS);
  const message = (field: string) => (missing?.field === field ? missing.message : errors.byField[field]);

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const built = subscriptionBody({
      channelId: String(data.get("channel") ?? ""),
      scope,
      goalId: String(data.get("goal") ?? ""),
      unitId: String(data.get("unit") ?? ""),
      events: data.getAll("event").map(String),
      minSeverity: String(data.get("severity")) as Severity,
    });
    if ("field" in built) {
      setMissing(built);
      return;
    }
    setMissing(null);
    create.mutate(built.body, {
      onSuccess: () => {
        form.reset();
        setScope("mine");
      },
    });
  }

  return (
    <Panel title="What my channels hear about" id="subscriptions">
      <QueryState query={subscriptions} feature="Subscriptions">
        {(items) => {
          const own = items.filter((s) => channelNames.has(s.channel_id));
          if (channels.length === 0) return null;
          return own.length === 0 ? (
            <p className="muted">No subscriptions: your channels get nothing but digests.</p>
          ) : (
            <table className="compact" data-testid="my-subscriptions">
              <thead>
                <tr>
                  <th scope="col">About</th>
                  <th scope="col">Channel</th>
                  <th scope="col">Events</th>
                  <th scope="col">Severity</th>
                  {mayChange && (
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
                {own.map((s) => {
                  const about = scopeLabel(s.scope, goalNames, unitNames);
                  return (
                    <tr key={s.id} data-subscription-id={s.id}>
                      <th scope="row">{about}</th>
                      <td>{channelNames.get(s.channel_id)}</td>
                      <td>{s.events.map(eventLabel).join(", ")}</td>
                      <td>{SEVERITIES.find((v) => v.severity === s.min_severity)?.label ?? s.min_severity}</td>
                      {mayChange && (
                        <td>
                          <button
                            type="button"
                            className="small"
                            onClick={() => remove.mutate(s.id)}
                            aria-label={`Delete subscription to ${about} on ${channelNames.get(s.channel_id)}`}
                          >
                            Delete
                          </button>
                        </td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          );
        }}
      </QueryState>
      {remove.error && <ErrorMessage error={remove.error} />}
      {mayChange &&
        (channels.length === 0 ? (
          <p className="muted">Add a channel first; then choose what it hears about.</p>
        ) : (
          <form
            className="stacked"
            onSubmit={submit}
            aria-label="New subscription"
            noValidate
            key={channels.length}
          >
            <h3>Subscribe a channel</h3>
            <div className="row">
              <ChannelSelect channels={channels} id={`${id}-channel`} message={message("channel_id")} />
              <label>
                At least
                <select name="severity" defaultValue="warning" {...fieldProps(`${id}-severity`, message("min_severity"))}>
                  {SEVERITIES.map((s) => (
                    <option key={s.severity} value={s.severity}>
                      {s.label}
                    </option>
                  ))}
                </select>
                <FieldMessage id={`${id}-severity`} message={message("min_severity")} />
              </label>
            </div>
            <fieldset className="row" aria-describedby={message("scope") ? `${id}-scope` : undefined}>
              <legend>About</legend>
              <label className="checkbox">
                <input type="radio" name="scope" value="mine" checked={scope === "mine"} onChange={() => setScope("mine")} />
                My goals
              </label>
              <label className="checkbox">
                <input type="radio" name="scope" value="goal" checked={scope === "goal"} onChange={() => setScope("goal")} />
                One goal
              </label>
              <label className="checkbox">
                <input type="radio" name="scope" value="unit" checked={scope === "unit"} onChange={() => setScope("unit")} />
                A unit and the units below it
              </label>
              <FieldMessage id={`${id}-scope`} message={message("scope")} />
            </fieldset>
            {scope === "goal" && (
              <label>
                Goal
                <select name="goal" defaultValue="" {...fieldProps(`${id}-goal`, message("scope.goal_id"))}>
                  <option value="">Choose…</option>
                  {goals.map((g) => (
                    <option key={g.id} value={g.id}>
                      {g.label}
                    </option>
                  ))}
                </select>
                <FieldMessage id={`${id}-goal`} message={message("scope.goal_id")} />
              </label>
            )}
            {scope === "unit" && (
              <label>
                Unit
                <select name="unit" defaultValue="" {...fieldProps(`${id}-unit`, message("scope.unit_id"))}>
                  <option value="">Choose…</option>
                  {(units.data ?? []).map((u) => (
                    <option key={u.id} value={u.id}>
                      {u.name}
                    </option>
                  ))}
                </select>
                <FieldMessage id={`${id}-unit`} message={message("scope.unit_id")} />
              </label>
            )}
            <fieldset className="row" aria-describedby={message("events") ? `${id}-events` : undefined}>
              <legend>Events</legend>
              {EVENTS.map((e) => (
                <label key={e.event} className="checkbox">
                  <input type="checkbox" name="event" value={e.event} defaultChecked={DEFAULT_EVENTS.includes(e.event)} />
                  {e.label}
                </label>
              ))}
              <FieldMessage id={`${id}-events`} message={message("events")} />
            </fieldset>
            <button type="submit" className="primary" disabled={create.isPending}>
              Subscribe
            </button>
            <FormProblem message={errors.general} />
          </form>
        ))}
    </Panel>
  );
}

const DIGEST_FIELDS = ["channel_id", "cadence", "at", "timezone", "weekday"];

function Digests({ channels, mayChange }: { channels: Channel[]; mayChange: boolean }) {
  const digests = useDigests();
  const create = useCreateDigest();
  const remove = useDeleteDigest();
  const id = useId();
  const [cadence, setCadence] = useState<"daily" | "weekly">("daily");
  const channelNames = new Map(channels.map((c) => [c.id, c.name]));
  const errors = fieldErrors(create.error, DIGEST_FIELDS);

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    create.mutate(
      digestBody({
        channelId: String(data.get("channel") ?? ""),
        cadence,
        at: String(data.get("at") ?? ""),
        timezone: String(data.get("timezone") ?? "UTC"),
        weekday: Number(data.get("weekday") ?? 0),
      }),
    );
  }

  return (
    <Panel title="Digests" id="digests">
      <QueryState query={digests} feature="Digests">
        {(items) => {
          const own = items.filter((d) => channelNames.has(d.channel_id));
          if (channels.length === 0) return <p className="muted">Add a channel first; then a digest can go to it.</p>;
          return own.length === 0 ? (
            <p className="muted">No digests.</p>
          ) : (
            <table className="compact" data-testid="my-digests">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Channel</th>
                  {mayChange && (
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
                {own.map((d) => (
                  <tr key={d.id} data-digest-id={d.id}>
                    <th scope="row">{digestLabel(d)}</th>
                    <td>{channelNames.get(d.channel_id)}</td>
                    {mayChange && (
                      <td>
                        <button
                          type="button"
                          className="small"
                          onClick={() => remove.mutate(d.id)}
                          aria-label={`Stop the ${d.cadence} digest on ${channelNames.get(d.channel_id)}`}
                        >
                          Stop
                        </button>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          );
        }}
      </QueryState>
      {remove.error && <ErrorMessage error={remove.error} />}
      {mayChange && channels.length > 0 && (
        <form className="stacked" onSubmit={submit} aria-label="New digest" noValidate key={channels.length}>
          <h3>Add a digest</h3>
          <p className="muted small">
            A summary of your goals (or of what the channel is subscribed to). One daily and one weekly per channel:
            adding another moves it.
          </p>
          <div className="row">
            <ChannelSelect channels={channels} id={`${id}-channel`} message={errors.byField["channel_id"]} />
            <label>
              Cadence
              <select name="cadence" value={cadence} onChange={(e) => setCadence(e.target.value as "daily" | "weekly")}>
                <option value="daily">Daily</option>
                <option value="weekly">Weekly</option>
              </select>
            </label>
            {cadence === "weekly" && (
              <label>
                Day
                <select name="weekday" defaultValue="0" {...fieldProps(`${id}-weekday`, errors.byField["weekday"])}>
                  {WEEKDAYS.map((day, index) => (
                    <option key={day} value={index}>
                      {day}
                    </option>
                  ))}
                </select>
                <FieldMessage id={`${id}-weekday`} message={errors.byField["weekday"]} />
              </label>
            )}
            <label>
              At (local time)
              <input name="at" type="time" defaultValue="08:30" required {...fieldProps(`${id}-at`, errors.byField["at"])} />
              <FieldMessage id={`${id}-at`} message={errors.byField["at"]} />
            </label>
            <TimeZoneSelect id={`${id}-zone`} current={BROWSER_ZONE} message={errors.byField["timezone"]} />
          </div>
          <button type="submit" className="primary" disabled={create.isPending}>
            Add digest
          </button>
          <FormProblem message={errors.general} />
        </form>
      )}
    </Panel>
  );
}

const QUIET_FIELDS = ["timezone", "quiet_hours.start", "quiet_hours.end", "quiet_hours"];

function QuietHours({ mayChange }: { mayChange: boolean }) {
  const preferences = usePreferences();
  return (
    <Panel title="Quiet hours" id="quiet-hours">
      <QueryState query={preferences} feature="Quiet hours">
        {(saved) => (
          <>
            <p data-testid="quiet-hours">{quietHoursLabel(saved)}</p>
            {mayChange && (
              <QuietHoursForm
                key={`${saved.timezone} ${saved.quiet_hours?.start} ${saved.quiet_hours?.end}`}
                timezone={saved.quiet_hours ? saved.timezone : BROWSER_ZONE}
                quiet={saved.quiet_hours}
              />
            )}
          </>
        )}
      </QueryState>
    </Panel>
  );
}

function QuietHoursForm({ timezone, quiet }: { timezone: string; quiet: { start: string; end: string } | null | undefined }) {
  const save = useSavePreferences();
  const id = useId();
  const [on, setOn] = useState(Boolean(quiet));
  const [saved, setSaved] = useState(false);
  const errors = fieldErrors(save.error, QUIET_FIELDS);
  const span = errors.byField["quiet_hours"];

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    setSaved(false);
    save.mutate(
      preferencesBody({
        timezone: String(data.get("timezone") ?? "UTC"),
        quiet: on,
        start: String(data.get("start") ?? ""),
        end: String(data.get("end") ?? ""),
      }),
      { onSuccess: () => setSaved(true) },
    );
  }

  return (
    <form className="stacked" onSubmit={submit} aria-label="Quiet hours" noValidate>
      <label className="checkbox">
        <input type="checkbox" name="quiet" checked={on} onChange={(e) => setOn(e.target.checked)} />
        Hold messages that are not critical during quiet hours
      </label>
      <div className="row">
        <label>
          From
          <input
            name="start"
            type="time"
            defaultValue={quiet?.start ?? "22:00"}
            disabled={!on}
            {...fieldProps(`${id}-start`, errors.byField["quiet_hours.start"] ?? span)}
          />
          <FieldMessage id={`${id}-start`} message={errors.byField["quiet_hours.start"] ?? span} />
        </label>
        <label>
          Until
          <input
            name="end"
            type="time"
            defaultValue={quiet?.end ?? "07:00"}
            disabled={!on}
            {...fieldProps(`${id}-end`, errors.byField["quiet_hours.end"])}
          />
          <FieldMessage id={`${id}-end`} message={errors.byField["quiet_hours.end"]} />
        </label>
        <TimeZoneSelect id={`${id}-zone`} current={timezone} message={errors.byField["timezone"]} />
      </div>
      <button type="submit" className="primary" disabled={save.isPending}>
        Save quiet hours
      </button>
      <FormProblem message={errors.general} />
      {saved && !save.isPending && (
        <p className="ok-text" role="status">
          Saved.
        </p>
      )}
    </form>
  );
}

function Deliveries({
  channels,
  selected,
  onSelect,
}: {
  channels: Channel[];
  selected: string | null;
  onSelect: (id: string) => void;
}) {
  const current = channels.find((c) => c.id === selected) ?? channels[0] ?? null;
  const deliveries = useDeliveries(current?.id ?? null);
  return (
    <Panel
      title="Deliveries"
      id="deliveries"
      actions={
        current && (
          <button type="button" className="small" onClick={() => void deliveries.refetch()}>
            Refresh
          </button>
        )
      }
    >
      {!current ? (
        <p className="muted">Each channel's recent messages show here once you have a channel.</p>
      ) : (
        <>
          <div className="row">
            <ChannelSelect channels={channels} id="deliveries-channel" value={current.id} onChange={onSelect} />
          </div>
          <QueryState query={deliveries} feature="Deliveries">
            {(items) =>
              items.length === 0 ? (
                <p className="muted">Nothing sent to “{current.name}” yet.</p>
              ) : (
                <div className="table-scroll" tabIndex={0} role="region" aria-label={`Deliveries of ${current.name}`}>
                  <table className="compact" data-testid="deliveries">
                    <thead>
                      <tr>
                        <th scope="col">Message</th>
                        <th scope="col">Status</th>
                        <th scope="col">Queued</th>
                        <th scope="col">Sent</th>
                      </tr>
                    </thead>
                    <tbody>
                      {items.map((d) => {
                        const { what, state } = deliveryLabel(d);
                        return (
                          <tr key={d.id} data-status={d.status} data-kind={d.kind}>
                            <th scope="row">{what}</th>
                            <td className={d.status === "failed" ? "error" : d.status === "delivered" ? "ok-text" : undefined}>
                              {state}
                              {d.held_until && <span className="muted small"> (until {formatDateTime(d.held_until)} UTC)</span>}
                            </td>
                            <td>{formatDateTime(d.created_at)}</td>
                            <td>{d.delivered_at ? formatDateTime(d.delivered_at) : "–"}</td>
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                </div>
              )
            }
          </QueryState>
        </>
      )}
    </Panel>
  );
}

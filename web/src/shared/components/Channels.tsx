/**
 * Notification channels as the Notifications and Administration pages change them.
 * `ChannelForm` registers one (`POST /v1/channels`): a person's own (no `units`) or a
 * unit's (a unit picked from `units`, those the caller may manage). The target is typed
 * once and sent; the api never returns it, so after saving the form is cleared and the
 * page says so. The api's 422s are shown next to their fields. `ChannelDelete` deletes one
 * after an inline confirmation.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useId, useState } from "react";

import { api, request } from "@/shared/api/client";
import { fieldErrors } from "@/shared/api/problems";
import { ConfirmDelete } from "@/shared/components/ConfirmDelete";
import {
  type Channel,
  type ChannelCreate,
  type ChannelKind,
  channelBody,
  channelKind,
  offeredKinds,
  targetProblem,
} from "@/shared/lib/channels";

import { ErrorMessage, FieldMessage, fieldProps, FormProblem } from "./Feedback";

const FIELDS = ["name", "kind", "target", "owner"] as const;

/** The channel kinds this server can send (`GET /v1/channels/kinds`). */
function useChannelKinds() {
  return useQuery({
    queryKey: ["channels", "kinds"],
    staleTime: 300_000,
    retry: false,
    queryFn: async () => (await request(api.GET("/v1/channels/kinds"))).items,
  });
}

export function ChannelForm({
  label,
  units,
  onCreated,
}: {
  /** The form's accessible name ("New channel"). */
  label: string;
  /** Offer these units as owner (a unit channel); without them the channel is the caller's. */
  units?: { id: string; name: string }[];
  onCreated?: (channel: Channel) => void;
}) {
  const client = useQueryClient();
  const id = useId();
  const kinds = useChannelKinds();
  const { offered, unavailable } = offeredKinds(kinds.data);
  const [chosen, setKind] = useState<ChannelKind | null>(null);
  // The first kind offered until the person picks one (email is not always offered).
  const kind: ChannelKind = chosen && offered.some((k) => k.kind === chosen) ? chosen : (offered[0]?.kind ?? "email");
  const [saved, setSaved] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: (body: ChannelCreate) => request(api.POST("/v1/channels", { body })),
    onSuccess: (channel) => {
      setSaved(channel.name);
      void client.invalidateQueries({ queryKey: ["channels"] });
      onCreated?.(channel);
    },
  });
  const errors = fieldErrors(create.error, FIELDS, targetProblem);
  const info = channelKind(kind);

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    setSaved(null);
    create.mutate(
      channelBody({
        name: String(data.get("name") ?? ""),
        kind,
        target: String(data.get("target") ?? ""),
        unitId: units ? String(data.get("unit") ?? "") : null,
      }),
      {
        onSuccess: () => {
          form.reset();
          setKind(null);
        },
      },
    );
  }

  return (
    <form className="stacked" onSubmit={submit} aria-label={label} noValidate>
      <div className="row">
        {units && (
          <label>
            Unit
            <select name="unit" required {...fieldProps(`${id}-owner`, errors.byField["owner"])}>
              {units.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name}
                </option>
              ))}
            </select>
            <FieldMessage id={`${id}-owner`} message={errors.byField["owner"]} />
          </label>
        )}
        <label>
          Name
          <input name="name" required maxLength={100} {...fieldProps(`${id}-name`, errors.byField["name"])} />
          <FieldMessage id={`${id}-name`} message={errors.byField["name"]} />
        </label>
        <label>
          Kind
          <select
            name="kind"
            value={kind}
            onChange={(e) => setKind(e.target.value as ChannelKind)}
            {...fieldProps(`${id}-kind`, errors.byField["kind"])}
          >
            {offered.map((k) => (
              <option key={k.kind} value={k.kind}>
                {k.label}
              </option>
            ))}
          </select>
          <FieldMessage id={`${id}-kind`} message={errors.byField["kind"]} />
        </label>
      </div>
      {unavailable.map((u) => (
        <p key={u.label} className="muted small" data-testid="kind-unavailable">
          {u.label} is not offered: this server cannot send it yet. {u.howToEnable}
        </p>
      ))}
      <label>
        {info.target}
        <input
          name="target"
          type={info.inputType}
          required
          maxLength={2000}
          autoComplete="off"
          spellCheck={false}
          placeholder={info.placeholder}
          aria-describedby={errors.byField["target"] ? `${id}-target` : `${id}-target-hint`}
          aria-invalid={errors.byField["target"] ? true : undefined}
        />
        <span className="muted small" id={`${id}-target-hint`}>
          {info.hint} Stored encrypted and never shown again.
        </span>
        <FieldMessage id={`${id}-target`} message={errors.byField["target"]} />
      </label>
      <button type="submit" className="primary" disabled={create.isPending}>
        Add channel
      </button>
      <FormProblem message={errors.general} />
      {saved && (
        <p className="ok-text" role="status">
          Channel “{saved}” added. Its target is stored encrypted and is not shown again.
        </p>
      )}
    </form>
  );
}

/**
 * A channel's "Delete", asked again inline. Its subscriptions and digests go with it, so
 * those lists are read again too.
 */
export function ChannelDelete({ channel, consequence }: { channel: Channel; consequence: string }) {
  const client = useQueryClient();
  const remove = useMutation({
    mutationFn: () =>
      request(api.DELETE("/v1/channels/{channel_id}", { params: { path: { channel_id: channel.id } } })),
    onSuccess: () => {
      for (const key of ["channels", "subscriptions", "digests"]) void client.invalidateQueries({ queryKey: [key] });
    },
  });
  return (
    <ConfirmDelete
      label={`Delete channel ${channel.name}`}
      question={
        <>
          Delete “{channel.name}”? {consequence}
        </>
      }
      confirm="Delete channel"
      onConfirm={() => remove.mutate()}
      pending={remove.isPending}
      error={remove.error}
      buttonClassName="small"
    />
  );
}

/**
 * "Send a test": the api sends a short message to the channel now and says whether its
 * service took it (`POST /v1/channels/{id}/test`; a few a minute per channel).
 */
export function ChannelTest({ channel }: { channel: Channel }) {
  const test = useMutation({
    mutationFn: () =>
      request(api.POST("/v1/channels/{channel_id}/test", { params: { path: { channel_id: channel.id } } })),
  });
  return (
    <>
      <button
        type="button"
        className="small"
        onClick={() => test.mutate()}
        disabled={test.isPending}
        aria-label={`Send a test to ${channel.name}`}
      >
        {test.isPending ? "Sending…" : "Send a test"}
      </button>
      <span role="status" className="small" data-testid="channel-test-result">
        {test.data && <span className={test.data.sent ? "ok-text" : "warn-text"}>{test.data.detail}</span>}
      </span>
      {test.error && <ErrorMessage error={test.error} />}
    </>
  );
}

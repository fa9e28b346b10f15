/**
 * Notification channels as a form offers them (docs/notifying-people.md): the kinds the api
 * accepts, what each one's target is, and the request body. Shared by a person's
 * Notifications page (their own channels) and the Administration page (unit channels).
 */
import type { Schemas } from "@/shared/api/client";

export type ChannelKind = Schemas["ChannelKind"];
export type Channel = Schemas["ChannelOut"];
export type ChannelCreate = Schemas["ChannelCreate"];

type KindInfo = {
  kind: ChannelKind;
  label: string;
  /** The target field's label and input type. */
  target: string;
  inputType: "email" | "url" | "text";
  placeholder: string;
  hint: string;
};

/** Every kind `ChannelKind` has, in the order a form offers them. */
export const CHANNEL_KINDS: readonly KindInfo[] = [
  {
    kind: "email",
    label: "Email",
    target: "Email address",
    inputType: "email",
    placeholder: "name@example.com",
    hint: "Sent through this server's mail relay.",
  },
  {
    kind: "slack",
    label: "Slack",
    target: "Slack webhook URL",
    inputType: "text",
    placeholder: "https://hooks.slack.com/services/…",
    hint: "A Slack incoming-webhook URL or a slack:// URL.",
  },
  {
    kind: "teams",
    label: "Microsoft Teams",
    target: "Teams Workflows URL",
    inputType: "text",
    placeholder: "https://….logic.azure.com/workflows/…",
    hint: "A Teams Workflows URL or a workflow:// URL.",
  },
  {
    kind: "apprise",
    label: "Other (Apprise URL)",
    target: "Apprise URL",
    inputType: "text",
    placeholder: "gchat://…, ntfy://…, discord://…",
    hint: "Any URL Apprise sends to: Google Chat, Discord, ntfy, Matrix, …",
  },
];

export function channelKind(kind: ChannelKind): KindInfo {
  return CHANNEL_KINDS.find((k) => k.kind === kind) ?? CHANNEL_KINDS[0]!;
}

/**
 * The body of `POST /v1/channels`. Without `unitId` the channel is the signed-in person's
 * (the api's default owner); with one it is that unit's. Name and target are trimmed; the
 * target is a secret the api never returns, so nothing else keeps it.
 */
export function channelBody(values: {
  name: string;
  kind: ChannelKind;
  target: string;
  unitId?: string | null;
}): ChannelCreate {
  const body: ChannelCreate = { name: values.name.trim(), kind: values.kind, target: values.target.trim() };
  if (values.unitId) body.owner = { kind: "unit", id: values.unitId };
  return body;
}

/** A 422 about the target ("The target is not usable: …") belongs next to the target field. */
export function targetProblem(detail: string): string | null {
  return /\btarget\b/i.test(detail) ? "target" : null;
}

export type ChannelKindAvailability = Schemas["ChannelKindOut"];

/**
 * The kinds a form offers: those the server can send (`GET /v1/channels/kinds`), in the
 * form's order, and what to tell people about the others. Until the answer is in (or if
 * it fails) every kind is offered and the api's refusal says why.
 */
export function offeredKinds(available: ChannelKindAvailability[] | undefined): {
  offered: readonly KindInfo[];
  unavailable: { label: string; howToEnable: string }[];
} {
  if (!available) return { offered: CHANNEL_KINDS, unavailable: [] };
  const sendable = new Set(available.filter((k) => k.sendable).map((k) => k.kind));
  return {
    offered: CHANNEL_KINDS.filter((k) => sendable.has(k.kind)),
    unavailable: available
      .filter((k) => !k.sendable)
      .map((k) => ({ label: channelKind(k.kind).label, howToEnable: k.how_to_enable ?? "" })),
  };
}

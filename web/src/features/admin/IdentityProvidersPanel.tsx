/**
 * Single sign-on (admins): the company's OpenID Connect providers (docs/identity.md). Each
 * shows the redirect URI to register at the provider; a new one takes the issuer, the
 * client and its secret (write-only: encrypted at rest, never shown again), the email
 * domains allowed, whether people are created at their first sign-in, and optionally
 * which role a claim gives. Disable keeps a provider off the sign-in page; delete asks
 * again inline. Unit mappings and scopes are api-only (`PATCH /v1/identity-providers/{id}`).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";

import { api, request, type Schemas } from "@/shared/api/client";
import { ConfirmDelete } from "@/shared/components/ConfirmDelete";
import { ErrorMessage, Panel, QueryState } from "@/shared/components/Feedback";

type Provider = Schemas["IdentityProviderOut"];
type Role = Schemas["Role"];

const ROLES: Role[] = ["viewer", "member", "editor", "admin"];

/**
 * "groups: northstar-admins=admin, sales=editor" → a role mapping. Empty → none. Pure, so
 * the form says what is wrong in words before anything is sent.
 */
export function roleMappingOf(claim: string, lines: string, fallback: Role | ""): Schemas["RoleMapping"] | null {
  const name = claim.trim();
  const pairs = lines
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter(Boolean);
  if (!name && pairs.length === 0) return null;
  if (!name) throw new Error("Name the claim the roles come from (for example groups).");
  const map: Record<string, Role> = {};
  for (const pair of pairs) {
    const at = pair.lastIndexOf("=");
    const value = pair.slice(0, at).trim();
    const role = pair.slice(at + 1).trim() as Role;
    if (at < 1 || !value || !ROLES.includes(role))
      throw new Error(`“${pair}” is not value=role with a role of ${ROLES.join(", ")}.`);
    map[value] = role;
  }
  return { claim: name, map, default: fallback || null };
}

function useProviders() {
  return useQuery({
    queryKey: ["identity-providers"],
    queryFn: async () => (await request(api.GET("/v1/identity-providers", { params: { query: { limit: 100 } } }))).items,
  });
}

export default function IdentityProvidersPanel() {
  const providers = useProviders();
  return (
    <Panel title="Single sign-on">
      <QueryState query={providers}>
        {(items) =>
          items.length === 0 ? (
            <p className="muted">No identity provider: people sign in with a password.</p>
          ) : (
            <div className="table-scroll" tabIndex={0} role="region" aria-label="Identity providers">
              <table className="compact">
                <thead>
                  <tr>
                    <th scope="col">Provider</th>
                    <th scope="col">Issuer</th>
                    <th scope="col">Client</th>
                    <th scope="col">Domains</th>
                    <th scope="col">New people</th>
                    <th scope="col">Redirect URI (register at the provider)</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((p) => (
                    <tr key={p.id}>
                      <th scope="row">
                        {p.name}
                        {!p.enabled && <span className="muted small"> (disabled)</span>}
                      </th>
                      <td className="mono small">{p.issuer}</td>
                      <td className="mono small">{p.client_id}</td>
                      <td className="small">{p.allowed_domains.length ? p.allowed_domains.join(", ") : "any"}</td>
                      <td className="small">{p.jit ? "created at first sign-in" : "must exist"}</td>
                      <td className="mono small" data-testid={`redirect-${p.name}`}>
                        {p.redirect_uri}
                      </td>
                      <td className="actions">
                        <EnableButton provider={p} /> <ProviderDelete provider={p} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </QueryState>
      <ProviderForm />
    </Panel>
  );
}

function ProviderForm() {
  const client = useQueryClient();
  const [problem, setProblem] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: (body: Schemas["IdentityProviderCreate"]) => request(api.POST("/v1/identity-providers", { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["identity-providers"] }),
  });
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const text = (name: string) => String(data.get(name) ?? "").trim();
    let roleMapping: Schemas["RoleMapping"] | null;
    try {
      roleMapping = roleMappingOf(text("claim"), text("roles"), text("default_role") as Role | "");
    } catch (error) {
      setProblem((error as Error).message);
      return;
    }
    setProblem(null);
    create.mutate(
      {
        name: text("name"),
        issuer: text("issuer"),
        client_id: text("client_id"),
        client_secret: text("client_secret"),
        allowed_domains: text("domains")
          .split(/[\s,]+/)
          .filter(Boolean),
        jit: data.get("jit") === "on",
        enabled: true,
        role_mapping: roleMapping,
      },
      { onSuccess: () => form.reset() },
    );
  }
  return (
    <form className="stacked" onSubmit={submit} aria-label="New identity provider">
      <div className="row">
        <label>
          Name (“Sign in with …”)
          <input name="name" required maxLength={100} />
        </label>
        <label>
          Issuer URL
          <input name="issuer" type="url" required placeholder="https://login.example.com/realms/acme" />
        </label>
      </div>
      <div className="row">
        <label>
          Client ID
          <input name="client_id" required autoComplete="off" />
        </label>
        <label>
          Client secret (stored encrypted, never shown again)
          <input name="client_secret" type="password" required autoComplete="off" />
        </label>
      </div>
      <label>
        Allowed email domains (comma-separated; empty: any)
        <input name="domains" placeholder="example.com, example.org" />
      </label>
      <label className="checkbox">
        <input type="checkbox" name="jit" /> Create a person at their first sign-in (else only people who already
        exist, matched by verified email)
      </label>
      <fieldset className="stacked">
        <legend>Role from a claim (optional; applied at every sign-in)</legend>
        <div className="row">
          <label>
            Claim
            <input name="claim" placeholder="groups" />
          </label>
          <label>
            Others get
            <select name="default_role" defaultValue="viewer">
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
              <option value="">no access (refused)</option>
            </select>
          </label>
        </div>
        <label>
          Value=role, one per line
          <textarea name="roles" className="mono" rows={3} placeholder={"northstar-admins=admin\nsales=editor"} />
        </label>
      </fieldset>
      <button type="submit" className="primary" disabled={create.isPending}>
        Add identity provider
      </button>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {create.error && <ErrorMessage error={create.error} />}
      {create.data && (
        <p role="status">
          Added {create.data.name}. Register <code>{create.data.redirect_uri}</code> as its redirect URI at the
          provider.
        </p>
      )}
    </form>
  );
}

function EnableButton({ provider }: { provider: Provider }) {
  const client = useQueryClient();
  const update = useMutation({
    mutationFn: (enabled: boolean) =>
      request(
        api.PATCH("/v1/identity-providers/{provider_id}", {
          params: { path: { provider_id: provider.id } },
          body: { enabled },
        }),
      ),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["identity-providers"] }),
  });
  return (
    <>
      <button
        type="button"
        disabled={update.isPending}
        onClick={() => update.mutate(!provider.enabled)}
        aria-label={`${provider.enabled ? "Disable" : "Enable"} ${provider.name}`}
      >
        {provider.enabled ? "Disable" : "Enable"}
      </button>
      {update.error && <ErrorMessage error={update.error} />}
    </>
  );
}

function ProviderDelete({ provider }: { provider: Provider }) {
  const client = useQueryClient();
  const remove = useMutation({
    mutationFn: () =>
      request(
        api.DELETE("/v1/identity-providers/{provider_id}", { params: { path: { provider_id: provider.id } } }),
      ),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["identity-providers"] }),
  });
  return (
    <ConfirmDelete
      label={`Remove ${provider.name}`}
      button="Remove"
      question={
        <>
          Remove “{provider.name}”? People it signed in keep their accounts and sessions, and sign in some other way
          from then on.
        </>
      }
      confirm="Remove provider"
      onConfirm={() => remove.mutate()}
      pending={remove.isPending}
      error={remove.error}
    />
  );
}

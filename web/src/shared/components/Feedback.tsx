/** Loading, error and "feature unavailable" states, the same on every page. */
import type { ReactNode } from "react";

import { ApiError, isUnavailable } from "@/shared/api/client";

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      {what}…
    </p>
  );
}

export function ErrorMessage({ error }: { error: unknown }) {
  const text =
    error instanceof ApiError
      ? error.detail
      : error instanceof Error
        ? error.message
        : "Something went wrong.";
  return (
    <p className="error" role="alert">
      {text}
    </p>
  );
}

/** A panel for a feature this api does not offer (yet): says so instead of failing. */
export function Unavailable({ feature }: { feature: string }) {
  return (
    <p className="unavailable" data-testid="unavailable">
      {feature} {feature.endsWith("s") ? "are" : "is"} not available on this server yet.
    </p>
  );
}

/** Render a query's data, or its loading, unavailable or error state. */
export function QueryState<T>({
  query,
  feature,
  children,
}: {
  query: { data: T | undefined; error: unknown; isPending: boolean };
  feature?: string;
  children: (data: T) => ReactNode;
}) {
  if (query.error) {
    if (feature && isUnavailable(query.error)) return <Unavailable feature={feature} />;
    return <ErrorMessage error={query.error} />;
  }
  if (query.isPending || query.data === undefined) return <Loading />;
  return <>{children(query.data)}</>;
}

export function Panel({
  title,
  children,
  actions,
  id,
}: {
  title: string;
  children: ReactNode;
  actions?: ReactNode;
  id?: string;
}) {
  const headingId = `${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-heading`;
  return (
    <section className="panel" aria-labelledby={headingId}>
      <div className="panel-head">
        <h2 id={headingId}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

/**
 * The api's message about one form field, shown next to it: give the field
 * `aria-invalid` and `aria-describedby={id}` (see `fieldProps`).
 */
export function FieldMessage({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <span className="error field-error" id={id} role="alert">
      {message}
    </span>
  );
}

/** `aria-invalid` and `aria-describedby` for a field whose `FieldMessage` has `id`. */
export function fieldProps(id: string, message: string | undefined) {
  return message ? { "aria-invalid": true, "aria-describedby": id } : {};
}

/** What a refused form submission says that belongs to no one field (null: nothing). */
export function FormProblem({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p className="error" role="alert">
      {message}
    </p>
  );
}

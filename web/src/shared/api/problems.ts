/**
 * A refused request's messages placed next to the fields they are about. The api answers a
 * bad body with 422 and `errors: [{field, message}]` (`field` is the body path, such as
 * `scope.goal_id` or `quiet_hours.start`); a form names the fields it shows, and whatever
 * matches none of them (a 403, a 404, a check the api makes after validation) stays a
 * message for the form as a whole.
 */
import { ApiError } from "./client";

export type FieldErrors = {
  /** Message per form field (the field's name in the form's list). */
  byField: Record<string, string>;
  /** What belongs to no field shown, or null. */
  general: string | null;
};

/** Pydantic prefixes a validator's own message with "Value error, ": a person needs none of it. */
function tidy(message: string): string {
  return message.replace(/^Value error, /, "");
}

/**
 * Split `error` into messages per field of `fields` and a general message. A body path
 * goes to the longest field it starts with (`scope.goal_id` to `scope.goal_id` when the
 * form shows it, else to `scope`). `aboutField` places a problem without `errors` (a
 * check after validation, such as "The target is not usable: …") on a field by its detail.
 */
export function fieldErrors(
  error: unknown,
  fields: readonly string[],
  aboutField?: (detail: string) => string | null,
): FieldErrors {
  if (!error) return { byField: {}, general: null };
  if (!(error instanceof ApiError)) {
    return { byField: {}, general: error instanceof Error ? error.message : "Something went wrong." };
  }
  const listed = error.problem["errors"];
  if (!Array.isArray(listed) || listed.length === 0) {
    const field = error.status === 422 && aboutField ? aboutField(error.detail) : null;
    return field && fields.includes(field)
      ? { byField: { [field]: error.detail }, general: null }
      : { byField: {}, general: error.detail };
  }
  const byField: Record<string, string> = {};
  const rest: string[] = [];
  for (const item of listed as { field?: unknown; message?: unknown }[]) {
    const message = tidy(String(item.message ?? "is invalid"));
    const path = typeof item.field === "string" ? item.field : "";
    const field = fields
      .filter((f) => path === f || path.startsWith(`${f}.`))
      .sort((a, b) => b.length - a.length)[0];
    if (field) byField[field] = byField[field] ? `${byField[field]}; ${message}` : message;
    else rest.push(path ? `${path}: ${message}` : message);
  }
  return { byField, general: rest.length > 0 ? rest.join("; ") : null };
}

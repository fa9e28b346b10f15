/**
 * A type-ahead person picker over the people directory (`/v1/people`): a text field whose
 * suggestions are people's names (a `datalist`, the browser's own type-ahead), and a
 * hidden field `name` carrying the chosen person's id. A name that matches nobody, or
 * several people, picks no one and says so.
 */
import { useId, useMemo, useState } from "react";

import { usePeople } from "@/shared/api/queries";

export function PersonPicker({
  label,
  name,
  value,
  onChange,
  errorId,
}: {
  label: string;
  /** The form field that carries the person's id. */
  name: string;
  value: string;
  onChange: (id: string) => void;
  /** The id of an error message describing the field, if any. */
  errorId?: string;
}) {
  const people = usePeople();
  const listId = useId();
  const hintId = useId();
  const active = useMemo(() => (people.data ?? []).filter((p) => p.active), [people.data]);
  const nameOf = useMemo(() => new Map((people.data ?? []).map((p) => [p.id, p.name])), [people.data]);
  const [text, setText] = useState<string | null>(null);
  const shown = text ?? (value ? (nameOf.get(value) ?? "") : "");
  const matches = text === null ? [] : active.filter((p) => p.name.toLowerCase() === text.trim().toLowerCase());
  const unknown = text !== null && text.trim() !== "" && matches.length !== 1;

  function change(next: string) {
    setText(next);
    const found = active.filter((p) => p.name.toLowerCase() === next.trim().toLowerCase());
    onChange(found.length === 1 ? found[0]!.id : "");
  }

  return (
    <label>
      {label}
      <input
        type="text"
        list={listId}
        autoComplete="off"
        value={shown}
        placeholder="Type a name"
        onChange={(e) => change(e.target.value)}
        aria-invalid={unknown || Boolean(errorId) || undefined}
        aria-describedby={[unknown ? hintId : "", errorId ?? ""].filter(Boolean).join(" ") || undefined}
        data-testid={`${name}-picker`}
      />
      <input type="hidden" name={name} value={value} />
      <datalist id={listId}>
        {active.map((p) => (
          <option key={p.id} value={p.name} />
        ))}
      </datalist>
      {unknown && (
        <span className="field-error" id={hintId}>
          {matches.length > 1
            ? "Several people have this name; ask an administrator to tell them apart."
            : "Pick a person from the list."}
        </span>
      )}
    </label>
  );
}

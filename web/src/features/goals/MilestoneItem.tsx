import { type FormEvent, useEffect, useRef, useState } from "react";

import type { Schemas } from "@/shared/api/client";
import { ErrorMessage } from "@/shared/components/Feedback";
import { formatDate } from "@/shared/lib/format";

import { useUpdateInitiative } from "./api";
import { dayOf, withMilestoneDone, withMilestoneEdited, withMilestoneRemoved } from "./initiatives";

type Mode = "view" | "edit" | "delete";

/**
 * One milestone: a box to tick it off, and for those who may edit the initiative, an edit
 * form (title, due) and a delete that asks first. Each sends the whole list back by id.
 */
export function MilestoneItem({
  initiative,
  milestone: m,
  canEdit,
}: {
  initiative: Schemas["InitiativeOut"];
  milestone: Schemas["MilestoneOut"];
  canEdit: boolean;
}) {
  const update = useUpdateInitiative();
  const [mode, setMode] = useState<Mode>("view");
  // Back from the edit form or the confirmation, focus returns to the button that opened
  // it, so a keyboard user goes on from where they were.
  const opener = useRef<Mode>("view");
  const editButton = useRef<HTMLButtonElement>(null);
  const deleteButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (mode === "view" && opener.current !== "view") {
      (opener.current === "edit" ? editButton : deleteButton).current?.focus();
      opener.current = "view";
    }
  }, [mode]);
  const open = (next: Mode) => {
    opener.current = next;
    setMode(next);
  };
  const save = (milestones: Schemas["MilestoneIn"][]) =>
    update.mutate({ id: initiative.id, body: { milestones } }, { onSuccess: () => setMode("view") });
  if (!canEdit) {
    return (
      <li>
        {m.done_at ? "✓ done: " : ""}
        {m.title} (due {formatDate(m.due)})
      </li>
    );
  }
  return (
    <li className="milestone">
      <label className="checkbox">
        <input
          type="checkbox"
          checked={m.done_at !== null}
          onChange={(e) => save(withMilestoneDone(initiative.milestones, m.id, e.target.checked))}
        />{" "}
        {m.title} (due {formatDate(m.due)})
      </label>
      {mode === "view" && (
        <>
          <button
            ref={editButton}
            type="button"
            className="small"
            onClick={() => open("edit")}
            aria-label={`Edit milestone ${m.title}`}
          >
            Edit
          </button>
          <button
            ref={deleteButton}
            type="button"
            className="small"
            onClick={() => open("delete")}
            aria-label={`Delete milestone ${m.title}`}
          >
            Delete
          </button>
        </>
      )}
      {mode === "edit" && (
        <form
          className="row"
          aria-label={`Edit milestone ${m.title}`}
          onSubmit={(event: FormEvent<HTMLFormElement>) => {
            event.preventDefault();
            const data = new FormData(event.currentTarget);
            save(
              withMilestoneEdited(initiative.milestones, m.id, {
                title: String(data.get("title")).trim(),
                day: String(data.get("due") ?? ""),
              }),
            );
          }}
        >
          <label>
            Title
            <input name="title" required maxLength={200} defaultValue={m.title} autoFocus />
          </label>
          <label>
            Due
            <input name="due" type="date" defaultValue={dayOf(m.due)} />
          </label>
          <button type="submit">Save milestone</button>
          <button type="button" onClick={() => setMode("view")}>
            Cancel
          </button>
        </form>
      )}
      {mode === "delete" && (
        <div className="confirm" role="group" aria-label={`Delete milestone ${m.title}?`}>
          <span>
            Delete “{m.title}”{m.done_at ? " (done)" : ""}? It cannot be undone.
          </span>{" "}
          <button type="button" onClick={() => save(withMilestoneRemoved(initiative.milestones, m.id))}>
            Delete milestone
          </button>{" "}
          <button type="button" onClick={() => setMode("view")} autoFocus>
            Keep it
          </button>
        </div>
      )}
      {update.error && <ErrorMessage error={update.error} />}
    </li>
  );
}

/**
 * "Delete", then an inline confirmation ("Delete channel" or "Keep it", focus on the
 * latter), as the goal page's milestones ask. "Keep it" gives focus back to "Delete", so a
 * keyboard user goes on from where they were. The caller owns the mutation: it passes
 * what to do, whether it is under way, and the error to show.
 */
import { type ReactNode, useEffect, useRef, useState } from "react";

import { ErrorMessage } from "./Feedback";

export function ConfirmDelete({
  label,
  question,
  confirm,
  onConfirm,
  pending,
  error,
  button = "Delete",
  buttonClassName,
}: {
  /** The button's accessible name ("Delete channel Team inbox"); the group asks it with "?". */
  label: string;
  /** What is asked, with its consequence. */
  question: ReactNode;
  /** The confirming button ("Delete channel"). */
  confirm: string;
  onConfirm: () => void;
  pending: boolean;
  error: unknown;
  button?: string;
  buttonClassName?: string;
}) {
  const [confirming, setConfirming] = useState(false);
  const asked = useRef(false);
  const deleteButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!confirming && asked.current) deleteButton.current?.focus();
    asked.current = confirming;
  }, [confirming]);
  return (
    <>
      {confirming ? (
        <div className="confirm" role="group" aria-label={`${label}?`}>
          <span>{question}</span>{" "}
          <button type="button" onClick={onConfirm} disabled={pending}>
            {confirm}
          </button>{" "}
          <button type="button" onClick={() => setConfirming(false)} autoFocus>
            Keep it
          </button>
        </div>
      ) : (
        <button
          ref={deleteButton}
          type="button"
          className={buttonClassName}
          onClick={() => setConfirming(true)}
          aria-label={label}
        >
          {button}
        </button>
      )}
      {error ? <ErrorMessage error={error} /> : null}
    </>
  );
}

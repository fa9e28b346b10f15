// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";

import type { Schemas } from "@/shared/api/client";

import { MilestoneItem } from "./MilestoneItem";

afterEach(cleanup);

const milestone: Schemas["MilestoneOut"] = {
  id: "m1",
  title: "Pilot live",
  due: "2026-12-10T23:59:59Z",
  done_at: null,
} as Schemas["MilestoneOut"];
const initiative = { id: "i1", title: "Pilot", milestones: [milestone] } as unknown as Schemas["InitiativeOut"];

function renderItem() {
  render(
    <QueryClientProvider client={new QueryClient()}>
      <ul>
        <MilestoneItem initiative={initiative} milestone={milestone} canEdit />
      </ul>
    </QueryClientProvider>,
  );
}

describe("a milestone's edit and delete", () => {
  it("gives focus back to the button that opened the form or the confirmation", () => {
    renderItem();
    fireEvent.click(screen.getByRole("button", { name: "Edit milestone Pilot live" }));
    expect(document.activeElement).toBe(screen.getByRole("textbox", { name: "Title" }));
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Edit milestone Pilot live" }));

    fireEvent.click(screen.getByRole("button", { name: "Delete milestone Pilot live" }));
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Keep it" }));
    fireEvent.click(screen.getByRole("button", { name: "Keep it" }));
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Delete milestone Pilot live" }));
  });
});

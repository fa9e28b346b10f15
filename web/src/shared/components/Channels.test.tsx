// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, describe, expect, it } from "vitest";

import type { Channel } from "@/shared/lib/channels";

import { ChannelDelete, ChannelForm } from "./Channels";

afterEach(cleanup);

const channel = {
  id: "c1",
  name: "Team inbox",
  kind: "email",
  owner: { kind: "user", id: "p1" },
  implicit: false,
  created_at: "2026-11-30T10:00:00Z",
} as Channel;

function withQueries(children: ReactNode) {
  return render(<QueryClientProvider client={new QueryClient()}>{children}</QueryClientProvider>);
}

describe("a channel's delete", () => {
  it("asks first, and Keep it gives focus back to Delete", () => {
    withQueries(<ChannelDelete channel={channel} consequence="Its digests stop." />);
    fireEvent.click(screen.getByRole("button", { name: "Delete channel Team inbox" }));
    const question = screen.getByRole("group", { name: "Delete channel Team inbox?" });
    expect(question.textContent).toContain("Its digests stop.");
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Keep it" }));
    fireEvent.click(screen.getByRole("button", { name: "Keep it" }));
    expect(screen.queryByRole("group")).toBeNull();
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Delete channel Team inbox" }));
  });
});

describe("the channel form", () => {
  it("labels the target by kind and offers a unit only for unit channels", () => {
    withQueries(<ChannelForm label="New channel" />);
    expect(screen.queryByRole("combobox", { name: "Unit" })).toBeNull();
    const kind = screen.getByRole("combobox", { name: "Kind" });
    expect(screen.getByRole("textbox", { name: /^Email address/ })).toBeTruthy();
    fireEvent.change(kind, { target: { value: "slack" } });
    expect(screen.getByRole("textbox", { name: /^Slack webhook URL/ })).toBeTruthy();
    cleanup();
    withQueries(<ChannelForm label="New unit channel" units={[{ id: "u1", name: "Sales" }]} />);
    expect(screen.getByRole("combobox", { name: /^Unit/ })).toBeTruthy();
  });
});

// @vitest-environment jsdom
import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";

import { ApiError } from "@/shared/api/client";

import { QueryState } from "./Feedback";
import { Sparkline } from "./Sparkline";
import { StatusBadge } from "./StatusBadge";

afterEach(cleanup);

describe("components", () => {
  it("names a status in words, not only in colour", () => {
    render(<StatusBadge status="off_track" />);
    expect(screen.getByText("Off track").className).toContain("status-off_track");
  });

  it("draws a sparkline with an accessible name, or says there is too little data", () => {
    render(<Sparkline values={[1, null, 3, 2]} label="Trend of revenue" />);
    expect(screen.getByRole("img", { name: "Trend of revenue" }).querySelector("path")).not.toBeNull();
    render(<Sparkline values={[5]} label="Trend of orders" />);
    expect(screen.getByLabelText("Trend of orders: not enough data")).toBeTruthy();
  });

  it("shows a missing endpoint as an unavailable feature, other errors as errors", () => {
    const missing = new ApiError(404, "There is no resource at /v1/goals/x/drivers.");
    render(
      <QueryState query={{ data: undefined, error: missing, isPending: false }} feature="Drivers">
        {() => <p>never</p>}
      </QueryState>,
    );
    expect(screen.getByTestId("unavailable").textContent).toBe("Drivers are not available on this server yet.");
    const gone = new ApiError(404, "There is no goal with id x.");
    render(
      <QueryState query={{ data: undefined, error: gone, isPending: false }} feature="Drivers">
        {() => <p>never</p>}
      </QueryState>,
    );
    expect(screen.getByRole("alert").textContent).toBe("There is no goal with id x.");
  });
});

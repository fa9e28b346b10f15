// `make screenshots` (devstack/screenshots.py starts the demo and runs this): PNGs of the
// scorecard, a goal page, a roll-up goal's page, the new-goal form, the cycles page, the
// review pack and the phone-width scorecard in OUT_DIR.
import { mkdirSync } from "node:fs";

import { launch, newPage, scorecardStatuses, signIn } from "./browser.mjs";

const base = process.env.NORTHSTAR_URL;
const out = process.env.OUT_DIR;
const { CEO_EMAIL, CEO_PASSWORD, GOAL_ID, REVIEW_ID } = process.env;
mkdirSync(out, { recursive: true });

const browser = await launch();
try {
  // Tall enough for every demo row to be on screen: rows fetch their sparkline when seen.
  const page = await newPage(browser, { width: 1440, height: 1400 });
  await signIn(page, base, CEO_EMAIL, CEO_PASSWORD);
  await scorecardStatuses(page);
  const kpiRows = await page.locator("table.scorecard tbody tr td:nth-child(7) > span").count();
  await page
    .waitForFunction(
      (n) => document.querySelectorAll("table.scorecard svg.sparkline").length >= n,
      kpiRows,
      { timeout: 15_000 },
    )
    .catch(() => undefined); // a KPI with too little data keeps its dash
  await page.waitForLoadState("networkidle");
  await page.screenshot({ path: `${out}/scorecard.png`, fullPage: true });

  await page.setViewportSize({ width: 1440, height: 1000 });
  await page.goto(`${base}/goals/${GOAL_ID}`);
  await page.locator(".chart[data-rendered=true]").waitFor();
  await page.waitForLoadState("networkidle");
  await page.screenshot({ path: `${out}/goal.png`, fullPage: true });

  // The Sales roll-up: its sub-goals worst first and its score over time.
  const rollupId = await page.evaluate(async () => {
    const answer = await fetch("/v1/goals?limit=1000", { credentials: "same-origin" });
    const goals = (await answer.json()).items;
    return goals.find((g) => g.title === "Sales: hit the weekly revenue plan").id;
  });
  await page.goto(`${base}/goals/${rollupId}`);
  await page.getByTestId("sub-goals").locator("tbody tr").first().waitFor();
  await page.locator(".chart[data-rendered=true]").waitFor();
  await page.waitForLoadState("networkidle");
  await page.screenshot({ path: `${out}/rollup.png`, fullPage: true });

  await page.getByRole("link", { name: "Add a sub-goal" }).click();
  await page.getByRole("form", { name: "New goal" }).waitFor();
  await page.locator("select[name=kpi]").selectOption({ label: "Define a new KPI…" });
  await page.waitForLoadState("networkidle");
  await page.screenshot({ path: `${out}/new-goal.png`, fullPage: true });

  await page.goto(`${base}/cycles`);
  await page.getByTestId("cycles").waitFor();
  await page.getByRole("form", { name: "Carry goals forward" }).waitFor();
  await page.waitForLoadState("networkidle");
  await page.screenshot({ path: `${out}/cycles.png`, fullPage: true });

  await page.goto(`${base}/reviews/${REVIEW_ID}/pack`);
  await page.getByTestId("review-pack").waitFor();
  await page.emulateMedia({ media: "print" });
  await page.setViewportSize({ width: 900, height: 1200 });
  await page.screenshot({ path: `${out}/review-pack.png`, fullPage: true });

  const phone = await newPage(browser, { width: 390, height: 844 });
  await signIn(phone, base, CEO_EMAIL, CEO_PASSWORD);
  await scorecardStatuses(phone);
  await phone.waitForLoadState("networkidle");
  await phone.screenshot({ path: `${out}/phone-scorecard.png`, fullPage: true });
  await phone.goto(`${base}/goals/${GOAL_ID}`);
  await phone.locator(".chart[data-rendered=true]").waitFor();
  await phone.waitForLoadState("networkidle");
  await phone.screenshot({ path: `${out}/phone-goal.png` });
} finally {
  await browser.close();
}

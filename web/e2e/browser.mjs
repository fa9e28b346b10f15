// Real Chromium for the browser tests, screenshots and the bench: Debian's /usr/bin/chromium
// driven by playwright-core, with every name resolving nowhere except 127.0.0.1, so no
// request can leave the machine (the app needs none: no CDN, no external fonts).
import AxeBuilder from "@axe-core/playwright";
import { chromium } from "playwright-core";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
];

export async function launch() {
  return chromium.launch({
    executablePath: process.env.NORTHSTAR_CHROMIUM ?? "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
  });
}

/** A fresh context (own cookies) on the app, failing on any request off loopback. */
export async function newPage(browser, { width = 1360, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, locale: "en-GB" });
  const page = await context.newPage();
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (!["127.0.0.1", "localhost"].includes(url.hostname) && url.protocol.startsWith("http"))
      throw new Error(`request off loopback: ${request.url()}`);
  });
  return page;
}

/** Serious and critical axe violations on the page as it is now (WCAG 2.1 A and AA). */
export async function axe(page, name) {
  const result = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      page: name,
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
    }));
}

export async function signIn(page, base, email, password) {
  await page.goto(`${base}/`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

/** The scorecard's rows once rendered: goal id → status shown. */
export async function scorecardStatuses(page) {
  await page.locator("table.scorecard tbody tr").first().waitFor();
  return page.$$eval("table.scorecard tbody tr[data-goal-id]", (rows) =>
    Object.fromEntries(rows.map((r) => [r.dataset.goalId, r.dataset.status])),
  );
}

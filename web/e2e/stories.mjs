// The browser stories `tests/web/test_browser.py` runs against the services it started:
//   node e2e/stories.mjs <story>   with NORTHSTAR_URL and the story's variables set.
// Each prints one JSON line (what the pages showed, axe findings) for pytest to check
// against the api; a thrown error (an element that never appears) fails the story.
import { writeFileSync } from "node:fs";

import { axe, launch, newPage, scorecardStatuses, signIn } from "./browser.mjs";

const base = process.env.NORTHSTAR_URL;
const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

async function lead(browser) {
  const page = await newPage(browser);
  const violations = [];
  await signIn(page, base, env("LEAD_EMAIL"), env("LEAD_PASSWORD"));
  const statuses = await scorecardStatuses(page);
  violations.push(...(await axe(page, "scorecard")));

  const goalId = env("GOAL_ID");
  await page.locator(`tr[data-goal-id="${goalId}"] a`).first().click();
  await page.locator(".chart[data-rendered=true]").waitFor();
  const explanation = await page.getByTestId("status-explanation").innerText();
  const drivers = await page.getByRole("region", { name: "What is driving this" }).innerText();
  violations.push(...(await axe(page, "goal")));

  const checkIn = page.getByRole("form", { name: "New check-in" });
  await checkIn.getByLabel("How is it going?").fill(env("CHECK_IN"));
  await checkIn.getByLabel("Confidence (1–10)").fill("6");
  await checkIn.getByLabel("Blockers").fill("Two open sales positions");
  await checkIn.getByRole("button", { name: "Post check-in" }).click();
  await page.getByTestId("timeline").getByText(env("CHECK_IN"), { exact: false }).waitFor();
  // Focus stays with the new entry (the check-in just posted), not lost to the page's top.
  await page.waitForFunction(() => document.activeElement?.id?.startsWith("check-in-"));
  const focusedAfterCheckIn = await page.evaluate(() => document.activeElement.textContent);
  const editable = await page.getByRole("form", { name: "Edit goal" }).count();

  const alert = page.locator(".alert-list li").first();
  await alert.getByLabel("Note").fill("Looking into APAC with the sales team");
  await alert.getByRole("button", { name: "Acknowledge" }).click();
  await page.locator(".alert-list [data-testid=alert-state]", { hasText: "acknowledged" }).waitFor();
  await page.getByRole("link", { name: "Alerts" }).click();
  await page.getByRole("heading", { name: "Alerts", level: 1 }).waitFor();
  await page.locator("table tbody tr").first().waitFor();
  violations.push(...(await axe(page, "alerts")));

  // A lead plans the goal: an initiative with owner, due and budget, then a milestone
  // added and marked done.
  await page.goto(`${base}/goals/${goalId}`);
  const plan = page.getByRole("form", { name: "New initiative" });
  await plan.getByLabel("Title").fill(env("INITIATIVE"));
  await plan.getByLabel("Owner").selectOption({ label: env("OWNER_NAME") });
  await plan.getByLabel("Due").fill("2026-12-20");
  await plan.getByLabel("Budget").fill("25000");
  await plan.getByRole("button", { name: "Add initiative" }).click();
  const step = page.getByRole("form", { name: `New milestone of ${env("INITIATIVE")}` });
  await step.getByLabel("Milestone").fill(env("MILESTONE"));
  await step.getByRole("button", { name: "Add milestone" }).click();
  const milestones = page.getByRole("list", { name: `Milestones of ${env("INITIATIVE")}` });
  // The box shows the api's answer: it turns checked once the PATCH has been re-read.
  await milestones.getByRole("checkbox", { name: env("MILESTONE") }).click();
  await milestones.getByRole("checkbox", { name: env("MILESTONE"), checked: true }).waitFor();
  const milestoneChecked = await milestones.getByRole("checkbox", { name: env("MILESTONE") }).isChecked();
  violations.push(...(await axe(page, "goal with initiative")));

  // Two more milestones; the first (done) is renamed and moved, the second deleted after
  // the confirmation. The api's ids before and after show which milestones were kept.
  for (const title of [env("MILESTONE_2"), env("MILESTONE_3")]) {
    await step.getByLabel("Milestone").fill(title);
    await step.getByRole("button", { name: "Add milestone" }).click();
    await milestones.getByRole("checkbox", { name: title }).waitFor();
  }
  const readMilestones = async () =>
    page.evaluate(
      async ([id, title]) => {
        const answer = await fetch(`/v1/initiatives?goal_id=${id}`, { credentials: "same-origin" });
        return (await answer.json()).items.find((i) => i.title === title).milestones;
      },
      [goalId, env("INITIATIVE")],
    );
  const milestonesBefore = await readMilestones();
  const panel = page.getByRole("region", { name: "Initiatives" });
  const shot = (name) => panel.screenshot({ path: `${env("SHOT_DIR")}/${name}.png` });

  await milestones.getByRole("button", { name: `Edit milestone ${env("MILESTONE")}` }).click();
  const rename = milestones.getByRole("form", { name: `Edit milestone ${env("MILESTONE")}` });
  await rename.getByLabel("Title").fill(env("RENAMED"));
  await rename.getByLabel("Due").fill("2026-12-10");
  await shot("milestone-edit");
  violations.push(...(await axe(page, "milestone edit form")));
  await rename.getByRole("button", { name: "Save milestone" }).click();
  await milestones.getByRole("checkbox", { name: env("RENAMED"), checked: true }).waitFor();

  await milestones.getByRole("button", { name: `Delete milestone ${env("MILESTONE_2")}` }).click();
  const confirm = milestones.getByRole("group", { name: `Delete milestone ${env("MILESTONE_2")}?` });
  await shot("milestone-delete-confirm");
  violations.push(...(await axe(page, "milestone delete confirmation")));
  await confirm.getByRole("button", { name: "Delete milestone", exact: true }).click();
  await milestones.getByRole("checkbox", { name: env("MILESTONE_2") }).waitFor({ state: "detached" });

  await page.reload();
  await milestones.getByRole("checkbox").first().waitFor();
  const milestonesShown = await milestones.evaluate((list) =>
    [...list.querySelectorAll("input[type=checkbox]")].map((box) => ({
      label: box.closest("label").textContent.trim(),
      checked: box.checked,
    })),
  );
  await shot("milestones-after-reload");
  return {
    statuses,
    focusedAfterCheckIn,
    explanation,
    drivers,
    editable,
    milestoneChecked,
    milestonesBefore,
    milestonesShown,
    violations,
  };
}

async function ceo(browser) {
  const page = await newPage(browser);
  const violations = [];
  await signIn(page, base, env("CEO_EMAIL"), env("CEO_PASSWORD"));
  await page.getByRole("link", { name: "Reviews" }).click();
  await page.getByLabel("Title").fill("Weekly company review");
  violations.push(...(await axe(page, "reviews")));
  await page.getByRole("button", { name: "Start the review" }).click();
  await page.getByRole("heading", { name: "Weekly company review" }).waitFor();
  const agenda = await page.$$eval("ol.agenda > li", (items) => items.map((li) => li.dataset.goalId));

  const decisions = page.getByRole("form", { name: "New decision" });
  await decisions.getByLabel("Text").fill(env("DECISION"));
  await decisions.getByRole("button", { name: "Record decision" }).click();
  await page.getByTestId("decisions").getByText(env("DECISION")).waitFor();

  const item = page.locator(`ol.agenda > li[data-goal-id="${env("GOAL_ID")}"]`);
  await item.getByRole("button", { name: "Decide" }).click();
  const change = item.getByRole("form", { name: "Change the target" });
  await change.getByLabel("New target").fill(env("NEW_TARGET"));
  await change.getByLabel("Reason").fill(env("REASON"));
  await change.getByRole("button", { name: "Change target" }).click();
  const targetChanged = await item.getByText(/^Target changed: .*; recorded in this review\.$/).innerText();
  const targetFieldAfter = await change.getByLabel("New target").inputValue();
  // An action is handed to a person picked from the people the app knows.
  await decisions.getByLabel("Action").check();
  await decisions.getByLabel("Text").fill(env("ACTION"));
  await decisions.getByLabel("Owner").selectOption({ label: env("ACTION_OWNER") });
  await decisions.getByRole("button", { name: "Record action" }).click();
  await page.getByTestId("decisions").getByText(env("ACTION")).waitFor();
  const agendaText = await page.locator("ol.agenda").innerText();
  violations.push(...(await axe(page, "review meeting")));
  const reviewId = new URL(page.url()).pathname.split("/")[2];

  await page.getByRole("link", { name: "Review pack (print)" }).click();
  await page.locator("[data-testid=review-pack][data-ready=true]").waitFor();
  const packRows = page.locator("[data-testid=review-pack] li.pack-goal");
  await page.waitForFunction(
    () =>
      document.querySelectorAll("[data-testid=review-pack] .pack-chart[data-rendered=true]").length ===
      document.querySelectorAll("[data-testid=review-pack] li.pack-goal").length,
  );
  const packCharts = await page.locator("[data-testid=review-pack] svg.pack-chart").count();
  const packGoals = await packRows.count();
  violations.push(...(await axe(page, "review pack")));
  await page.emulateMedia({ media: "print" });
  const pdf = env("PDF_PATH");
  writeFileSync(pdf, await page.pdf({ format: "A4", printBackground: true }));
  await page.emulateMedia({ media: "screen" });

  // The scorecard downloads as an Excel workbook (the api builds it).
  await page.getByRole("link", { name: "Scorecard", exact: true }).click();
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download Excel" }).click(),
  ]);
  await download.saveAs(env("XLSX_PATH"));
  const xlsxName = download.suggestedFilename();

  for (const [link, heading, name] of [
    ["KPIs", "KPIs", "kpis"],
    ["Strategy", "Strategy", "strategy"],
    ["Administration", "Administration", "administration"],
  ]) {
    await page.getByRole("link", { name: link, exact: true }).click();
    await page.getByRole("heading", { name: heading, level: 1 }).waitFor();
    await page.waitForLoadState("networkidle");
    violations.push(...(await axe(page, name)));
  }
  await page.getByRole("link", { name: "KPIs", exact: true }).click();
  await page.getByRole("link", { name: "Revenue", exact: true }).click();
  await page.locator(".chart[data-rendered=true]").waitFor();
  const expression = page.getByLabel("Expression");
  await expression.fill("sum(revenue)) * 2");
  const expressionError = await page.getByTestId("expression-error").innerText();
  violations.push(...(await axe(page, "kpi")));
  // A typo in a metric name or a label key is named, with "did you mean", not "Valid".
  await expression.fill('sum(revenu{regoin="eu"})');
  const expressionWarnings = await page.getByTestId("expression-warnings").innerText();
  violations.push(...(await axe(page, "kpi (names not in the catalogue)")));
  return {
    reviewId,
    agenda,
    agendaText,
    targetChanged,
    targetFieldAfter,
    packGoals,
    packCharts,
    xlsxName,
    expressionError,
    expressionWarnings,
    violations,
  };
}

async function admin(browser) {
  const page = await newPage(browser);
  const violations = [];
  await signIn(page, base, env("ADMIN_EMAIL"), env("ADMIN_PASSWORD"));
  await page.getByRole("link", { name: "Administration" }).click();
  await page.getByRole("heading", { name: "Administration", level: 1 }).waitFor();
  const person = page.getByRole("form", { name: "New person" });
  await person.getByLabel("Name").fill(env("NEW_NAME"));
  await person.getByLabel("Email").fill(env("NEW_EMAIL"));
  await person.getByLabel("Role").selectOption("member");
  await person.getByRole("button", { name: "Add and invite" }).click();
  const invitation = await page.getByTestId("invitation-link").innerText();
  violations.push(...(await axe(page, "administration (invitation shown)")));

  const unit = env("UNIT_NAME");
  await page.getByRole("region", { name: "Unit members" }).getByLabel("Unit", { exact: true }).selectOption({ label: unit });
  const add = page.getByRole("form", { name: `Add a member to ${unit}` });
  await add.getByLabel("Person").selectOption({ label: env("NEW_NAME") });
  await add.getByLabel("Role").selectOption("member");
  await add.getByRole("button", { name: "Add member" }).click();
  await page.getByTestId("members").getByRole("rowheader", { name: env("NEW_NAME") }).waitFor();
  violations.push(...(await axe(page, "administration (members)")));

  // The invited person opens the link in their own browser and chooses a password.
  const invited = await newPage(browser);
  await invited.goto(invitation);
  const choose = invited.getByRole("form", { name: "Choose your password" });
  await choose.waitFor();
  await choose.getByLabel("Password", { exact: true }).fill(env("WEAK_PASSWORD"));
  await choose.getByLabel("Password again").fill(env("WEAK_PASSWORD"));
  await choose.getByRole("button", { name: "Set password and sign in" }).click();
  const refused = await invited.getByTestId("invitation-errors").innerText();
  violations.push(...(await axe(invited, "invitation (password refused)")));
  await choose.getByLabel("Password", { exact: true }).fill(env("NEW_PASSWORD"));
  await choose.getByLabel("Password again").fill(env("NEW_PASSWORD"));
  await choose.getByRole("button", { name: "Set password and sign in" }).click();
  await invited.getByRole("navigation", { name: "Main" }).waitFor();
  const signedInAs = await invited.getByTestId("signed-in-as").innerText();
  const fragment = new URL(invited.url()).hash;

  // Single sign-on: add a provider (a role mapping with a mistake first), disable it,
  // enable it, remove it.
  const sso = page.getByRole("form", { name: "New identity provider" });
  await sso.getByLabel(/^Name/).fill(env("PROVIDER_NAME"));
  await sso.getByLabel("Issuer URL").fill(env("PROVIDER_ISSUER"));
  await sso.getByLabel("Client ID").fill("northstar");
  await sso.getByLabel(/^Client secret/).fill("a client secret");
  await sso.getByLabel(/^Allowed email domains/).fill("northstar.example, example.org");
  await sso.getByLabel(/^Claim/).fill("groups");
  await sso.getByLabel("Value=role, one per line").fill("northstar-admins=admin\nsales=boss");
  await sso.getByRole("button", { name: "Add identity provider" }).click();
  const mappingProblem = await sso.getByRole("alert").innerText();
  await sso.getByLabel("Value=role, one per line").fill("northstar-admins=admin\nsales=editor");
  await sso.getByRole("button", { name: "Add identity provider" }).click();
  const added = await sso.getByRole("status").innerText();
  const providers = page.getByRole("region", { name: "Identity providers" });
  const redirect = await providers.getByTestId(`redirect-${env("PROVIDER_NAME")}`).innerText();
  violations.push(...(await axe(page, "administration (single sign-on)")));
  if (process.env.SHOTS)
    await shot(page, process.env.SHOTS, "single-sign-on", page.locator("section").filter({ has: providers }));
  const offered = async () =>
    page.evaluate(async () => (await (await fetch("/v1/auth/providers")).json()).map((p) => p.name));
  const offeredAdded = await offered();
  await providers.getByRole("button", { name: `Disable ${env("PROVIDER_NAME")}` }).click();
  await providers.getByRole("button", { name: `Enable ${env("PROVIDER_NAME")}` }).waitFor();
  const offeredDisabled = await offered();
  await providers.getByRole("button", { name: `Remove ${env("PROVIDER_NAME")}` }).click();
  await providers.getByRole("button", { name: "Remove provider" }).click();
  await page.getByText("No identity provider: people sign in with a password.").waitFor();
  return {
    invitation,
    refused,
    signedInAs,
    fragment,
    mappingProblem,
    added,
    redirect,
    offeredAdded,
    offeredDisabled,
    violations,
  };
}

async function viewer(browser) {
  const page = await newPage(browser, { width: 390, height: 844 });
  const violations = [];
  await signIn(page, base, env("VIEWER_EMAIL"), env("VIEWER_PASSWORD"));
  await scorecardStatuses(page);
  violations.push(...(await axe(page, "scorecard (phone)")));
  const newGoal = await page.getByRole("link", { name: /^New goal/ }).count();
  await page.goto(`${base}/goals/${env("GOAL_ID")}`);
  await page.locator(".chart[data-rendered=true]").waitFor();
  await page.getByRole("region", { name: "History" }).waitFor();
  violations.push(...(await axe(page, "goal (phone)")));
  // At 390 px the drivers table fits too (its rows stack): no sideways scroll.
  const driversRegion = page.getByRole("region", { name: "What is driving this" });
  await driversRegion.locator("table, p").first().waitFor();
  const driversTables = await driversRegion.locator("table").count();
  const driversFit = await driversRegion.evaluate(
    (region) => region.scrollWidth <= region.clientWidth && document.documentElement.scrollWidth <= window.innerWidth,
  );
  const controls = {
    edit: await page.getByRole("form", { name: "Edit goal" }).count(),
    acknowledge: await page.getByRole("button", { name: "Acknowledge" }).count(),
    resolve: await page.getByRole("button", { name: "Resolve" }).count(),
    checkIn: await page.getByRole("form", { name: "New check-in" }).count(),
    administration: await page.getByRole("link", { name: "Administration" }).count(),
    newGoal,
    setUp: await page.getByRole("region", { name: "Set up" }).count(),
  };
  // The demo's goal has an initiative with milestones: a viewer sees them, nothing to change them.
  const milestoneLists = page.getByRole("list", { name: /^Milestones of / });
  await milestoneLists.first().waitFor();
  const milestonesListed = await milestoneLists.getByRole("listitem").count();
  controls.milestoneEdits =
    (await page.getByRole("button", { name: /^(Edit|Delete) milestone / }).count()) +
    (await milestoneLists.getByRole("checkbox").count());
  await page.goto(`${base}/reviews`);
  await page.getByRole("heading", { name: "Reviews", level: 1 }).waitFor();
  controls.newReview = await page.getByRole("form", { name: "New review" }).count();
  await page.goto(`${base}/kpis`);
  await page.getByRole("heading", { name: "KPIs", level: 1 }).waitFor();
  controls.newKpi = await page.getByRole("form", { name: "New KPI" }).count();
  await page.goto(`${base}/cycles`);
  await page.getByRole("heading", { name: "Cycles", level: 1 }).waitFor();
  controls.newCycle = await page.getByRole("form", { name: "New cycle" }).count();
  violations.push(...(await axe(page, "cycles (phone)")));
  // At 390 px the alerts table fits: no sideways scroll on the page or in the table.
  await page.goto(`${base}/alerts`);
  await page.getByRole("heading", { name: "Alerts", level: 1 }).waitFor();
  await page.locator("table tbody tr").first().waitFor();
  await page.waitForLoadState("networkidle");
  violations.push(...(await axe(page, "alerts (phone)")));
  const alertsFit = await page.evaluate(() => {
    const region = document.querySelector("[aria-label='Alerts table']");
    return (
      document.documentElement.scrollWidth <= window.innerWidth &&
      region !== null &&
      region.scrollWidth <= region.clientWidth
    );
  });
  const alertKinds = await page.getByLabel("Kind").locator("option").allInnerTexts();
  const alertDetails = await page.getByTestId("alert-details").allInnerTexts();
  // Every goal on the strategy map, under a perspective.
  await page.goto(`${base}/strategy`);
  await page.getByRole("heading", { name: "Strategy", level: 1 }).waitFor();
  await page.locator(".strategy-goal").first().waitFor();
  violations.push(...(await axe(page, "strategy (phone)")));
  const strategy = await page.$$eval(".perspective", (columns) =>
    Object.fromEntries(
      columns.map((c) => [
        c.querySelector("h2").textContent,
        [...c.querySelectorAll(".strategy-goal")].map((g) => g.dataset.goalId),
      ]),
    ),
  );
  // The latest review and its pack, read on a phone.
  await page.goto(`${base}/reviews`);
  const reviewLinks = page.locator("main ul.plain a");
  let packFits = null;
  if ((await reviewLinks.count()) > 0) {
    await reviewLinks.first().click();
    await page.locator("ol.agenda > li").first().waitFor();
    violations.push(...(await axe(page, "review meeting (phone)")));
    await page.getByRole("link", { name: "Review pack (print)" }).click();
    await page.locator("[data-testid=review-pack][data-ready=true]").waitFor();
    await page.waitForLoadState("networkidle");
    violations.push(...(await axe(page, "review pack (phone)")));
    packFits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  }
  // A viewer who opens /admin is told they have no access.
  await page.goto(`${base}/admin`);
  const adminNoAccess = await page.getByTestId("no-access").innerText();
  violations.push(...(await axe(page, "administration, no access (phone)")));
  // Force what the page does not offer: the api refuses it.
  const forced = await page.evaluate(async (goalId) => {
    const csrf = document.cookie.match(/northstar_csrf=([^;]+)/)?.[1] ?? "";
    const response = await fetch(`/v1/goals/${goalId}`, {
      method: "PATCH",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": decodeURIComponent(csrf) },
      body: JSON.stringify({ title: "Hijacked" }),
    });
    return response.status;
  }, env("GOAL_ID"));
  // The session ends behind the page's back (as when it expires or an admin deactivates
  // the person): the next request the app makes shows the "session ended" page.
  await page.evaluate(async () => {
    const csrf = document.cookie.match(/northstar_csrf=([^;]+)/)?.[1] ?? "";
    await fetch("/v1/auth/logout", { method: "POST", headers: { "X-CSRF-Token": decodeURIComponent(csrf) } });
  });
  await page.getByRole("link", { name: "Scorecard", exact: true }).click();
  await page.getByTestId("session-ended").waitFor();
  violations.push(...(await axe(page, "session ended")));
  const signedOut = await newPage(browser);
  await signedOut.goto(`${base}/`);
  await signedOut.getByRole("button", { name: "Sign in" }).waitFor();
  violations.push(...(await axe(signedOut, "sign-in")));
  const signInFocus = await signedOut.evaluate(() => document.activeElement?.getAttribute("name"));
  return {
    controls,
    milestonesListed,
    forced,
    alertsFit,
    driversFit,
    driversTables,
    packFits,
    alertKinds,
    alertDetails,
    strategy,
    adminNoAccess,
    signInFocus,
    violations,
  };
}

// A member sets up their notifications on their own page: an email channel (a target the
// api refuses is shown next to the field; the accepted one is never shown back), a
// subscription to their own goals, a daily digest set for the current minute in Berlin
// (which is due, so the evaluator sends it at once, to the test's SMTP server: a digest is
// never sent before its time, nor for a time already past when it was set) and quiet hours; all still there after a reload; then the
// subscription is deleted. As a unit lead they add and delete a channel of their unit on
// the Administration page. A viewer sees only their own (empty) settings.
async function notifications(browser) {
  const page = await newPage(browser);
  const violations = [];
  const shots = env("SHOT_DIR");
  const channel = env("CHANNEL");
  const target = env("TARGET");
  await signIn(page, base, env("MEMBER_EMAIL"), env("MEMBER_PASSWORD"));
  await page.getByRole("link", { name: "Notifications", exact: true }).click();
  await page.getByRole("heading", { name: "Notifications", level: 1 }).waitFor();
  await page.waitForLoadState("networkidle");
  violations.push(...(await axe(page, "notifications")));

  const newChannel = page.getByRole("form", { name: "New channel" });
  await newChannel.getByLabel("Name").fill(channel);
  await newChannel.getByLabel("Kind").selectOption("email");
  const targetField = newChannel.getByLabel("Email address");
  await targetField.fill("not an address");
  await newChannel.getByRole("button", { name: "Add channel" }).click();
  // The api's 422 is shown next to the target: the field is marked invalid and described by it.
  await newChannel.locator("input[name=target][aria-invalid=true]").waitFor();
  const errorId = await targetField.getAttribute("aria-describedby");
  const targetError = newChannel.locator(`[id="${errorId}"]`);
  const refused = await targetError.innerText();
  await shot(page, shots, "notifications-target-refused", newChannel);
  violations.push(...(await axe(page, "notifications (target refused)")));
  await targetField.fill(target);
  await newChannel.getByRole("button", { name: "Add channel" }).click();
  await newChannel.getByRole("status").waitFor();
  const channels = page.getByTestId("my-channels");
  await channels.getByRole("rowheader", { name: channel }).waitFor();
  const targetLeft = await targetField.inputValue();
  const kindsOffered = await newChannel.getByLabel("Kind").locator("option").allInnerTexts();
  // "Send a test": the api sends it now, to the test's SMTP server.
  await channels.getByRole("button", { name: `Send a test to ${channel}` }).click();
  const testResult = await channels.getByTestId("channel-test-result").getByText(/^(Sent|Not sent)/).innerText();
  violations.push(...(await axe(page, "notifications (test sent)")));

  const subscription = page.getByRole("form", { name: "New subscription" });
  await subscription.getByLabel("Channel").selectOption({ label: channel });
  await subscription.getByLabel("My goals").check();
  await subscription.getByLabel("The goal's status changes").check();
  await subscription.getByLabel("A check-in is due").check();
  await subscription.getByLabel("At least").selectOption("info");
  await subscription.getByRole("button", { name: "Subscribe" }).click();
  const subscriptions = page.getByTestId("my-subscriptions");
  await subscriptions.getByRole("rowheader", { name: "My goals" }).waitFor();

  const digest = page.getByRole("form", { name: "New digest" });
  await digest.getByLabel("Channel").selectOption({ label: channel });
  await digest.getByLabel("Cadence").selectOption("daily");
  // Not within the last seconds of a minute, so the minute set is still the current one.
  while (new Date().getSeconds() >= 50) await page.waitForTimeout(500);
  const digestAt = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Europe/Berlin",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(new Date());
  await digest.getByLabel("At (local time)").fill(digestAt);
  await digest.getByLabel("Time zone").selectOption("Europe/Berlin");
  await digest.getByRole("button", { name: "Add digest" }).click();
  const digestLabel = `Daily at ${digestAt} (Europe/Berlin)`;
  await page.getByTestId("my-digests").getByRole("rowheader", { name: digestLabel }).waitFor();

  // A digest set for the current minute goes out at once: the delivery log shows it.
  await channels.getByRole("button", { name: `Deliveries of ${channel}` }).click();
  const deliveries = page.getByRole("region", { name: "Deliveries", exact: true });
  await deliveries.getByLabel("Channel").selectOption({ label: channel });
  const delivered = deliveries.locator("tr[data-kind=digest][data-status=delivered]");
  for (let i = 0; i < 90 && (await delivered.count()) === 0; i++) {
    await page.waitForTimeout(1000);
    await deliveries.getByRole("button", { name: "Refresh" }).click();
  }
  const delivery = await delivered.first().innerText();

  const quiet = page.getByRole("form", { name: "Quiet hours" });
  await quiet.getByLabel("Hold messages that are not critical during quiet hours").check();
  await quiet.getByLabel("From").fill("22:00");
  await quiet.getByLabel("Until").fill("06:30");
  await quiet.getByLabel("Time zone").selectOption("Europe/Berlin");
  await quiet.getByRole("button", { name: "Save quiet hours" }).click();
  await page.getByTestId("quiet-hours").getByText("22:00–06:30 (Europe/Berlin)").waitFor();
  await page.screenshot({ path: `${shots}/notifications.png`, fullPage: true });
  violations.push(...(await axe(page, "notifications (filled in)")));
  const api = (path) =>
    page.evaluate(async (p) => (await fetch(p, { credentials: "same-origin" })).json(), path);
  const subscriptionsBefore = (await api("/v1/subscriptions?limit=1000")).items;

  await page.reload();
  await channels.getByRole("rowheader", { name: channel }).waitFor();
  await subscriptions.getByRole("rowheader", { name: "My goals" }).waitFor();
  await page.getByTestId("quiet-hours").getByText("22:00–06:30").waitFor();
  const reloaded = {
    channels: await channels.getByRole("rowheader").allInnerTexts(),
    subscriptions: await subscriptions.locator("tbody tr").allInnerTexts(),
    digests: await page.getByTestId("my-digests").getByRole("rowheader").allInnerTexts(),
    quietHours: await page.getByTestId("quiet-hours").innerText(),
  };
  const targetShown = (await page.content()).includes(target);

  await subscriptions.getByRole("button", { name: `Delete subscription to My goals on ${channel}` }).click();
  await page.getByText("No subscriptions: your channels get nothing but digests.").waitFor();

  // As lead of a unit: a channel for the unit, on the Administration page.
  await page.getByRole("link", { name: "Administration", exact: true }).click();
  const unitPanel = page.getByRole("region", { name: "Notification channels" });
  const unitForm = unitPanel.getByRole("form", { name: "New unit channel" });
  await unitForm.waitFor();
  const unitsOffered = await unitForm.getByLabel("Unit").locator("option").allInnerTexts();
  await unitForm.getByLabel("Unit").selectOption({ label: env("UNIT_NAME") });
  await unitForm.getByLabel("Name").fill(env("UNIT_CHANNEL"));
  await unitForm.getByLabel("Email address").fill(env("UNIT_TARGET"));
  await unitForm.getByRole("button", { name: "Add channel" }).click();
  const unitRows = unitPanel.getByTestId("unit-channels");
  await unitRows.getByRole("rowheader", { name: env("UNIT_CHANNEL") }).waitFor();
  const unitChannelsCreated = (await api("/v1/channels?limit=1000")).items.filter(
    (c) => c.owner.kind === "unit",
  );
  await unitRows.getByRole("button", { name: `Delete channel ${env("UNIT_CHANNEL")}` }).click();
  const confirm = unitRows.getByRole("group", { name: `Delete channel ${env("UNIT_CHANNEL")}?` });
  await confirm.waitFor();
  await shot(page, shots, "unit-channel-delete-confirm", unitPanel);
  violations.push(...(await axe(page, "administration (unit channel confirmation)")));
  await confirm.getByRole("button", { name: "Delete channel", exact: true }).click();
  await unitRows.getByRole("rowheader", { name: env("UNIT_CHANNEL") }).waitFor({ state: "detached" });

  // A viewer, on a phone: their own page, none of the member's settings, no administration.
  const viewer = await newPage(browser, { width: 390, height: 844 });
  await signIn(viewer, base, env("VIEWER_EMAIL"), env("VIEWER_PASSWORD"));
  await viewer.getByRole("link", { name: "Notifications", exact: true }).click();
  await viewer.getByRole("heading", { name: "Notifications", level: 1 }).waitFor();
  await viewer.getByText("You have no channels yet.").waitFor();
  await viewer.waitForLoadState("networkidle");
  await viewer.screenshot({ path: `${shots}/notifications-viewer-phone.png`, fullPage: true });
  violations.push(...(await axe(viewer, "notifications (viewer, phone)")));
  const viewerText = await viewer.locator("main").innerText();
  const viewerSees = {
    memberChannel: viewerText.includes(channel),
    newChannelForm: await viewer.getByRole("form", { name: "New channel" }).count(),
    administration: await viewer.getByRole("link", { name: "Administration" }).count(),
  };
  const memberChannelId = (await api("/v1/channels?limit=1000")).items.find((c) => c.name === channel).id;
  const viewerForcedDelete = await viewer.evaluate(async (id) => {
    const csrf = document.cookie.match(/northstar_csrf=([^;]+)/)?.[1] ?? "";
    const response = await fetch(`/v1/channels/${id}`, {
      method: "DELETE",
      headers: { "X-CSRF-Token": decodeURIComponent(csrf) },
    });
    return response.status;
  }, memberChannelId);
  return {
    refused,
    targetLeft,
    digestAt,
    kindsOffered,
    testResult,
    delivery,
    subscriptionsBefore,
    reloaded,
    targetShown,
    unitsOffered,
    unitChannelsCreated,
    viewerSees,
    viewerForcedDelete,
    violations,
  };
}

// Setting up the cycle (issue 24). The Sales lead creates a goal in Sales from the
// scorecard with a KPI defined on the spot, then a sub-goal from its page with the same
// KPI; the unit field offers only Sales and the units below it, and a forced goal in
// another unit is refused. The editor then archives the sub-goal from its page.
async function setup(browser) {
  const page = await newPage(browser);
  const violations = [];
  await signIn(page, base, env("LEAD_EMAIL"), env("LEAD_PASSWORD"));
  await page.locator("table.scorecard tbody tr").first().waitFor();
  await page.getByRole("link", { name: "New goal", exact: true }).first().click();
  const form = page.getByRole("form", { name: "New goal" });
  await form.getByLabel("Title").waitFor();
  const unitsOffered = await form.locator("select[name=unit_id]").locator("option").allInnerTexts();
  await form.getByLabel("Title", { exact: true }).fill(env("GOAL_TITLE"));
  await form.locator("select[name=unit_id]").selectOption({ label: "Sales" });
  await form.locator("select[name=kpi]").selectOption({ label: "Define a new KPI…" });
  const kpi = page.getByRole("group", { name: "New KPI" });
  await kpi.getByLabel("KPI key", { exact: true }).fill(env("KPI_KEY"));
  await kpi.getByLabel("KPI name", { exact: true }).fill(env("KPI_NAME"));
  await kpi.getByLabel("KPI unit", { exact: true }).fill("calls");
  await kpi.getByLabel("Expression", { exact: true }).fill("count(sales_call)");
  await form.getByLabel("Target", { exact: true }).fill("500");
  await form.getByLabel("At risk below (%)", { exact: true }).fill("90");
  await form.getByLabel("Off track below (%)", { exact: true }).fill("75");
  await form.getByLabel("Start", { exact: true }).fill("2026-12-01");
  await form.getByLabel("Due", { exact: true }).fill("2027-03-31");
  await form.getByLabel("Weight in its parent", { exact: true }).fill("2");
  await form.locator("select[name=cycle_id]").selectOption({ label: env("CYCLE_FROM") });
  await form.locator("select[name=perspective]").selectOption("customer");
  violations.push(...(await axe(page, "new goal form")));
  await shot(page, env("SHOT_DIR"), "new-goal-form");
  await form.getByRole("button", { name: "Create goal" }).click();
  await page.getByRole("heading", { name: env("GOAL_TITLE"), level: 1 }).waitFor();
  const goalId = page.url().split("/goals/")[1];
  violations.push(...(await axe(page, "new goal's page")));

  await page.getByRole("link", { name: "Add a sub-goal" }).click();
  await page.getByRole("heading", { name: `New sub-goal of ${env("GOAL_TITLE")}`, level: 1 }).waitFor();
  const sub = page.getByRole("form", { name: "New goal" });
  const subUnit = await sub.locator("select[name=unit_id]").inputValue();
  await sub.getByLabel("Title", { exact: true }).fill(env("SUB_TITLE"));
  await sub.locator("select[name=kpi]").selectOption({ label: `${env("KPI_NAME")} (${env("KPI_KEY")})` });
  await sub.getByLabel("Target", { exact: true }).fill("200");
  await sub.getByLabel("Due", { exact: true }).fill("2027-03-31");
  await sub.getByRole("button", { name: "Create goal" }).click();
  await page.getByRole("heading", { name: env("SUB_TITLE"), level: 1 }).waitFor();
  const subId = page.url().split("/goals/")[1];
  const crumbs = page.getByRole("navigation", { name: "Breadcrumb" });
  await crumbs.getByRole("link", { name: env("GOAL_TITLE") }).waitFor();
  const breadcrumb = await crumbs.innerText();
  violations.push(...(await axe(page, "sub-goal's page")));

  // Outside their unit: the api refuses what the form does not offer.
  const forced = await page.evaluate(async (unitId) => {
    const csrf = document.cookie.match(/northstar_csrf=([^;]+)/)?.[1] ?? "";
    const answer = await fetch("/v1/goals", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": decodeURIComponent(csrf) },
      body: JSON.stringify({ title: "Not mine", unit_id: unitId }),
    });
    return answer.status;
  }, env("OUTSIDE_UNIT_ID"));

  // The editor archives the sub-goal from its page, through the confirmation.
  const editor = await newPage(browser);
  await signIn(editor, base, env("EDITOR_EMAIL"), env("EDITOR_PASSWORD"));
  await editor.goto(`${base}/goals/${subId}`);
  await editor.getByRole("heading", { name: env("SUB_TITLE"), level: 1 }).waitFor();
  await editor.getByRole("button", { name: "Archive", exact: true }).click();
  const confirm = editor.getByRole("group", { name: `Archive ${env("SUB_TITLE")}?` });
  violations.push(...(await axe(editor, "archive confirmation")));
  await confirm.getByRole("button", { name: "Archive goal" }).click();
  await editor.getByTestId("archived").waitFor();
  await editor.goto(`${base}/`);
  await editor.locator("table.scorecard tbody tr").first().waitFor();
  const scorecardAfter = await scorecardStatuses(editor);

  // The editor adds a cycle and carries the lead's goal into it, targets at 120 %.
  await editor.getByRole("link", { name: "Cycles", exact: true }).click();
  const newCycle = editor.getByRole("form", { name: "New cycle" });
  await newCycle.getByLabel("Name", { exact: true }).fill(env("CYCLE_INTO"));
  await newCycle.getByLabel("Start", { exact: true }).fill("2027-04-01");
  await newCycle.getByLabel("Due", { exact: true }).fill("2027-06-30");
  await newCycle.getByRole("button", { name: "Add cycle" }).click();
  const cyclesTable = editor.getByTestId("cycles");
  await cyclesTable.getByRole("rowheader", { name: env("CYCLE_INTO") }).waitFor();
  const carry = editor.getByRole("form", { name: "Carry goals forward" });
  await carry.getByLabel("From cycle").selectOption({ label: env("CYCLE_FROM") });
  await carry.getByLabel("Into cycle").selectOption({ label: env("CYCLE_INTO") });
  await carry.getByLabel("Targets at (%)").fill("120");
  const offered = await carry.getByRole("checkbox").evaluateAll((boxes) => boxes.map((b) => b.value));
  violations.push(...(await axe(editor, "cycles")));
  await carry.getByRole("button", { name: "Carry forward" }).click();
  const carried = await carry.getByRole("status").innerText();
  return {
    unitsOffered,
    goalId,
    subId,
    subUnit,
    breadcrumb,
    forced,
    scorecardAfter,
    offered,
    carried,
    violations,
  };
}

// Owners are people (issue 24): the editor and the admin see the same owner name on a
// goal, in its facts and in the edit form's person picker; a viewer reads the people
// directory, which holds names and ids and no emails.
async function owners(browser) {
  const violations = [];
  const seen = {};
  for (const who of ["EDITOR", "ADMIN"]) {
    const page = await newPage(browser);
    await signIn(page, base, env(`${who}_EMAIL`), env(`${who}_PASSWORD`));
    await page.goto(`${base}/goals/${env("GOAL_ID")}`);
    const owner = page.getByTestId("owner");
    await owner.filter({ hasNotText: "…" }).waitFor();
    const picker = page.getByTestId("owner_id-picker");
    await picker.waitFor();
    await page.waitForFunction(() => document.querySelector("[data-testid=owner_id-picker]")?.value);
    seen[who.toLowerCase()] = { facts: await owner.innerText(), picker: await picker.inputValue() };
    violations.push(...(await axe(page, `goal page (${who.toLowerCase()})`)));
  }
  const viewer = await newPage(browser);
  await signIn(viewer, base, env("VIEWER_EMAIL"), env("VIEWER_PASSWORD"));
  const directory = await viewer.evaluate(async () => {
    const answer = await fetch("/v1/people?limit=1000", { credentials: "same-origin" });
    return { status: answer.status, body: await answer.json() };
  });
  return { seen, directory, violations };
}

// A roll-up goal's page (issue 24): its sub-goals worst first, sortable, its score over
// time, and a sentence that counts the children and names those pulling it down.
async function rollup(browser) {
  const violations = [];
  const page = await newPage(browser);
  await signIn(page, base, env("EDITOR_EMAIL"), env("EDITOR_PASSWORD"));
  await page.goto(`${base}/goals/${env("GOAL_ID")}`);
  const table = page.getByTestId("sub-goals");
  await table.locator("tbody tr").first().waitFor();
  await page.locator(".chart[data-rendered=true]").waitFor();
  const order = () => table.locator("tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.status));
  const worstFirst = await order();
  const titles = await table.locator("tbody th").allInnerTexts();
  const sentence = await page.getByTestId("status-explanation").innerText();
  violations.push(...(await axe(page, "roll-up goal")));
  await table.getByRole("button", { name: "Status" }).click();
  const reversed = await order();
  await table.getByRole("button", { name: "Score" }).click();
  const byScore = await table.locator("tbody th").allInnerTexts();
  const phone = await newPage(browser, { width: 390, height: 844 });
  await signIn(phone, base, env("EDITOR_EMAIL"), env("EDITOR_PASSWORD"));
  await phone.goto(`${base}/goals/${env("GOAL_ID")}`);
  await phone.getByTestId("sub-goals").locator("tbody tr").first().waitFor();
  violations.push(...(await axe(phone, "roll-up goal (phone)")));
  return { worstFirst, titles, sentence, reversed, byScore, violations };
}

/** An editor adds a SQL source: previews its rows, saves it, runs it and sees the run succeed. */
async function sources(browser) {
  const page = await newPage(browser);
  const violations = [];
  await signIn(page, base, env("EDITOR_EMAIL"), env("EDITOR_PASSWORD"));
  await page.getByRole("link", { name: "Sources", exact: true }).click();
  await page.getByRole("heading", { name: "Sources", level: 1 }).waitFor();
  const form = page.getByRole("form", { name: "New source" });
  await form.getByLabel("Name").fill(env("SOURCE_NAME"));
  await form.getByLabel("Kind").selectOption("sql");
  await form.getByLabel("Metric").fill(env("METRIC"));
  await form.getByLabel(/^Connection/).fill(env("SHOP_URL"));
  await form.getByLabel("Query").fill(env("QUERY"));
  await form.getByLabel("Every (ISO-8601) or cron").fill("PT1H");
  await form.getByLabel("Lookback").fill("PT6H");
  await form.getByRole("button", { name: "Preview" }).click();
  const preview = form.getByRole("region", { name: "Preview" });
  const summary = await form.getByRole("status").filter({ hasText: "events would be stored" }).innerText();
  const previewRows = await form.getByRole("region", { name: "Preview rows" }).locator("tbody tr").count();
  violations.push(...(await axe(page, "sources (preview)")));
  await preview.count();
  await form.getByRole("button", { name: "Save source" }).click();
  const table = page.getByRole("region", { name: "Sources table" });
  const row = table.getByRole("row").filter({ hasText: env("SOURCE_NAME") });
  await row.waitFor();
  await row.getByRole("button", { name: "Run now" }).click();
  const log = page.getByRole("table", { name: "Run log" });
  await log.getByTestId("run-status").filter({ hasText: "succeeded" }).first().waitFor({ timeout: 30_000 });
  const runLog = await log.innerText();
  violations.push(...(await axe(page, "sources (run log)")));
  const mainText = await page.locator("main").innerText();
  // Change it (the stored connection kept), pause it, delete it.
  const name = env("SOURCE_NAME");
  await row.getByRole("button", { name: `Change ${name}` }).click();
  const change = page.getByRole("form", { name: `Change source ${name}` });
  const keptQuery = await change.getByLabel("Query").inputValue();
  await change.getByLabel("Every (ISO-8601) or cron").fill("PT2H");
  violations.push(...(await axe(page, "sources (change)")));
  if (process.env.SHOTS) await shot(page, process.env.SHOTS, "source-change", page.locator("main"));
  await change.getByRole("button", { name: "Save changes" }).click();
  await change.waitFor({ state: "detached" });
  await row.getByRole("cell", { name: "every PT2H" }).waitFor();
  await row.getByRole("button", { name: `Pause ${name}` }).click();
  await row.getByTestId(`health-${name}`).filter({ hasText: "paused" }).waitFor();
  await row.getByRole("button", { name: `Delete ${name}` }).click();
  await row.getByRole("button", { name: "Delete source" }).click();
  await row.waitFor({ state: "detached" });
  return {
    summary,
    previewRows,
    runLog,
    keptQuery,
    secretShown: mainText.includes(env("SHOP_SECRET")),
    violations,
  };
}

/** A PNG of one part of the page (or the whole page), for a person to look at. */
// Single sign-on (tests/sso): "Sign in with …" on the sign-in page, the provider's own
// login and consent screens, back in the app signed in; then signing out here sends the
// browser to the provider's sign-out.
async function sso(browser) {
  const page = await newPage(browser);
  const dir = process.env.SHOTS;
  await page.goto(`${base}/`);
  const choice = page.getByRole("link", { name: `Sign in with ${env("PROVIDER_NAME")}` });
  await choice.waitFor();
  const violations = await axe(page, "sign-in with a provider");
  if (dir) await shot(page, dir, "sign-in");
  await choice.click();
  await page.locator("input[name=login]").fill(env("IDP_LOGIN"));
  const providerLogin = page.url();
  await page.getByRole("button", { name: "Continue" }).click();
  await page.locator("input[name=password]").fill(env("IDP_PASSWORD"));
  await page.getByRole("button", { name: "Sign in" }).click();
  // The consent screen, unless the provider remembers a consent to this application.
  const main = page.getByRole("navigation", { name: "Main" });
  await page.locator("#accept").or(main).first().waitFor();
  if (await page.locator("#accept").count()) await page.locator("#accept").click();
  await main.waitFor();
  if (dir) await shot(page, dir, "signed-in");
  const landed = page.url();
  const signedInAs = await page.getByTestId("signed-in-as").innerText();
  const me = await page.evaluate(async () => (await fetch("/v1/me", { credentials: "same-origin" })).json());
  // The provider signs the person out and sends the browser straight back (it knows the
  // session from the ID token hint): every page the browser was on is recorded.
  const visited = [];
  page.on("request", (request) => {
    if (request.isNavigationRequest() && request.frame() === page.mainFrame())
      visited.push(request.url());
  });
  await page.getByRole("button", { name: "Sign out" }).click();
  const atProvider = () => visited.some((u) => u.startsWith(new URL(providerLogin).origin));
  await page.waitForURL((url) => atProvider() && url.origin === new URL(base).origin);
  await choice.waitFor();
  return { providerLogin, landed, signedInAs, me, visited, violations };
}

// Issue 29: a scorecard of ROWS goals draws only the rows in view, yet tells assistive
// technology its real size, and the keyboard reaches every goal: End on a goal's link
// focuses the last goal, Arrow Up the one before it, Home the first again; a scroll of the
// box to the bottom draws the last rows. SHOTS: PNGs at the top and at the bottom.
async function windowed(browser) {
  const page = await newPage(browser);
  const dir = process.env.SHOTS;
  const rows = Number(env("ROWS"));
  await signIn(page, base, env("EMAIL"), env("PASSWORD"));
  const table = page.locator("table.scorecard");
  await table.locator("tbody tr[data-goal-id]").first().waitFor();
  const drawn = () => table.locator("tbody tr[data-goal-id]").count();
  const focused = () =>
    page.evaluate(() => {
      const row = document.activeElement?.closest("tr[data-goal-id]");
      return row ? { rowindex: row.getAttribute("aria-rowindex"), title: document.activeElement.textContent } : null;
    });
  const summary = await page.getByTestId("scorecard-summary").innerText();
  const rowcount = await table.getAttribute("aria-rowcount");
  const drawnAtTop = await drawn();
  const firstRowindex = await table.locator("tbody tr[data-goal-id]").first().getAttribute("aria-rowindex");
  if (dir) await shot(page, dir, "windowed-top");
  const violations = await axe(page, "scorecard (1,000 goals)");

  await table.locator("tbody tr[data-goal-id] a").first().focus();
  await page.keyboard.press("ArrowDown");
  const afterArrowDown = await focused();
  await page.keyboard.press("End");
  await page.waitForFunction(
    (n) => document.activeElement?.closest("tr")?.getAttribute("aria-rowindex") === String(n + 1),
    rows,
  );
  const afterEnd = await focused();
  const drawnAtEnd = await drawn();
  await page.keyboard.press("ArrowUp");
  const afterArrowUp = await focused();
  if (dir) await shot(page, dir, "windowed-bottom");
  violations.push(...(await axe(page, "scorecard (1,000 goals, at the bottom)")));
  await page.keyboard.press("Home");
  await page.waitForFunction(() => document.activeElement?.closest("tr")?.getAttribute("aria-rowindex") === "2");
  const afterHome = await focused();

  // A mouse or scroll-bar user: the box scrolled to the bottom draws the last goal.
  await page.locator(".table-scroll.windowed").evaluate((box) => {
    box.scrollTop = box.scrollHeight;
  });
  const last = table.locator(`tbody tr[aria-rowindex="${rows + 1}"]`);
  await last.waitFor();
  const lastAfterScroll = await last.locator("a").innerText();
  return {
    summary,
    rowcount,
    drawnAtTop,
    firstRowindex,
    afterArrowDown,
    afterEnd,
    drawnAtEnd,
    afterArrowUp,
    afterHome,
    lastAfterScroll,
    violations,
  };
}

async function shot(page, dir, name, locator) {
  await (locator ?? page).screenshot({ path: `${dir}/${name}.png` });
}

const STORIES = {
  lead,
  ceo,
  admin,
  viewer,
  notifications,
  setup,
  owners,
  rollup,
  sso,
  sources,
  windowed,
};
const story = STORIES[process.argv[2]];
if (!story) {
  console.error(`usage: node e2e/stories.mjs ${Object.keys(STORIES).join("|")}`);
  process.exit(2);
}
const browser = await launch();
try {
  console.log(JSON.stringify(await story(browser)));
} finally {
  await browser.close();
}

// `make bench` (bench/web.py): for RUNS page loads after sign-in, as one JSON line,
// milliseconds from navigation start until the scorecard is ready: its first screen of
// rows drawn AND the table knowing all ROWS goals. A table that draws only the rows on
// screen says how many it has in `aria-rowcount` (ROWS + 1, the header row counts); one
// that draws every row (the scorecard before issue 29) is ready once all ROWS are in the
// DOM, so the same script measures either. Also per load: when the `GET /v1/me` and
// `GET /v1/goals/tree` responses ended (Resource Timing, same clock), and how long a
// scroll to the bottom takes to show the last goal; and the goal rows in the DOM when ready.
import { launch, newPage, signIn } from "./browser.mjs";

const { NORTHSTAR_URL: base, EMAIL, PASSWORD } = process.env;
const rows = Number(process.env.ROWS);
const runs = Number(process.env.RUNS ?? 5);

/** In the page: performance.now() once the scorecard is ready, else false. */
function ready(n) {
  const table = document.querySelector("table.scorecard");
  if (!table) return false;
  const drawn = table.querySelectorAll("tbody tr[data-goal-id]");
  if (drawn.length >= n) return performance.now();
  if (table.getAttribute("aria-rowcount") !== String(n + 1) || drawn.length === 0) return false;
  // The first screen: drawn rows reach the bottom of what the scroll box shows.
  const box = table.closest(".table-scroll").getBoundingClientRect();
  const bottom = Math.min(box.bottom, window.innerHeight);
  return drawn[drawn.length - 1].getBoundingClientRect().bottom >= bottom ? performance.now() : false;
}

/** In the page: scroll the page and the table's box to the bottom; resolves with the
 * milliseconds until the last goal is drawn inside the visible area. */
function scrollToLast(n) {
  const box = document.querySelector("table.scorecard").closest(".table-scroll");
  const started = performance.now();
  document.scrollingElement.scrollTop = document.scrollingElement.scrollHeight;
  box.scrollTop = box.scrollHeight;
  return new Promise((resolve, reject) => {
    const deadline = started + 10_000;
    (function poll() {
      const last = document.querySelector(`table.scorecard tbody tr[aria-rowindex="${n + 1}"]`)
        ?? document.querySelectorAll("table.scorecard tbody tr[data-goal-id]")[n - 1];
      const shown = last && last.getBoundingClientRect().bottom <= window.innerHeight + 1
        && last.getBoundingClientRect().bottom <= box.getBoundingClientRect().bottom + 1;
      if (shown) return resolve(performance.now() - started);
      if (performance.now() > deadline) return reject(new Error("last row never shown"));
      requestAnimationFrame(poll);
    })();
  });
}

/** In the page: when each response ended (ms since navigation start), or null. */
function responseEnds(paths) {
  const entries = performance.getEntriesByType("resource");
  return paths.map((path) => entries.find((e) => new URL(e.name).pathname === path)?.responseEnd ?? null);
}

const browser = await launch();
try {
  const page = await newPage(browser);
  await signIn(page, base, EMAIL, PASSWORD);
  const times = [];
  const scroll = [];
  const me = [];
  const tree = [];
  let drawn = 0;
  for (let run = 0; run <= runs; run++) {
    await page.goto(`${base}/`);
    const rendered = await page.waitForFunction(ready, rows, { polling: "raf", timeout: 60_000 });
    const at = await rendered.jsonValue();
    const parts = await page.evaluate(responseEnds, ["/v1/me", "/v1/goals/tree"]);
    drawn = await page.locator("table.scorecard tbody tr[data-goal-id]").count();
    const scrolled = await page.evaluate(scrollToLast, rows);
    if (run > 0) {
      // run 0 warms the caches
      times.push(at);
      me.push(parts[0]);
      tree.push(parts[1]);
      scroll.push(scrolled);
    }
  }
  console.log(JSON.stringify({ times, scroll, me, tree, drawn }));
} finally {
  await browser.close();
}

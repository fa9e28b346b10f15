// `make bench` (bench/web.py): milliseconds from navigation start until the scorecard has
// rendered ROWS rows, for RUNS page loads after sign-in, as one JSON line.
import { launch, newPage, signIn } from "./browser.mjs";

const { NORTHSTAR_URL: base, EMAIL, PASSWORD } = process.env;
const rows = Number(process.env.ROWS);
const runs = Number(process.env.RUNS ?? 5);

const browser = await launch();
try {
  const page = await newPage(browser);
  await signIn(page, base, EMAIL, PASSWORD);
  const times = [];
  for (let run = 0; run <= runs; run++) {
    await page.goto(`${base}/`);
    const rendered = await page.waitForFunction(
      (n) =>
        document.querySelectorAll("table.scorecard tbody tr").length >= n ? performance.now() : false,
      rows,
      { polling: "raf", timeout: 60_000 },
    );
    if (run > 0) times.push(await rendered.jsonValue()); // run 0 warms the caches
  }
  console.log(JSON.stringify({ times }));
} finally {
  await browser.close();
}

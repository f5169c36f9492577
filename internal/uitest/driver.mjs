// Drives headless Chromium (Debian's, through playwright-core) over the test
// host page and prints what it saw as one JSON object on the last line of
// stdout. The Go test (uitest_test.go) judges it against the server's own
// results; this script only acts and observes, and fails only when a step
// cannot be carried out.
//
// Environment: UITEST_MODULES (node_modules holding playwright-core),
// UITEST_CHROMIUM, UITEST_HOST (the host page's origin), UITEST_ARTIFACTS
// (screenshots go here), UITEST_PROFILE (an empty user data directory),
// UITEST_COMPANY, UITEST_CHECK (JSON: {tool, arguments}).
import { createRequire } from "node:module";
import path from "node:path";

const env = (k) => {
  if (!process.env[k]) throw new Error(k + " is not set");
  return process.env[k];
};
const require = createRequire(path.join(env("UITEST_MODULES"), "noop.js"));
const { chromium } = require("playwright-core");

const hostURL = env("UITEST_HOST");
const shots = env("UITEST_ARTIFACTS");
const report = { requests: [], console: [], steps: [] };
const step = (s) => report.steps.push(s);

const context = await chromium.launchPersistentContext(env("UITEST_PROFILE"), {
  executablePath: env("UITEST_CHROMIUM"),
  headless: true,
  // Without the networking flags Chromium reaches for the internet at
  // start (updates, sync, field trials).
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
  // Tall enough for the whole view: Chromium paints an iframe's content
  // only within the viewport, even in a full-page screenshot.
  viewport: { width: 900, height: 2600 },
});
try {
  context.on("request", (r) => report.requests.push(r.url()));
  const page = context.pages()[0] || (await context.newPage());
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") report.console.push({ type: m.type(), text: m.text() });
  });
  page.on("response", (r) => { if (r.status() >= 400) report.console.push({ type: "error", text: `HTTP ${r.status()} for ${r.url()}` }); });
  page.on("pageerror", (e) => report.console.push({ type: "pageerror", text: String(e) }));

  await page.goto(hostURL + "/host.html");
  await page.waitForFunction(() => window.hostReady === true, null, { timeout: 30000 });
  report.tools = await page.evaluate(() => window.hostTools);
  report.resources = await page.evaluate(() => window.hostResources);
  const view = page.frameLocator("#view");
  const inView = async (fn, arg) => page.frame({ url: /^about:srcdoc/ }).evaluate(fn, arg);

  // 1. A search result as a timeline.
  const company = env("UITEST_COMPANY");
  await page.evaluate((company) => window.host.show({
    tool: "search_certifications", arguments: { company, max_results: 200 }, theme: "light", width: 820,
  }), company);
  await view.locator("#timeline .cert").first().waitFor();
  step("search shown");
  report.bars = await view.locator("#timeline .cert").evaluateAll((els) => els.map((e) => ({
    id: e.dataset.id, state: e.dataset.state, text: e.textContent, label: e.getAttribute("aria-label"),
    barWidth: e.querySelector(".bar").getBoundingClientRect().width,
  })));
  report.counts = await view.locator("#timeline [data-count]").evaluateAll((els) =>
    Object.fromEntries(els.map((e) => [e.dataset.count, e.textContent])));
  report.title = await view.locator("#title").textContent();
  report.todayLabel = await view.locator(".axis .now").textContent();
  await page.screenshot({ path: path.join(shots, "search-light.png"), fullPage: true });

  // 2. Keyboard: Tab into the view to an expired certificate, Enter opens its
  // record (fetched through the host), Escape closes it and gives focus back.
  const expired = view.locator('#timeline .cert[data-state="expired"]').first();
  const expiredId = await expired.getAttribute("data-id");
  await expired.focus();
  await page.keyboard.press("Enter");
  await view.locator('#detail[data-state="loaded"]').waitFor({ timeout: 30000 });
  step("detail loaded");
  report.detail = {
    requested: expiredId,
    shownFor: await view.locator("#detail").getAttribute("data-cert-id"),
    summary: await view.locator("#detail-summary dd").evaluateAll((els) => Object.fromEntries(els.map((e) => [e.dataset.key, e.textContent]))),
    fields: await view.locator("#detail-fields dt").count(),
    focusedTitle: await inView(() => document.activeElement && document.activeElement.id),
  };
  report.calls = await page.evaluate(() => window.hostLog.calls);
  await page.screenshot({ path: path.join(shots, "search-detail.png"), fullPage: true });
  await page.keyboard.press("Escape");
  await view.locator("#detail").waitFor({ state: "hidden" });
  report.detail.focusBack = await inView(() => document.activeElement && document.activeElement.dataset.id);

  // 3. Filters: turning "expired" off hides exactly the expired rows.
  await view.locator('[data-filter="expired"]').click();
  report.afterFilter = await view.locator("#timeline li:not([hidden]) .cert").evaluateAll((els) => els.map((e) => e.dataset.state));
  await view.locator('[data-filter="expired"]').click();

  // 4. The host switches to dark, then narrows the view.
  const bg = () => inView(() => getComputedStyle(document.documentElement).backgroundColor);
  report.theme = { light: await bg() };
  await page.evaluate(() => window.host.setTheme("dark"));
  await page.waitForFunction(() => {
    const f = document.getElementById("view");
    return f && window.hostLog.sizes.length > 0;
  });
  await view.locator('html[data-theme="dark"]').waitFor({ state: "attached" });
  report.theme.dark = await bg();
  await page.screenshot({ path: path.join(shots, "search-dark.png"), fullPage: true });
  const sizesBefore = await page.evaluate(() => window.hostLog.sizes.length);
  await page.evaluate(() => window.host.setWidth(360));
  await page.waitForFunction((n) => window.hostLog.sizes.length > n, sizesBefore);
  await page.waitForTimeout(200);
  report.narrow = await inView(() => ({
    width: document.documentElement.clientWidth, scrollWidth: document.documentElement.scrollWidth,
  }));
  report.sizes = await page.evaluate(() => window.hostLog.sizes);
  report.iframeHeight = await page.evaluate(() => document.getElementById("view").getBoundingClientRect().height);
  await page.screenshot({ path: path.join(shots, "search-narrow-dark.png"), fullPage: true });

  // 5. A check_certifications result: one row per company, sortable and
  // filterable; a best certificate opens its record.
  const check = JSON.parse(env("UITEST_CHECK"));
  await page.evaluate((check) => window.host.show({ ...check, theme: "light", width: 820 }), check);
  await view.locator("#checks tbody tr").first().waitFor();
  step("check shown");
  const rows = () => view.locator("#checks tbody tr").evaluateAll((els) => els.map((e) => ({
    company: e.dataset.company, verdict: e.dataset.verdict, text: e.querySelector("td:nth-child(2)").textContent,
  })));
  report.rows = await rows();
  await page.screenshot({ path: path.join(shots, "check-light.png"), fullPage: true });
  await page.evaluate(() => window.host.setWidth(360));
  await page.waitForFunction(() => document.getElementById("view").getBoundingClientRect().width <= 362);
  await page.waitForTimeout(200);
  report.narrowCheck = await inView(() => ({
    width: document.documentElement.clientWidth, scrollWidth: document.documentElement.scrollWidth,
  }));
  await page.screenshot({ path: path.join(shots, "check-narrow.png"), fullPage: true });
  await page.evaluate(() => window.host.setWidth(820));
  await view.locator('th[data-key="company"] button').click();
  report.sortedByCompany = (await rows()).map((r) => r.company);
  report.sortState = await view.locator('th[data-key="company"]').getAttribute("aria-sort");
  await view.locator("select").selectOption("valid");
  report.filteredValid = (await rows()).map((r) => r.verdict);
  await view.locator("select").selectOption("");
  const firstBest = view.locator("#checks tbody td:nth-child(3) button").first();
  await firstBest.click();
  await view.locator('#detail[data-state="loaded"]').waitFor({ timeout: 30000 });
  report.checkDetail = await view.locator("#detail").getAttribute("data-cert-id");
  await view.locator("#checks tbody td:first-child button").first().click();
  report.companyBars = await view.locator("#company .cert").count();
  await page.screenshot({ path: path.join(shots, "check-detail.png"), fullPage: true });
  report.callsTotal = await page.evaluate(() => window.hostLog.calls);
  report.initialized = await page.evaluate(() => window.hostLog.initialized);
} catch (err) {
  report.failure = String(err && err.stack || err);
  // What the page looked like when it stopped, and what the host logged.
  const page = context.pages()[0];
  if (page) {
    await page.screenshot({ path: path.join(shots, "failure.png"), fullPage: true }).catch(() => {});
    report.hostLog = await page.evaluate(() => window.hostLog).catch(() => null);
  }
} finally {
  await context.close();
}
console.log(JSON.stringify(report));

// Signs in on the page in Chromium, as a person would, and reports what the
// API answered to each run of calls: alice calls every route; she signs in to
// the organization acme and calls them again, then the organization's routes
// on globex's paths; then bob signs in to globex and calls every route. The Go test (cmd/apictl) checks each
// status against the access matrix, for the path the page called.
// Environment: PAGE_URL, CHROMIUM (the browser binary), SCREENSHOT (where to
// save the page as bob sees it last; none when unset).
import { chromium } from "playwright-core";

const { PAGE_URL, CHROMIUM, SCREENSHOT } = process.env;
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  // As root in a container, and with no network but loopback: no sandbox, and
  // none of Chromium's own background traffic.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = { runs: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
  page.setDefaultTimeout(15000);
  await page.goto(PAGE_URL);

  async function signIn(name) {
    await page.click("#sign-in");
    await page.getByRole("button", { name: new RegExp("^" + name) }).click();
    await page.waitForFunction((n) => document.querySelector("#who")?.textContent === "Signed in as " + n, name);
  }
  // A new sign-in with organization: the dev issuer's session answers at once.
  async function signInTo(organization) {
    await page.fill("#organization", organization);
    await page.getByRole("button", { name: "Sign in to it" }).click();
    await page.waitForFunction((o) => document.querySelector("#org")?.textContent === "in " + o, organization);
  }
  async function run(name, user, organization, pathOrganization, rows = "tbody#routes tr") {
    result.runs.push({ name, user, organization, pathOrganization, ...(await callEveryRoute(rows)) });
  }
  // Clicks "Call every route", as a person would, then waits for every
  // answer, and reads the status, explanation and path of each route that
  // selector names. (The first call of all, below, clicks a row's own button.)
  async function callEveryRoute(selector) {
    await page.click("#call-all");
    const rows = "tbody#routes tr";
    await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((row) => /^(\d+|—)$/.test(row.querySelector("td.status")?.textContent ?? "")), rows);
    return page.evaluate((sel) => {
      const statuses = {};
      const explanations = {};
      const paths = {};
      for (const row of document.querySelectorAll(sel)) {
        statuses[row.dataset.route] = Number(row.querySelector("td.status").textContent);
        explanations[row.dataset.route] = [...row.querySelectorAll(".explain")].map((el) => el.textContent).join(" ");
        paths[row.dataset.route] = row.dataset.path;
      }
      return { statuses, explanations, paths };
    }, selector);
  }

  const started = Date.now();
  await signIn("Alice");
  const first = page.locator("tbody#routes tr").first();
  await first.getByRole("button").click();
  await page.waitForFunction((el) => /^\d+$/.test(el.textContent ?? ""), await first.locator("td.status").elementHandle());
  result.signInToFirstAnswerMs = Date.now() - started;
  await run("alice", "Alice", "", "");
  result.tokenShown = (await page.locator("#claims").textContent())?.includes("eyJ") ?? false;
  await signInTo("acme");
  await run("alice in acme", "Alice", "acme", "org_acme000000000001");
  await page.fill("#path-org", "org_globex0000000002");
  await run("alice in acme, on globex's paths", "Alice", "acme", "org_globex0000000002", "tbody#routes tr[data-organization]");

  await page.click("#sign-out");
  await page.waitForFunction(() => document.querySelector("#who")?.textContent === "Not signed in");
  await page.fill("#organization", "globex");
  await signIn("Bob");
  await run("bob in globex", "Bob", "globex", "org_globex0000000002");
  result.tokenShown ||= (await page.locator("#claims").textContent())?.includes("eyJ") ?? false;
  if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT, fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));

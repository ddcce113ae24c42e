// Signs in on the page in Chromium, as a person would, and reports what the
// API answered: alice calls every route; then bob signs in and calls them
// again. The Go test (cmd/apictl) checks the statuses against the access
// matrix. Environment: PAGE_URL, CHROMIUM (the browser binary), SCREENSHOT
// (where to save the page as bob sees it; none when unset).
import { chromium } from "playwright-core";

const { PAGE_URL, CHROMIUM, SCREENSHOT } = process.env;
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  // As root in a container, and with no network but loopback: no sandbox, and
  // none of Chromium's own background traffic.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = { users: {} };
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
  page.setDefaultTimeout(15000);
  await page.goto(PAGE_URL);

  async function signIn(name) {
    await page.click("#sign-in");
    await page.getByRole("button", { name: new RegExp("^" + name) }).click();
    await page.waitForFunction((n) => document.querySelector("#who")?.textContent === "Signed in as " + n, name);
  }
  // Clicks every route's Call button, as a person would, then waits once
  // for every answer, and reads each status and explanation.
  async function callEveryRoute() {
    const rows = await page.locator("tbody#routes tr").all();
    for (const row of rows) {
      await row.getByRole("button", { name: "Call " + (await row.getAttribute("data-route")) }).click();
    }
    await page.waitForFunction(() => [...document.querySelectorAll("tbody#routes td.status")].every((el) => /^(\d+|—)$/.test(el.textContent ?? "")));
    return page.evaluate(() => {
      const statuses = {};
      const explanations = {};
      for (const row of document.querySelectorAll("tbody#routes tr")) {
        statuses[row.dataset.route] = Number(row.querySelector("td.status").textContent);
        explanations[row.dataset.route] = [...row.querySelectorAll(".explain")].map((el) => el.textContent).join(" ");
      }
      return { statuses, explanations };
    });
  }

  const started = Date.now();
  await signIn("Alice");
  const first = page.locator("tbody#routes tr").first();
  await first.getByRole("button").click();
  await page.waitForFunction((el) => /^\d+$/.test(el.textContent ?? ""), await first.locator("td.status").elementHandle());
  result.signInToFirstAnswerMs = Date.now() - started;
  result.users.alice = await callEveryRoute();
  result.users.alice.tokenShown = (await page.locator("#claims").textContent())?.includes("eyJ") ?? false;

  await page.click("#sign-out");
  await page.waitForFunction(() => document.querySelector("#who")?.textContent === "Not signed in");
  await signIn("Bob");
  result.users.bob = await callEveryRoute();
  if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT, fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));

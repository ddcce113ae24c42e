// Signs in on the page in Chromium, as a person would, and reports what the
// API answered: alice calls every route; then bob signs in and calls them
// again. The Go test (cmd/apictl) checks the statuses against the access
// matrix. Environment: PAGE_URL, CHROMIUM (the browser binary), SCREENSHOT
// (where to save the page as bob sees it).
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
  async function callEveryRoute() {
    const statuses = {};
    const explanations = {};
    for (const row of await page.locator("tbody#routes tr").all()) {
      const route = await row.getAttribute("data-route");
      await row.getByRole("button", { name: "Call " + route }).click();
      const status = row.locator("td.status");
      await page.waitForFunction((el) => el.textContent !== "…" && el.textContent !== "", await status.elementHandle());
      statuses[route] = Number(await status.textContent());
      explanations[route] = (await row.locator(".explain").allTextContents()).join(" ");
    }
    return { statuses, explanations };
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

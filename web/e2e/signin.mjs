// Signs in on the page in Chromium, as a person would, and reports what the
// API answered to each run of calls: alice calls every route; she signs in to
// the organization acme and calls them again, then the organization's routes
// on globex's paths; then bob signs in to globex and calls every route.
// Meanwhile, in a browser context of its own, alice signs in on the page of a
// stage that requires DPoP and calls every route with proofs. The Go test (cmd/apictl)
// checks each status against the access matrix, for the path the page called.
// Environment: PAGE_URL, DPOP_PAGE_URL, CHROMIUM (the browser binary),
// SCREENSHOT (where to save the page as bob sees it; none when unset).
import { chromium } from "playwright-core";

const { PAGE_URL, DPOP_PAGE_URL, CHROMIUM, SCREENSHOT } = process.env;
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  // As root in a container, and with no network but loopback: no sandbox, and
  // none of Chromium's own background traffic.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = { runs: [] };
try {
  // A page of a browser context of its own, and what a person does on it:
  // the two dev issuers are both on 127.0.0.1, whose cookies take no port,
  // so each page's sign-in session needs a cookie jar of its own.
  async function open(url) {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    page.setDefaultTimeout(15000);
    await page.goto(url);
    return {
      page,
      async signIn(name) {
        await page.click("#sign-in");
        await page.getByRole("button", { name: new RegExp("^" + name) }).click();
        await page.waitForFunction((n) => document.querySelector("#who")?.textContent === "Signed in as " + n, name);
      },
      // A new sign-in with organization: the dev issuer's session answers at once.
      async signInTo(organization) {
        await page.fill("#organization", organization);
        await page.getByRole("button", { name: "Sign in to it" }).click();
        await page.waitForFunction((o) => document.querySelector("#org")?.textContent === "in " + o, organization);
      },
      // Clicks "Call every route", as a person would, then waits for every
      // answer, and reads the status, explanation and path of each route
      // that selector names. (The first call of all, below, clicks a row's
      // own button.)
      async run(name, user, organization, pathOrganization, selector = "tbody#routes tr") {
        await page.click("#call-all");
        const rows = "tbody#routes tr";
        await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((row) => /^(\d+|—)$/.test(row.querySelector("td.status")?.textContent ?? "")), rows);
        const answers = await page.evaluate((sel) => {
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
        return { name, user, organization, pathOrganization, ...answers };
      },
      async tokenShown() {
        return (await page.locator("#claims").textContent())?.includes("eyJ") ?? false;
      },
    };
  }

  const dev = await open(PAGE_URL);
  const started = Date.now();
  await dev.signIn("Alice");
  const first = dev.page.locator("tbody#routes tr").first();
  await first.getByRole("button").click();
  await dev.page.waitForFunction((el) => /^\d+$/.test(el.textContent ?? ""), await first.locator("td.status").elementHandle());
  result.signInToFirstAnswerMs = Date.now() - started;
  // On a stage that requires DPoP, beside the other: alice signs in, and
  // calls every route with proofs.
  const dpopRun = (async () => {
    const dpop = await open(DPOP_PAGE_URL);
    await dpop.signIn("Alice");
    const run = await dpop.run("alice, DPoP", "Alice", "", "");
    return { run, binding: await dpop.page.locator("#binding").textContent(), tokenShown: await dpop.tokenShown() };
  })();
  dpopRun.catch(() => {}); // awaited below, where a failure fails the run

  result.runs.push(await dev.run("alice", "Alice", "", ""));
  result.tokenShown = await dev.tokenShown();
  await dev.signInTo("acme");
  result.runs.push(await dev.run("alice in acme", "Alice", "acme", "org_acme000000000001"));
  await dev.page.fill("#path-org", "org_globex0000000002");
  result.runs.push(await dev.run("alice in acme, on globex's paths", "Alice", "acme", "org_globex0000000002", "tbody#routes tr[data-organization]"));

  await dev.page.click("#sign-out");
  await dev.page.waitForFunction(() => document.querySelector("#who")?.textContent === "Not signed in");
  await dev.page.fill("#organization", "globex");
  await dev.signIn("Bob");
  result.runs.push(await dev.run("bob in globex", "Bob", "globex", "org_globex0000000002"));
  result.tokenShown ||= await dev.tokenShown();
  if (SCREENSHOT) await dev.page.screenshot({ path: SCREENSHOT, fullPage: true });

  const dpop = await dpopRun;
  result.runs.push(dpop.run);
  result.binding = dpop.binding;
  result.tokenShown ||= dpop.tokenShown;
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));

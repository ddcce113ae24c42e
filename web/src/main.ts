// The page signs in with Auth0's own SPA library (authorization code + PKCE)
// and calls every route of the stage with the user's access token. It writes
// no OAuth code of its own, and never shows or stores the raw token.
import { createAuth0Client, type Auth0Client } from "@auth0/auth0-spa-js";
import "./style.css";

/** A route as the page shows and calls it, read from the stage's OpenAPI document. */
interface Route {
  key: string;
  method: string;
  samplePath: string;
  auth: "NONE" | "JWT" | "LAMBDA";
  requires: string[];
  /** What requires lists: Auth0 RBAC permissions, or scopes. */
  requiresKind: "permission" | "scope";
  /** The path parameter that must equal the token's org_id, for a route bound to the caller's organization. */
  orgParameter?: string;
  /** The route takes a token of any organization, but not of none. */
  anyOrganization?: boolean;
  /** The path template, to put an organization's ID into. */
  path: string;
}

/** config.json: one build of the page serves every stage. */
interface Config {
  stage: string;
  domain: string;
  clientId: string;
  audience: string;
  apiUrl: string;
  scope: string;
  /** The stage requires DPoP: tokens bound to this browser's key, a proof with each call. */
  dpop: boolean;
}

/** The part of an OpenAPI 3.1 operation the page reads (`apictl openapi` writes it). */
interface Operation {
  security: Record<string, string[]>[];
  parameters?: { name: string; in: string; example: string }[];
  "x-permissions"?: string[];
  "x-organization"?: { claim: string; pathParameter?: string; anyOrganization?: boolean };
}

/**
 * The routes of the stage's OpenAPI document, the one derived description of
 * the API: security [] is public, x-permissions is the permissions
 * authorizer's, and each security entry's scopes are alternatives.
 */
function routesOf(doc: { paths: Record<string, Record<string, Operation>> }): Route[] {
  const routes: Route[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const permissions = op["x-permissions"];
      const organization = op["x-organization"];
      const auth = op.security.length === 0 ? "NONE" : permissions || organization ? "LAMBDA" : "JWT";
      const scopes = [...new Set(op.security.flatMap((requirement) => Object.values(requirement).flat()))];
      let samplePath = path;
      for (const p of op.parameters ?? []) if (p.in === "path") samplePath = samplePath.replace(`{${p.name}}`, p.example);
      const upper = method.toUpperCase();
      routes.push({
        key: `${upper} ${path}`, method: upper, samplePath, path, auth, requires: permissions ?? scopes, requiresKind: permissions ? "permission" : "scope",
        orgParameter: organization?.pathParameter, anyOrganization: organization?.anyOrganization,
      });
    }
  }
  return routes.sort((a, b) => (a.key < b.key ? -1 : 1));
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** The route's sample path with pathOrg in its organization's segment, when it has one. */
function pathFor(route: Route, pathOrg: string): string {
  if (!route.orgParameter || !pathOrg) return route.samplePath;
  const template = route.path.split("/");
  const sample = route.samplePath.split("/");
  const i = template.indexOf(`{${route.orgParameter}}`);
  if (i >= 0) sample[i] = encodeURIComponent(pathOrg);
  return sample.join("/");
}

function notice(message: string) {
  const el = $("notice");
  el.textContent = message;
  el.hidden = message === "";
}

/** A paragraph of plain text in which `backticked` words are set as code. */
function explanation(text: string): HTMLParagraphElement {
  const p = Object.assign(document.createElement("p"), { className: "explain" });
  text.split("`").forEach((part, i) => p.append(i % 2 ? Object.assign(document.createElement("code"), { textContent: part }) : part));
  return p;
}

function chips(el: HTMLElement, values: string[]) {
  el.replaceChildren(
    ...(values.length ? values : ["none"]).map((v) => Object.assign(document.createElement("span"), { className: "chip", textContent: v })),
  );
}

/** The token's claims, for display only: the signature is the API's business. */
function decodeClaims(token: string): Record<string, unknown> {
  const payload = token.split(".")[1] ?? "";
  const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(payload.length / 4) * 4, "="));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
}

const sessionErrors = new Set(["login_required", "missing_refresh_token", "invalid_grant", "consent_required"]);

/** The organization a token is for: its org_id, and org_name when the tenant adds it. */
function organizationOf(claims: Record<string, unknown> | undefined): { id: string; name: string } | undefined {
  const id = claims?.org_id;
  if (typeof id !== "string" || id === "") return undefined;
  return { id, name: typeof claims?.org_name === "string" ? claims.org_name : id };
}

/** What the user needs to know about a status, in plain words. */
function explain(route: Route, status: number, signedIn: boolean, claims: Record<string, unknown> | undefined, pathOrg: string): string {
  const needs = route.requires.map((r) => "`" + r + "`").join(" or ");
  const kind = route.requiresKind;
  switch (status) {
    case 401:
      return signedIn
        ? "401: the API did not accept your token. It may have expired, or be for another API (audience). Sign in again."
        : "401: this route needs a token. Sign in first.";
    case 403: {
      const organization = organizationOf(claims);
      if ((route.orgParameter || route.anyOrganization) && !organization) {
        return "403: this route is bound to the caller's organization, and your token is for none. Sign in to one of your organizations.";
      }
      if (route.orgParameter && organization && pathOrg !== organization.id) {
        return `403: the path names the organization \`${pathOrg}\`, and your token is for \`${organization.id}\` (${organization.name}): a member of one organization never reaches another's data.`;
      }
      const held = kind === "permission" ? (claims?.permissions as string[] | undefined) ?? [] : String(claims?.scope ?? "").split(" ");
      if (route.requires.length && !route.requires.some((r) => held.includes(r))) {
        return `403: your token has no ${kind} ${needs}; ask an admin to grant it, then sign in again.`;
      }
      return "403: the API refused your token for this route.";
    }
    default:
      return "";
  }
}

async function main() {
  let config: Config;
  let routes: Route[];
  try {
    const [configFile, doc] = await Promise.all(
      ["config.json", "openapi.json"].map(async (file) => {
        const response = await fetch("/" + file, { cache: "no-store" });
        if (!response.ok) throw new Error(`${file}: status ${response.status}`);
        return response.json();
      }),
    );
    config = configFile;
    routes = routesOf(doc);
  } catch (e) {
    notice(`This page has no configuration (${(e as Error).message}). Serve it with \`make dev\`, or deploy the stage.`);
    return;
  }
  $("stage").textContent = config.stage;
  const signIn = $<HTMLButtonElement>("sign-in");
  const signOut = $<HTMLButtonElement>("sign-out");
  const issuerURL = config.domain.startsWith("http") ? config.domain.replace(/\/$/, "") : `https://${config.domain}`;

  let auth0: Auth0Client | undefined;
  try {
    auth0 = await createAuth0Client({
      domain: config.domain,
      clientId: config.clientId,
      authorizationParams: { audience: config.audience, scope: config.scope, redirect_uri: location.origin + "/" },
      useRefreshTokens: true,
      cacheLocation: "memory",
      authorizeTimeoutInSeconds: 10,
      // The library keeps a non-extractable key in IndexedDB, names it at
      // sign-in, and gets tokens bound to it (docs/dpop.md).
      useDpop: config.dpop,
    });
  } catch (e) {
    notice(`Sign-in cannot start: ${(e as Error).message}`);
  }

  const query = new URLSearchParams(location.search);
  if (auth0 && (query.has("code") || query.has("error")) && query.has("state")) {
    try {
      await auth0.handleRedirectCallback();
    } catch (e) {
      const err = e as { error?: string; error_description?: string; message: string };
      notice(
        err.error === "access_denied"
          ? `Sign-in was cancelled or refused: ${err.error_description ?? err.message}`
          : `Sign-in failed (${err.error ?? "error"}): ${err.error_description ?? err.message}`,
      );
    }
    history.replaceState(null, "", location.pathname);
  }

  let claims: Record<string, unknown> | undefined;
  const pathOrg = $<HTMLInputElement>("path-org");
  const signedIn = auth0 ? await auth0.isAuthenticated() : false;
  if (auth0 && signedIn) {
    const user = await auth0.getUser();
    $("who").textContent = `Signed in as ${user?.name ?? user?.email ?? user?.sub ?? "an unnamed user"}`;
    try {
      claims = decodeClaims((await auth0.getTokenSilently()) ?? "");
      $("token-empty").hidden = true;
      $("token").hidden = false;
      chips($("scopes"), String(claims.scope ?? "").split(" ").filter(Boolean));
      chips($("permissions"), (claims.permissions as string[] | undefined) ?? []);
      $("claims").textContent = JSON.stringify(claims, null, 2);
      const jkt = (claims.cnf as { jkt?: unknown } | undefined)?.jkt;
      $("binding").textContent =
        typeof jkt === "string"
          ? `this browser's DPoP key (cnf.jkt ${jkt}): a copy of the token is useless without it`
          : "nothing: a bearer token, good for whoever holds it";
      const organization = organizationOf(claims);
      $("org").textContent = organization ? `in ${organization.name}` : "in no organization";
      $("org").title = organization ? `org_id ${organization.id}` : "";
      // The organization's routes are called with the token's own org_id; change
      // it to see the API refuse another organization's path.
      pathOrg.value = organization?.id ?? "";
    } catch (e) {
      notice(`Your session could not be renewed: ${(e as Error).message}. Sign in again.`);
    }
  }
  signIn.hidden = signedIn;
  signOut.hidden = !signedIn;

  signIn.addEventListener("click", async () => {
    signIn.disabled = true;
    try {
      // An opaque request: it only tells whether the tenant answers at all.
      await fetch(`${issuerURL}/.well-known/openid-configuration`, { mode: "no-cors", cache: "no-store" });
    } catch {
      notice(`The sign-in server ${issuerURL} cannot be reached. Check your network, or that the dev issuer runs.`);
      signIn.disabled = false;
      return;
    }
    const organization = $<HTMLInputElement>("organization").value.trim();
    await auth0?.loginWithRedirect({ authorizationParams: organization ? { organization } : {} });
  });
  // Signing in to another organization is a new sign-in with organization:
  // with a session at the tenant, it needs no password again.
  $<HTMLFormElement>("org-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const organization = $<HTMLInputElement>("organization").value.trim();
    if (!organization) {
      notice("Type the organization's ID or name, then sign in to it.");
      return;
    }
    await auth0?.loginWithRedirect({ authorizationParams: { organization } });
  });
  // Disabled in the HTML until now: a click before the handler exists would do nothing.
  signIn.disabled = false;
  signOut.addEventListener("click", () => auth0?.logout({ logoutParams: { returnTo: location.origin + "/" } }));

  // On a stage that requires DPoP, the library's fetcher sends the token as
  // DPoP with a new proof of this browser's key for each call.
  const fetcher = auth0 && config.dpop ? auth0.createFetcher({ dpopNonceId: "api" }) : undefined;
  // Each row's call, for the button that calls them all at once: the whole
  // access matrix of the signed-in user at a glance.
  const calls: (() => Promise<void>)[] = [];
  $("routes").replaceChildren(...routes.map((route) => routeRow(route)));
  $<HTMLButtonElement>("call-all").addEventListener("click", () => Promise.all(calls.map((call) => call())));

  function routeRow(route: Route): HTMLTableRowElement {
    const row = document.createElement("tr");
    row.dataset.route = route.key;
    row.dataset.path = pathFor(route, pathOrg.value);
    if (route.orgParameter || route.anyOrganization) row.dataset.organization = route.orgParameter ?? "*";
    let requires = route.auth === "NONE" ? "nothing (public)" : route.requires.length ? `${route.requiresKind} ${route.requires.join(" or ")}` : "any valid token";
    if (route.orgParameter) requires += `, in the organization {${route.orgParameter}} names`;
    if (route.anyOrganization) requires += ", in any organization";
    const cells = [route.key, requires].map((text) => Object.assign(document.createElement("td"), { textContent: text }));
    const call = Object.assign(document.createElement("button"), { type: "button", textContent: "Call", className: "secondary" });
    call.setAttribute("aria-label", `Call ${route.key}`);
    const status = Object.assign(document.createElement("td"), { className: "status" });
    const answer = document.createElement("td");
    row.append(cells[0], cells[1], Object.assign(document.createElement("td"), {}), status, answer);
    row.children[2].append(call);

    calls.push(callRoute);
    call.addEventListener("click", callRoute);
    async function callRoute() {
      call.disabled = true;
      status.textContent = "…";
      status.className = "status";
      answer.replaceChildren();
      const headers: Record<string, string> = {};
      const withToken = signedIn && route.auth !== "NONE";
      if (auth0 && withToken && !fetcher) {
        try {
          headers.Authorization = `Bearer ${await auth0.getTokenSilently()}`;
        } catch (e) {
          const code = (e as { error?: string }).error ?? "";
          notice(sessionErrors.has(code) ? "Your session has expired. Sign in again." : `No token: ${(e as Error).message}`);
        }
      }
      const path = pathFor(route, pathOrg.value.trim());
      row.dataset.path = path;
      try {
        const url = config.apiUrl.replace(/\/$/, "") + path;
        const init = { method: route.method === "ANY" ? "GET" : route.method, headers };
        // The audience is the sign-in's: without it, the library looks for
        // a token of no audience, and finds none.
        const response = withToken && fetcher ? await fetcher.fetchWithAuth(url, init, { audience: config.audience }) : await fetch(url, init);
        const text = await response.text();
        status.textContent = String(response.status);
        status.classList.add(response.ok ? "ok" : "bad");
        const why = explain(route, response.status, signedIn, claims, pathOrg.value.trim());
        if (why) answer.append(explanation(why));
        let shown = text;
        try {
          shown = JSON.stringify(JSON.parse(text), null, 2);
        } catch {
          /* not JSON: shown as it came */
        }
        answer.append(Object.assign(document.createElement("pre"), { textContent: shown }));
      } catch {
        status.textContent = "—";
        status.classList.add("bad");
        answer.append(
          explanation(`The API at ${config.apiUrl} cannot be reached, or the browser blocked its answer (CORS): check that it runs, and that the stage's \`cors.allowOrigins\` includes ${location.origin}.`),
        );
      } finally {
        call.disabled = false;
      }
    }
    return row;
  }
}

main();

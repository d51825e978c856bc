/**
 * The page frame every console page shares: head (stylesheet, the module script, the CSRF
 * meta), the top bar with sign-out, the app navigation marking where you are, and `main`.
 *
 * @module
 */
import { raw } from "hono/html";
import type { Child } from "hono/jsx";
import type { ConsoleSession } from "../../lib/console/mod.ts";
import { ASSET_VERSION } from "./assets.ts";

/** Where a page sits in the app navigation. */
export type NavPlace =
  | "overview"
  | "test-devices"
  | "segments"
  | "new-send"
  | "sends"
  | "diagnose"
  | null;

/** Props of {@linkcode Layout}. */
export interface LayoutProps {
  title: string;
  session: ConsoleSession | null;
  /** The app the page is about; shows the app navigation. */
  app?: { appId: string; name: string };
  place?: NavPlace;
  children?: Child;
}

const NAV: Array<[Exclude<NavPlace, null>, string, string]> = [
  ["overview", "Overview", ""],
  ["test-devices", "Test devices", "/test-devices"],
  ["segments", "Segments", "/segments"],
  ["new-send", "New send", "/sends/new"],
  ["sends", "Sends", "/sends"],
  ["diagnose", "Diagnose", "/diagnose"],
];

/** The page frame. */
export function Layout(props: LayoutProps) {
  const { session, app } = props;
  const base = app ? `/console/apps/${app.appId}` : "";
  return (
    <>
      {raw("<!DOCTYPE html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="referrer" content="same-origin" />
          <link rel="icon" href="data:," />
          {session && <meta name="csrf-token" content={session.csrf} />}
          <title>{props.title} · edgepush console</title>
          <link rel="stylesheet" href={`/console/assets/console.css?v=${ASSET_VERSION}`} />
          <script type="module" src={`/console/assets/console.js?v=${ASSET_VERSION}`}></script>
        </head>
        <body>
          <a class="skip" href="#main">Skip to content</a>
          <header class="top">
            <a class="brand" href="/console">edgepush console</a>
            {session && (
              <form method="post" action="/console/sign-out">
                <input type="hidden" name="_csrf" value={session.csrf} />
                <span>{session.scope === "admin" ? "Admin" : "Server key"}</span>{" "}
                <button type="submit" class="secondary">Sign out</button>
              </form>
            )}
          </header>
          {app && (
            <nav class="app" aria-label="App">
              <ul>
                {NAV.map(([place, label, path]) => (
                  <li>
                    <a
                      href={`${base}${path}`}
                      aria-current={props.place === place ? "page" : undefined}
                    >
                      {label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          <main id="main">
            {app && (
              <p class="crumbs">
                <a href="/console">{session?.scope === "admin" ? "All apps" : "Apps"}</a> ›{" "}
                <a href={base} aria-current={props.place === "overview" ? "page" : undefined}>
                  {app.name}
                </a>
              </p>
            )}
            <h1>{props.title}</h1>
            {props.children}
          </main>
        </body>
      </html>
    </>
  );
}

import { html } from "htm/preact";
import type { VNode } from "preact";
import { render } from "preact-render-to-string";
import type { Principal } from "../../../access/index.ts";

/** What every page's frame shows. */
export interface Frame {
  title: string;
  /** Who is signed in; none on the sign-in page. */
  principal?: Principal;
  /** The URL of each built asset (with its content hash), by file name. */
  assets: Record<string, string>;
  /** Which navigation entry is the current page. */
  section?: "stacks" | "previews";
  /** A line of news at the top (what an action did). */
  notice?: string;
}

/** A whole HTML document: the frame around one page's content. */
export function documentOf(frame: Frame, content: VNode): string {
  const { principal, assets, section } = frame;
  const body = html`<html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="referrer" content="same-origin" />
      <link rel="icon" href="data:," />
      <title>${frame.title} · stackd</title>
      ${assets["styles.css"] ? html`<link rel="stylesheet" href=${assets["styles.css"]} />` : null}
      ${assets["dashboard.js"] ? html`<script type="module" src=${assets["dashboard.js"]}></script>` : null}
    </head>
    <body>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href="/">stackd</a>
        ${principal
          ? html`<nav aria-label="Main">
                <a href="/" aria-current=${section === "stacks" ? "page" : undefined}>Stacks</a>
                <a href="/previews" aria-current=${section === "previews" ? "page" : undefined}>PR previews</a>
              </nav>
              <form class="who" method="post" action="/ui/sign-out">
                <span>${principal.name} <span class="muted">(${principal.role})</span></span>
                <button type="submit" class="link">Sign out</button>
              </form>`
          : null}
      </header>
      <main id="main">
        ${frame.notice ? html`<p class="notice" role="status">${frame.notice}</p>` : null}
        ${content}
      </main>
    </body>
  </html>`;
  return `<!doctype html>\n${render(body)}`;
}

/** A page saying what went wrong, with the way back. */
export function errorDocument(frame: Frame, status: number, message: string): string {
  return documentOf(
    { ...frame, title: `Error ${status}` },
    html`<section class="error" role="alert">
      <h1>${status === 403 ? "Not allowed" : status === 404 ? "Not found" : status === 409 ? "Not now" : "Something went wrong"}</h1>
      <p>${message}</p>
      <p><a href="/">Back to the stacks</a></p>
    </section>`,
  );
}

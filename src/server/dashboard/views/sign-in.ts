import { html } from "htm/preact";
import type { VNode } from "preact";

/** The sign-in form: the token is posted once and kept by the server, never by the page. */
export function SignIn({ next, error }: { next: string; error?: string }): VNode {
  return html`<section class="sign-in">
    <h1>Sign in to stackd</h1>
    <form method="post" action="/ui/session">
      <input type="hidden" name="next" value=${next} />
      <label for="token">API token</label>
      <input id="token" name="token" type="password" autocomplete="off" required autofocus aria-describedby=${error ? "sign-in-error" : undefined} />
      ${error ? html`<p id="sign-in-error" class="field-error" role="alert">${error}</p>` : null}
      <button type="submit">Sign in</button>
    </form>
    <p class="muted small">A token from <code>stackd token create</code>, or the service's STACKD_API_TOKEN. The browser keeps a session cookie for this tab's session only.</p>
  </section>`;
}

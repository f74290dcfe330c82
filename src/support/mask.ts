/**
 * The one masking function. Every secret stackd learns (webhook secret, API
 * token, state passphrase, cloud credentials) is registered here, and every
 * text stackd writes (ledger, logs, API) passes through `mask`.
 */
const secrets = new Set<string>();

// Short values would mask ordinary words; real secrets are longer.
const MIN_LENGTH = 6;

/** Remembers a secret so that every later `mask` call hides it. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= MIN_LENGTH) secrets.add(value);
}

/** Replaces every registered secret in a text by [secret]. */
export function mask(text: string): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join("[secret]");
  return out;
}

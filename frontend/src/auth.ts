// The API key of this browser session. sessionStorage, not localStorage: the key goes
// when the tab's session ends and is never shared with other tabs or written to disk
// for long. Every API call sends it as `Authorization: Bearer <key>`.

export const API_KEY_STORAGE = "ai-video.apiKey";
export const SIGN_IN_PATH = "/sign-in";

function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null; // storage disabled (a privacy setting): the app works without a key
  }
}

export function getApiKey(): string | null {
  return storage()?.getItem(API_KEY_STORAGE)?.trim() || null;
}

export function setApiKey(key: string): void {
  storage()?.setItem(API_KEY_STORAGE, key.trim());
}

export function clearApiKey(): void {
  storage()?.removeItem(API_KEY_STORAGE);
}

export function authHeaders(key: string | null = getApiKey()): Record<string, string> {
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/** After a 401: a key the server refused (revoked, say) is of no further use. */
export function forgetRejectedKey(sent: string | null): void {
  if (sent && getApiKey() === sent) clearApiKey();
}

/** Where the sign-in view returns to: a path of this app only, never another site. */
export function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith(SIGN_IN_PATH) ? next : "/";
}

export function signInLink(pathname: string = window.location.pathname + window.location.search): string {
  const next = safeNext(pathname);
  return next === "/" ? SIGN_IN_PATH : `${SIGN_IN_PATH}?${new URLSearchParams({ next })}`;
}

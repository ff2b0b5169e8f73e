// Pieces shared by the views.
import { isUnauthorized } from "../api";
import { signInLink } from "../auth";
import { h } from "../dom";
import { statusLabel } from "../format";
import { errorMessage } from "../messages";
import type { JobStatus } from "../types";

export const APP_NAME = "AI Video";

export function setTitle(title: string): void {
  document.title = `${title} · ${APP_NAME}`;
}

export function heading(text: string): HTMLHeadingElement {
  // tabindex=-1 lets the router move focus here after a navigation.
  return h("h1", { tabindex: -1 }, text);
}

export function statusBadge(status: JobStatus): HTMLSpanElement {
  return h("span", { class: `badge badge-${status}`, "data-status": status }, statusLabel(status));
}

export function alertBox(message: string, tone: "error" | "info" = "error"): HTMLDivElement {
  return h("div", { class: `alert alert-${tone}`, role: tone === "error" ? "alert" : "status" }, message);
}

/** An error as an alert; a 401 comes with a link to the sign-in view (and back). */
export function errorAlert(error: unknown): HTMLDivElement {
  const alert = alertBox(errorMessage(error));
  if (isUnauthorized(error)) {
    alert.dataset.code = "unauthorized";
    alert.append(" ", h("a", { href: signInLink(), class: "sign-in-link" }, "Sign in"));
  }
  return alert;
}

export function loading(text = "Loading…"): HTMLParagraphElement {
  return h("p", { class: "loading", role: "status" }, text);
}

export function isAbortError(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

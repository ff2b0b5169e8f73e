// "/sign-in": enter the API key this server was given (API_KEYS), or sign out.
import { isUnauthorized, type Api } from "../api";
import { clearApiKey, getApiKey, safeNext, setApiKey } from "../auth";
import { announce, h } from "../dom";
import type { View } from "../router";
import { alertBox, errorAlert, heading, isAbortError, setTitle } from "./common";

export const REJECTED_MESSAGE = "The server did not accept this API key. Check it and try again.";

export function signInView(api: Api): View {
  return (outlet, { query, signal, navigate }) => {
    setTitle("Sign in");
    const next = safeNext(query.get("next"));
    outlet.append(heading("Sign in"));
    if (getApiKey()) {
      const signOut = h("button", { type: "button", class: "button" }, "Sign out");
      signOut.addEventListener("click", () => {
        clearApiKey();
        announce("Signed out.");
        navigate(window.location.pathname + window.location.search, { replace: true });
      });
      outlet.append(
        h(
          "section",
          { class: "card", "data-view": "signed-in" },
          h("p", {}, "You are signed in for this browser session. Closing the tab signs you out."),
          h("div", { class: "actions" }, h("a", { href: next, class: "button primary" }, "Continue"), signOut),
        ),
      );
    }
    outlet.append(keyForm(api, signal, () => navigate(next, { replace: true })));
  };
}

function keyForm(api: Api, signal: AbortSignal, done: () => void): HTMLFormElement {
  const key = h("input", {
    id: "api-key",
    name: "api-key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "api-key-hint",
  });
  const submit = h("button", { type: "submit", class: "button primary" }, "Sign in");
  const feedback = h("div", { class: "feedback" });
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "sign-in-title", novalidate: true },
    h("h2", { id: "sign-in-title" }, getApiKey() ? "Use another API key" : "Enter your API key"),
    h("label", { for: "api-key" }, "API key"),
    key,
    h(
      "p",
      { id: "api-key-hint", class: "hint" },
      "Ask whoever runs this server for a key. It is kept in this tab only, until you close it.",
    ),
    h("div", { class: "actions" }, submit),
    feedback,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    feedback.replaceChildren();
    const value = key.value.trim();
    if (!value) {
      feedback.append(alertBox("Enter your API key."));
      key.focus();
      return;
    }
    submit.disabled = true;
    try {
      await api.checkKey(value, signal);
      setApiKey(value);
      announce("Signed in.");
      done();
    } catch (error) {
      if (isAbortError(error)) return;
      feedback.append(isUnauthorized(error) ? alertBox(REJECTED_MESSAGE) : errorAlert(error));
      submit.disabled = false;
      key.focus();
    }
  });
  return form;
}

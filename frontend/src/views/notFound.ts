// Any client route the app does not know.
import { h } from "../dom";
import type { View } from "../router";
import { heading, setTitle } from "./common";

export const notFoundView: View = (outlet) => {
  setTitle("Page not found");
  outlet.append(
    h(
      "section",
      { class: "card not-found", "data-view": "not-found" },
      heading("Page not found"),
      h("p", {}, "There is nothing at ", h("code", {}, window.location.pathname), "."),
      h(
        "div",
        { class: "actions" },
        h("a", { href: "/", class: "button primary" }, "Create a video"),
        h("a", { href: "/jobs", class: "button" }, "See all jobs"),
      ),
    ),
  );
};

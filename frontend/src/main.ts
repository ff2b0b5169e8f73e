// Entry point: wires the API client and the views into the router.
import "./style.css";
import { createApi } from "./api";
import { getApiKey, SIGN_IN_PATH } from "./auth";
import { Router, type Route } from "./router";
import { uploadVideo } from "./upload";
import { homeView } from "./views/home";
import { jobView } from "./views/job";
import { jobsView } from "./views/jobs";
import { notFoundView } from "./views/notFound";
import { signInView } from "./views/signIn";

const api = createApi();
const routes: Route[] = [
  { path: "/", view: homeView({ api, upload: uploadVideo }) },
  { path: "/jobs", view: jobsView(api) },
  { path: "/jobs/:id", view: jobView(api) },
  { path: SIGN_IN_PATH, view: signInView(api) },
];

const outlet = document.getElementById("main") as HTMLElement;
let firstRender = true;

function markCurrentNav(pathname: string): void {
  for (const link of document.querySelectorAll<HTMLAnchorElement>("nav a[data-nav]")) {
    const target = new URL(link.href).pathname;
    const current = target === "/" ? pathname === "/" : pathname === target || pathname.startsWith(`${target}/`);
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const signIn = document.querySelector<HTMLAnchorElement>(`nav a[href="${SIGN_IN_PATH}"]`);
  if (signIn) signIn.textContent = getApiKey() ? "Signed in" : "Sign in";
}

new Router({
  routes,
  notFound: notFoundView,
  outlet,
  onRender(pathname) {
    markCurrentNav(pathname);
    // After an in-app navigation, move focus to the new heading so keyboard
    // and screen-reader users start at the new content.
    if (!firstRender) outlet.querySelector<HTMLElement>("h1")?.focus();
    firstRender = false;
  },
}).start();

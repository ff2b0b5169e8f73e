import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isRoutableClick, matchRoute, Router, type Route, type ViewContext } from "../src/router";

const noop = (): void => {};
const routes: Route[] = [
  { path: "/", view: noop },
  { path: "/jobs", view: noop },
  { path: "/jobs/:id", view: noop },
];

describe("matchRoute", () => {
  it("matches static paths, with or without a trailing slash", () => {
    expect(matchRoute(routes, "/")?.route.path).toBe("/");
    expect(matchRoute(routes, "/jobs")?.route.path).toBe("/jobs");
    expect(matchRoute(routes, "/jobs/")?.route.path).toBe("/jobs");
  });

  it("extracts and decodes parameters", () => {
    const match = matchRoute(routes, "/jobs/abc%20123");
    expect(match?.route.path).toBe("/jobs/:id");
    expect(match?.params).toEqual({ id: "abc 123" });
  });

  it("returns null for unknown and deeper paths", () => {
    expect(matchRoute(routes, "/nope")).toBeNull();
    expect(matchRoute(routes, "/jobs/1/extra")).toBeNull();
    expect(matchRoute(routes, "/jobsx")).toBeNull();
  });

  it("treats a malformed escape as no match rather than throwing", () => {
    expect(matchRoute(routes, "/jobs/%E0%A4%A")).toBeNull();
  });
});

describe("isRoutableClick", () => {
  const origin = "http://localhost:3000";
  const anchor = (href: string, attrs: Record<string, string> = {}): HTMLAnchorElement => {
    const a = document.createElement("a");
    a.href = new URL(href, origin).href;
    for (const [key, value] of Object.entries(attrs)) a.setAttribute(key, value);
    return a;
  };
  const click = (init: MouseEventInit = {}): MouseEvent => new MouseEvent("click", { button: 0, ...init });

  it("handles plain same-origin clicks", () => {
    expect(isRoutableClick(click(), anchor("/jobs"), origin)).toBe(true);
  });

  it("leaves modified clicks, other targets, downloads, API and foreign links to the browser", () => {
    expect(isRoutableClick(click({ ctrlKey: true }), anchor("/jobs"), origin)).toBe(false);
    expect(isRoutableClick(click({ button: 1 }), anchor("/jobs"), origin)).toBe(false);
    expect(isRoutableClick(click(), anchor("/jobs", { target: "_blank" }), origin)).toBe(false);
    expect(isRoutableClick(click(), anchor("/api/v1/videos/1/file", { download: "" }), origin)).toBe(false);
    expect(isRoutableClick(click(), anchor("/api/v1/videos/1/file"), origin)).toBe(false);
    expect(isRoutableClick(click(), anchor("https://example.com/"), origin)).toBe(false);
  });
});

describe("Router", () => {
  let outlet: HTMLElement;
  let active: Router | null = null;

  beforeEach(() => {
    document.body.innerHTML = '<main id="main"></main>';
    outlet = document.getElementById("main") as HTMLElement;
    window.history.replaceState(null, "", "/");
  });

  afterEach(() => {
    active?.stop();
    document.body.innerHTML = "";
  });

  function makeRouter(): { router: Router; seen: ViewContext[]; notFound: ReturnType<typeof vi.fn> } {
    const seen: ViewContext[] = [];
    const notFound = vi.fn((el: HTMLElement) => el.append("not found"));
    const viewFor =
      (label: string) =>
      (el: HTMLElement, ctx: ViewContext): void => {
        seen.push(ctx);
        el.append(label);
      };
    const router = new Router({
      routes: [
        { path: "/", view: viewFor("home") },
        { path: "/jobs", view: viewFor("jobs") },
        { path: "/jobs/:id", view: viewFor("job") },
      ],
      notFound,
      outlet,
    });
    active = router;
    return { router, seen, notFound };
  }

  it("renders the view for the current location on start", () => {
    window.history.replaceState(null, "", "/jobs?page=2");
    const { router, seen } = makeRouter();
    router.start();
    expect(outlet.textContent).toBe("jobs");
    expect(seen[0].query.get("page")).toBe("2");
  });

  it("renders the not-found view for unknown routes", () => {
    window.history.replaceState(null, "", "/no/such/page");
    const { router, notFound } = makeRouter();
    router.start();
    expect(notFound).toHaveBeenCalledOnce();
    expect(outlet.textContent).toBe("not found");
  });

  it("pushes history, passes state and aborts the previous view", () => {
    const { router, seen } = makeRouter();
    router.start();
    router.navigate("/jobs/42", { state: { kind: "generation" } });
    expect(window.location.pathname).toBe("/jobs/42");
    expect(outlet.textContent).toBe("job");
    expect(seen[0].signal.aborted).toBe(true);
    expect(seen[1].params).toEqual({ id: "42" });
    expect(seen[1].state).toEqual({ kind: "generation" });
  });

  it("intercepts clicks on internal links and passes their state", () => {
    const { router, seen } = makeRouter();
    router.start();
    const link = document.createElement("a");
    link.href = "/jobs/7";
    link.dataset.state = JSON.stringify({ kind: "compose" });
    link.textContent = "Job 7";
    document.body.append(link);
    link.click();
    expect(window.location.pathname).toBe("/jobs/7");
    expect(outlet.textContent).toBe("job");
    expect(seen.at(-1)?.state).toEqual({ kind: "compose" });
  });

  it("re-renders on back/forward (popstate)", () => {
    const { router } = makeRouter();
    router.start();
    router.navigate("/jobs");
    window.history.replaceState(null, "", "/");
    window.dispatchEvent(new PopStateEvent("popstate", { state: null }));
    expect(outlet.textContent).toBe("home");
  });
});

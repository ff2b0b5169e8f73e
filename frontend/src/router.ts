// Client-side routing on the History API: a route table, link interception,
// and one live view at a time (the previous one is aborted on navigation).

export type Params = Record<string, string>;

export interface ViewContext {
  params: Params;
  query: URLSearchParams;
  /** History state passed by the navigation that opened this view. */
  state: unknown;
  /** Aborted when the user leaves the view: stops fetches, polling and timers. */
  signal: AbortSignal;
  navigate: (path: string, options?: NavigateOptions) => void;
}

export type View = (outlet: HTMLElement, context: ViewContext) => void;

export interface Route {
  path: string;
  view: View;
}

export interface NavigateOptions {
  replace?: boolean;
  state?: unknown;
}

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  keys: string[];
}

function compile(route: Route): CompiledRoute {
  const keys: string[] = [];
  const source = route.path
    .split("/")
    .map((segment) => {
      if (segment.startsWith(":")) {
        keys.push(segment.slice(1));
        return "([^/]+)";
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  // A trailing slash is tolerated: /jobs/ shows the same view as /jobs.
  return { route, keys, pattern: new RegExp(`^${source === "" ? "/" : source}/?$`) };
}

export interface Match {
  route: Route;
  params: Params;
}

export function matchRoute(routes: readonly Route[], pathname: string): Match | null {
  for (const compiled of routes.map(compile)) {
    const found = compiled.pattern.exec(pathname);
    if (!found) continue;
    const params: Params = {};
    try {
      compiled.keys.forEach((key, index) => {
        params[key] = decodeURIComponent(found[index + 1]);
      });
    } catch {
      continue; // a malformed %-escape cannot name a job
    }
    return { route: compiled.route, params };
  }
  return null;
}

/** True when a click on this link should be handled by the router, not the browser. */
export function isRoutableClick(event: MouseEvent, anchor: HTMLAnchorElement, origin: string): boolean {
  if (event.defaultPrevented || event.button !== 0) return false;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return false;
  if (anchor.target && anchor.target !== "_self") return false;
  if (anchor.hasAttribute("download")) return false;
  const url = new URL(anchor.href, origin);
  if (url.origin !== origin) return false;
  // API and media links (the video file, say) are real documents.
  return !url.pathname.startsWith("/api/");
}

/** History state a link carries in data-state (JSON), e.g. the kind of job it opens. */
function linkState(anchor: HTMLAnchorElement): unknown {
  const raw = anchor.dataset.state;
  if (!raw) return null;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return null;
  }
}

export class Router {
  private readonly routes: readonly Route[];
  private readonly notFound: View;
  private readonly outlet: HTMLElement;
  private readonly onRender: (pathname: string) => void;
  private current: AbortController | null = null;

  constructor(options: { routes: readonly Route[]; notFound: View; outlet: HTMLElement; onRender?: (pathname: string) => void }) {
    this.routes = options.routes;
    this.notFound = options.notFound;
    this.outlet = options.outlet;
    this.onRender = options.onRender ?? (() => {});
  }

  start(): void {
    window.addEventListener("popstate", this.onPopState);
    document.addEventListener("click", this.onClick);
    this.render();
  }

  /** Detaches the router and aborts the live view. */
  stop(): void {
    window.removeEventListener("popstate", this.onPopState);
    document.removeEventListener("click", this.onClick);
    this.current?.abort();
  }

  private readonly onPopState = (): void => this.render();

  private readonly onClick = (event: MouseEvent): void => {
    const anchor = (event.target as Element | null)?.closest?.("a[href]");
    if (!(anchor instanceof HTMLAnchorElement)) return;
    if (!isRoutableClick(event, anchor, window.location.origin)) return;
    event.preventDefault();
    const url = new URL(anchor.href, window.location.origin);
    this.navigate(url.pathname + url.search + url.hash, { state: linkState(anchor) });
  };

  navigate = (path: string, options: NavigateOptions = {}): void => {
    const state = options.state ?? null;
    if (options.replace) window.history.replaceState(state, "", path);
    else window.history.pushState(state, "", path);
    this.render();
    if (!options.replace) window.scrollTo?.(0, 0);
  };

  render(): void {
    this.current?.abort();
    const controller = new AbortController();
    this.current = controller;

    const { pathname, search } = window.location;
    const match = matchRoute(this.routes, pathname);
    this.outlet.replaceChildren();
    const context: ViewContext = {
      params: match?.params ?? {},
      query: new URLSearchParams(search),
      state: window.history.state,
      signal: controller.signal,
      navigate: this.navigate,
    };
    (match?.route.view ?? this.notFound)(this.outlet, context);
    this.onRender(pathname);
  }
}

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, type Api } from "../src/api";
import { getApiKey, setApiKey } from "../src/auth";
import { SIGN_IN_MESSAGE } from "../src/messages";
import type { ViewContext } from "../src/router";
import { jobView } from "../src/views/job";
import { jobsView } from "../src/views/jobs";
import { REJECTED_MESSAGE, signInView } from "../src/views/signIn";
import { flush, makeJob, makePage } from "./fixtures";

const KEY = "conformance-canary-api-key-0000000000000000";
const unauthorized = (): ApiError => new ApiError(401, "unauthorized", "authentication required");

function fakeApi(overrides: Partial<Api> = {}): Api {
  return {
    listJobs: vi.fn(async () => makePage([])),
    getJob: vi.fn(async () => makeJob()),
    createGeneration: vi.fn(async () => makeJob()),
    deleteJob: vi.fn(async () => undefined),
    checkKey: vi.fn(async () => undefined),
    ...overrides,
  };
}

let outlet: HTMLElement;
let controller: AbortController;
let navigate: ReturnType<typeof vi.fn<ViewContext["navigate"]>>;

function context(overrides: Partial<ViewContext> = {}): ViewContext {
  return { params: {}, query: new URLSearchParams(), state: null, signal: controller.signal, navigate, ...overrides };
}

function submit(key: string): void {
  const input = outlet.querySelector<HTMLInputElement>("#api-key")!;
  input.value = key;
  outlet.querySelector("form")!.dispatchEvent(new Event("submit", { cancelable: true }));
}

beforeEach(() => {
  document.body.innerHTML = '<main id="main"></main><div id="announcer" aria-live="polite"></div>';
  outlet = document.getElementById("main") as HTMLElement;
  controller = new AbortController();
  navigate = vi.fn<ViewContext["navigate"]>();
});

afterEach(() => {
  controller.abort();
  sessionStorage.clear();
});

describe("sign-in view", () => {
  it("asks for the key in a labelled password field", () => {
    signInView(fakeApi())(outlet, context());
    expect(outlet.querySelector("h1")?.textContent).toBe("Sign in");
    const input = outlet.querySelector<HTMLInputElement>("#api-key")!;
    expect(input.type).toBe("password");
    expect(outlet.querySelector('label[for="api-key"]')?.textContent).toBe("API key");
  });

  it("keeps a key the server accepts and returns to where the user was", async () => {
    const api = fakeApi();
    signInView(api)(outlet, context({ query: new URLSearchParams({ next: "/jobs?page=2" }) }));
    submit(` ${KEY} `);
    await flush();
    expect(api.checkKey).toHaveBeenCalledWith(KEY, controller.signal);
    expect(getApiKey()).toBe(KEY);
    expect(navigate).toHaveBeenCalledWith("/jobs?page=2", { replace: true });
  });

  it("never returns to another site", async () => {
    signInView(fakeApi())(outlet, context({ query: new URLSearchParams({ next: "//evil.example/" }) }));
    submit(KEY);
    await flush();
    expect(navigate).toHaveBeenCalledWith("/", { replace: true });
  });

  it("says so when the server refuses the key, and keeps nothing", async () => {
    const api = fakeApi({ checkKey: vi.fn(async () => Promise.reject(unauthorized())) });
    signInView(api)(outlet, context());
    submit("not-the-key-0000000000");
    await flush();
    expect(outlet.querySelector("[role=alert]")?.textContent).toBe(REJECTED_MESSAGE);
    expect(getApiKey()).toBeNull();
    expect(navigate).not.toHaveBeenCalled();
  });

  it("asks for a key before asking the server", async () => {
    const api = fakeApi();
    signInView(api)(outlet, context());
    submit("   ");
    await flush();
    expect(outlet.querySelector("[role=alert]")?.textContent).toBe("Enter your API key.");
    expect(api.checkKey).not.toHaveBeenCalled();
  });

  it("signs out", () => {
    setApiKey(KEY);
    window.history.replaceState(null, "", "/sign-in");
    signInView(fakeApi())(outlet, context());
    expect(outlet.querySelector("[data-view=signed-in]")).not.toBeNull();
    [...outlet.querySelectorAll("button")].find((b) => b.textContent === "Sign out")!.click();
    expect(getApiKey()).toBeNull();
    expect(navigate).toHaveBeenCalledWith("/sign-in", { replace: true });
  });
});

describe("a 401 in a view", () => {
  it("shows the sign-in message with a link back to the page", async () => {
    window.history.replaceState(null, "", "/jobs?page=3");
    jobsView(fakeApi({ listJobs: vi.fn(async () => Promise.reject(unauthorized())) }))(outlet, context());
    await flush();
    const alert = outlet.querySelector<HTMLElement>("[role=alert]")!;
    expect(alert.dataset.code).toBe("unauthorized");
    expect(alert.textContent).toContain(SIGN_IN_MESSAGE);
    expect(alert.querySelector("a")?.getAttribute("href")).toBe("/sign-in?next=%2Fjobs%3Fpage%3D3");
  });

  it("on a job page, too", async () => {
    window.history.replaceState(null, "", "/jobs/j1");
    jobView(fakeApi({ getJob: vi.fn(async () => Promise.reject(unauthorized())) }))(outlet, context({ params: { id: "j1" } }));
    await flush();
    expect(outlet.querySelector("[data-code=unauthorized] a")?.getAttribute("href")).toBe("/sign-in?next=%2Fjobs%2Fj1");
  });
});

describe("a finished job with a key", () => {
  it("shows the video and thumbnail through the media loader", async () => {
    const bound: [string, string, string][] = [];
    const media = () => ({
      bind(element: Element, attribute: string, url: string) {
        bound.push([element.tagName.toLowerCase(), attribute, url]);
        element.setAttribute(attribute, `blob:${url}`);
      },
    });
    jobView(fakeApi(), { media })(outlet, context({ params: { id: "0f8e2c1a9b7d4e6f" } }));
    await flush();
    const file = "/api/v1/videos/0f8e2c1a9b7d4e6f/file";
    const thumbnail = "/api/v1/videos/0f8e2c1a9b7d4e6f/thumbnail";
    expect(bound).toEqual([
      ["video", "poster", thumbnail],
      ["video", "src", file],
      ["img", "src", thumbnail],
      ["a", "href", file],
    ]);
    expect(outlet.querySelector("video")?.getAttribute("src")).toBe(`blob:${file}`);
    expect(outlet.querySelector("a[download]")?.getAttribute("download")).toBe("0f8e2c1a9b7d4e6f.mp4");
  });
});

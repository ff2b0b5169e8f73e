import { afterEach, describe, expect, it, vi } from "vitest";
import { createApi, UNAUTHORIZED } from "../src/api";
import {
  API_KEY_STORAGE,
  authHeaders,
  clearApiKey,
  forgetRejectedKey,
  getApiKey,
  safeNext,
  setApiKey,
  signInLink,
} from "../src/auth";
import { errorMessage, SIGN_IN_MESSAGE } from "../src/messages";
import { uploadVideo } from "../src/upload";
import { jsonResponse, makeJob, makePage } from "./fixtures";

const KEY = "conformance-canary-api-key-0000000000000000";

afterEach(() => sessionStorage.clear());

describe("the session's API key", () => {
  it("lives in sessionStorage under ai-video.apiKey", () => {
    expect(API_KEY_STORAGE).toBe("ai-video.apiKey");
    setApiKey(`  ${KEY} `);
    expect(sessionStorage.getItem("ai-video.apiKey")).toBe(KEY);
    expect(localStorage.getItem("ai-video.apiKey")).toBeNull();
    expect(getApiKey()).toBe(KEY);
    clearApiKey();
    expect(getApiKey()).toBeNull();
  });

  it("becomes a bearer header, and no header without one", () => {
    expect(authHeaders()).toEqual({});
    sessionStorage.setItem(API_KEY_STORAGE, KEY);
    expect(authHeaders()).toEqual({ Authorization: `Bearer ${KEY}` });
  });

  it("is forgotten after a 401 only if it is the key that was refused", () => {
    setApiKey(KEY);
    forgetRejectedKey("another-key-entered-meanwhile");
    expect(getApiKey()).toBe(KEY);
    forgetRejectedKey(KEY);
    expect(getApiKey()).toBeNull();
  });

  it("signs in back to a path of this app only", () => {
    expect(safeNext("/jobs?page=2")).toBe("/jobs?page=2");
    for (const unsafe of [null, "", "https://evil.example/", "//evil.example/x", "jobs", "/sign-in?next=/x"]) {
      expect(safeNext(unsafe)).toBe("/");
    }
    expect(signInLink("/jobs/abc")).toBe("/sign-in?next=%2Fjobs%2Fabc");
    expect(signInLink("/")).toBe("/sign-in");
  });
});

describe("API calls with a key", () => {
  it("send Authorization: Bearer <key> on every call", async () => {
    setApiKey(KEY);
    const seen: [string, RequestInit?][] = [];
    const fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
      seen.push([url, init]);
      if (init?.method === "DELETE") return new Response(null, { status: 204 });
      return url.startsWith("/api/v1/jobs?") ? jsonResponse(makePage([])) : jsonResponse(makeJob(), 202);
    });
    const api = createApi(fetchMock);
    await api.listJobs(20, 0);
    await api.getJob("a");
    await api.createGeneration("a fox", null);
    await api.deleteJob("a");
    expect(seen).toHaveLength(4);
    for (const [, init] of seen) {
      expect((init?.headers as Record<string, string>).Authorization).toBe(`Bearer ${KEY}`);
    }
    // The JSON body's own header is kept next to it.
    expect((seen[2][1]?.headers as Record<string, string>)["Content-Type"]).toBe("application/json");
  });

  it("send no Authorization header without a key", async () => {
    const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) => jsonResponse(makePage([])));
    await createApi(fetchMock).listJobs(20, 0);
    expect(fetchMock.mock.calls[0][1]?.headers).not.toHaveProperty("Authorization");
  });

  it("turn a 401 into the sign-in message and drop the refused key", async () => {
    setApiKey(KEY);
    const fetchMock = vi.fn(async () => jsonResponse({ detail: "the API key is not valid", code: UNAUTHORIZED }, 401));
    const error = await createApi(fetchMock).listJobs(20, 0).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 401, code: "unauthorized" });
    expect(errorMessage(error)).toBe(SIGN_IN_MESSAGE);
    expect(getApiKey()).toBeNull();
  });

  it("treat a proxy's bare 401 page the same", async () => {
    const fetchMock = vi.fn(async () => new Response("<html>401</html>", { status: 401, statusText: "Unauthorized" }));
    const error = await createApi(fetchMock).listJobs(20, 0).catch((e: unknown) => e);
    expect(errorMessage(error)).toBe(SIGN_IN_MESSAGE);
  });

  it("say how long to wait after a 429", async () => {
    const detail = "too many requests: the limit is 10/minute; try again in 42 s";
    const fetchMock = vi.fn(async () => jsonResponse({ detail, code: "rate_limited" }, 429));
    const error = await createApi(fetchMock).createGeneration("a fox", null).catch((e: unknown) => e);
    expect(errorMessage(error)).toBe("Too many requests: the limit is 10/minute; try again in 42 s.");
  });

  it("check a key before it is kept, with that key", async () => {
    const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) => jsonResponse(makePage([])));
    await createApi(fetchMock).checkKey(` ${KEY} `);
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe("/api/v1/jobs?limit=1");
    expect((init?.headers as Record<string, string>).Authorization).toBe(`Bearer ${KEY}`);
    expect(getApiKey()).toBeNull();
  });
});

describe("uploads with a key", () => {
  class Xhr extends EventTarget {
    readonly upload = new EventTarget();
    headers: Record<string, string> = {};
    status = 0;
    statusText = "";
    responseText = "";
    open(): void {}
    setRequestHeader(name: string, value: string): void {
      this.headers[name] = value;
    }
    send(): void {}
    abort(): void {}
  }

  it("send the header, and a 401 drops the key", async () => {
    setApiKey(KEY);
    const xhr = new Xhr();
    const done = uploadVideo(new File(["x"], "a.mp4"), { createXhr: () => xhr as unknown as XMLHttpRequest });
    expect(xhr.headers.Authorization).toBe(`Bearer ${KEY}`);
    Object.assign(xhr, { status: 401, responseText: JSON.stringify({ detail: "no", code: "unauthorized" }) });
    xhr.dispatchEvent(new Event("load"));
    await expect(done).rejects.toMatchObject({ status: 401, code: "unauthorized" });
    expect(getApiKey()).toBeNull();
  });
});

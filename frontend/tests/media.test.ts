import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setApiKey } from "../src/auth";
import { mediaLoader } from "../src/media";
import { flush } from "./fixtures";

const FILE = "/api/v1/videos/j1/file";
const KEY = "conformance-canary-api-key-0000000000000000";

let controller: AbortController;
let created: string[];
let revoked: string[];

beforeEach(() => {
  controller = new AbortController();
  created = [];
  revoked = [];
  vi.spyOn(URL, "createObjectURL").mockImplementation(() => {
    created.push(`blob:test/${created.length}`);
    return created[created.length - 1];
  });
  vi.spyOn(URL, "revokeObjectURL").mockImplementation((url: string) => void revoked.push(url));
});

afterEach(() => {
  controller.abort();
  sessionStorage.clear();
  vi.restoreAllMocks();
});

describe("media sources", () => {
  it("are the API URLs themselves without a key (the browser streams them)", () => {
    const fetchMock = vi.fn();
    const video = document.createElement("video");
    mediaLoader(controller.signal, fetchMock).bind(video, "src", FILE);
    expect(video.getAttribute("src")).toBe(FILE);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("are fetched once with the key and shown from blob: URLs, revoked on leaving", async () => {
    setApiKey(KEY);
    const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) => new Response(new Blob(["mp4"])));
    const loader = mediaLoader(controller.signal, fetchMock);
    const video = document.createElement("video");
    const link = document.createElement("a");
    loader.bind(video, "src", FILE);
    loader.bind(link, "href", FILE);
    expect(video.hasAttribute("src")).toBe(false);
    await flush();
    expect(fetchMock).toHaveBeenCalledOnce();
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe(FILE);
    expect(init?.headers).toEqual({ Authorization: `Bearer ${KEY}` });
    expect(video.getAttribute("src")).toBe("blob:test/0");
    expect(link.getAttribute("href")).toBe("blob:test/0");
    controller.abort();
    expect(revoked).toEqual(["blob:test/0"]);
  });

  it("leave the element empty when the file cannot be had, without an unhandled error", async () => {
    setApiKey(KEY);
    const img = document.createElement("img");
    const failing = vi.fn(async () => new Response("{}", { status: 401 }));
    mediaLoader(controller.signal, failing).bind(img, "src", FILE);
    const offline = vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    });
    mediaLoader(controller.signal, offline).bind(img, "src", FILE);
    await flush();
    expect(img.hasAttribute("src")).toBe(false);
    expect(created).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import { ApiError } from "../src/api";
import { uploadVideo } from "../src/upload";
import { makeJob } from "./fixtures";

/** Just enough of XMLHttpRequest to drive uploadVideo's event handling. */
class FakeXhr extends EventTarget {
  readonly upload = new EventTarget();
  status = 0;
  statusText = "";
  responseText = "";
  method = "";
  url = "";
  headers: Record<string, string> = {};
  body: FormData | null = null;
  aborted = false;

  open(method: string, url: string): void {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string): void {
    this.headers[name] = value;
  }
  send(body: FormData): void {
    this.body = body;
  }
  abort(): void {
    this.aborted = true;
    this.dispatchEvent(new Event("abort"));
  }
  progress(loaded: number, total: number): void {
    const event = new Event("progress") as Event & { loaded: number; total: number; lengthComputable: boolean };
    Object.assign(event, { loaded, total, lengthComputable: true });
    this.upload.dispatchEvent(event);
  }
  respond(status: number, body: string, statusText = ""): void {
    Object.assign(this, { status, statusText, responseText: body });
    this.dispatchEvent(new Event("load"));
  }
}

function start(signal?: AbortSignal): { xhr: FakeXhr; progress: number[]; result: Promise<unknown> } {
  const xhr = new FakeXhr();
  const progress: number[] = [];
  const file = new File(["fake video bytes"], "clip.mp4", { type: "video/mp4" });
  const result = uploadVideo(file, {
    onProgress: (fraction) => progress.push(fraction),
    signal,
    createXhr: () => xhr as unknown as XMLHttpRequest,
  }).catch((error: unknown) => error);
  return { xhr, progress, result };
}

describe("uploadVideo", () => {
  it("posts the file as multipart field 'file' and reports progress", async () => {
    const { xhr, progress, result } = start();
    expect(xhr.method).toBe("POST");
    expect(xhr.url).toBe("/api/v1/videos");
    expect((xhr.body?.get("file") as File).name).toBe("clip.mp4");
    xhr.progress(25, 100);
    xhr.progress(100, 100);
    xhr.respond(202, JSON.stringify(makeJob({ status: "queued", result: null })));
    await expect(result).resolves.toMatchObject({ status: "queued" });
    expect(progress).toEqual([0.25, 1, 1]);
  });

  it("rejects with the API's error", async () => {
    const { xhr, result } = start();
    xhr.respond(413, JSON.stringify({ detail: "Files up to 500 MB", code: "payload_too_large" }), "Payload Too Large");
    const error = await result;
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 413, code: "payload_too_large", detail: "Files up to 500 MB" });
  });

  it("rejects with a network error when the connection fails", async () => {
    const { xhr, result } = start();
    xhr.dispatchEvent(new Event("error"));
    await expect(result).resolves.toMatchObject({ code: "network_error" });
  });

  it("aborts the request when the view goes away", async () => {
    const controller = new AbortController();
    const { xhr, result } = start(controller.signal);
    controller.abort();
    expect(xhr.aborted).toBe(true);
    await expect(result).resolves.toMatchObject({ name: "AbortError" });
  });
});

import { describe, expect, it, vi } from "vitest";
import { ApiError, createApi, errorFromBody, NETWORK_ERROR } from "../src/api";
import { errorMessage } from "../src/messages";
import { jsonResponse, makeJob, makePage } from "./fixtures";

describe("API client", () => {
  it("lists jobs with limit and offset under /api/v1", async () => {
    const fetchMock = vi.fn(async () => jsonResponse(makePage([makeJob()], 41, 20)));
    const page = await createApi(fetchMock).listJobs(20, 20);
    expect(fetchMock).toHaveBeenCalledWith("/api/v1/jobs?limit=20&offset=20", expect.objectContaining({}));
    expect(page.total).toBe(41);
    expect(page.items[0].id).toBe("0f8e2c1a9b7d4e6f");
  });

  it("posts a generation as JSON", async () => {
    const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) => jsonResponse(makeJob({ kind: "generation", status: "queued" }), 202));
    await createApi(fetchMock).createGeneration("a fox", null);
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe("/api/v1/generations");
    expect(init?.method).toBe("POST");
    expect(JSON.parse(String(init?.body))).toEqual({ prompt: "a fox", model: null });
  });

  it("turns the error body into an ApiError with code and detail", async () => {
    const fetchMock = vi.fn(async () =>
      jsonResponse({ detail: "REPLICATE_API_TOKEN is not set", code: "replicate_not_configured" }, 503),
    );
    const error = await createApi(fetchMock).createGeneration("a fox", null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 503, code: "replicate_not_configured", detail: "REPLICATE_API_TOKEN is not set" });
    expect(errorMessage(error)).toMatch(/no Replicate API token configured/);
  });

  it("copes with non-JSON error pages", async () => {
    const fetchMock = vi.fn(async () => new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" }));
    const error = await createApi(fetchMock).listJobs(20, 0).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 502, code: "http_502" });
    expect(errorMessage(error)).toBe("The server answered 502 Bad Gateway.");
  });

  it("reports an unreachable server as a network error", async () => {
    const fetchMock = vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    });
    const error = await createApi(fetchMock).listJobs(20, 0).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 0, code: NETWORK_ERROR });
    expect(errorMessage(error)).toMatch(/Could not reach the server/);
  });

  it("loads a job of any kind with one request to /jobs/{id}", async () => {
    const fetchMock = vi.fn(async (_url: string) => jsonResponse(makeJob({ id: "g1", kind: "generation" })));
    const job = await createApi(fetchMock).getJob("g1");
    expect(job.kind).toBe("generation");
    expect(fetchMock).toHaveBeenCalledOnce();
    expect(fetchMock.mock.calls[0][0]).toBe("/api/v1/jobs/g1");
  });

  it("reports an unknown job as a 404 ApiError from that one request", async () => {
    const fetchMock = vi.fn(async (_url: string) => jsonResponse({ detail: "no such job: a/b", code: "not_found" }, 404));
    const error = await createApi(fetchMock).getJob("a/b").catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 404, code: "not_found" });
    expect(fetchMock).toHaveBeenCalledOnce();
    expect(fetchMock.mock.calls[0][0]).toBe("/api/v1/jobs/a%2Fb");
  });

  it("deletes a job and accepts the empty 204", async () => {
    const fetchMock = vi.fn(async (_url: string) => new Response(null, { status: 204 }));
    await expect(createApi(fetchMock).deleteJob("a/b")).resolves.toBeUndefined();
    expect(fetchMock.mock.calls[0][0]).toBe("/api/v1/jobs/a%2Fb");
  });
});

describe("errorMessage", () => {
  it("explains each known error code", () => {
    expect(errorMessage(new ApiError(413, "payload_too_large", "Limit is 100 MB."))).toBe(
      "The file is too large for this server. Limit is 100 MB.",
    );
    expect(errorMessage(new ApiError(415, "unsupported_media", "Not a video."))).toMatch(/cannot process this file/);
    expect(errorMessage(new ApiError(422, "invalid_media", "probe failed: /tmp/x.part"))).toBe(
      "The server could not read this file as a video. Is it complete and not corrupt?",
    );
    expect(errorMessage(new ApiError(404, "not_found", "No such route."))).toBe("Not found (HTTP 404): No such route.");
    expect(errorMessage(new ApiError(500, "internal", "Boom happened."))).toBe("Boom happened.");
    expect(errorMessage(new Error("x"))).toMatch(/Something went wrong/);
  });

  it("keeps an error body without a code", () => {
    expect(errorFromBody(400, "Bad Request", JSON.stringify({ detail: "prompt is empty" }))).toMatchObject({
      code: "http_400",
      detail: "prompt is empty",
    });
  });
});

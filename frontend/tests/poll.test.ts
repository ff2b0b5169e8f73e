import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../src/api";
import { pollJob } from "../src/poll";
import type { Job } from "../src/types";
import { makeJob } from "./fixtures";

describe("pollJob", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("fetches until the job reaches a final status", async () => {
    const states: Job["status"][] = ["queued", "processing", "processing", "succeeded"];
    const fetchJob = vi.fn(async () => makeJob({ status: states.shift() ?? "succeeded" }));
    const seen: string[] = [];
    const done = pollJob({
      fetchJob,
      onUpdate: (job) => seen.push(job.status),
      onError: () => {},
      signal: new AbortController().signal,
      intervalMs: 1000,
    });
    await vi.runAllTimersAsync();
    await expect(done).resolves.toMatchObject({ status: "succeeded" });
    expect(seen).toEqual(["queued", "processing", "processing", "succeeded"]);
    expect(fetchJob).toHaveBeenCalledTimes(4);
  });

  it("waits the interval between fetches", async () => {
    const fetchJob = vi.fn(async () => makeJob({ status: "processing" }));
    const controller = new AbortController();
    void pollJob({ fetchJob, onUpdate: () => {}, onError: () => {}, signal: controller.signal, intervalMs: 1000 });
    await vi.advanceTimersByTimeAsync(0);
    expect(fetchJob).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(fetchJob).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fetchJob).toHaveBeenCalledTimes(2);
    controller.abort();
  });

  it("stops when the signal is aborted", async () => {
    const fetchJob = vi.fn(async () => makeJob({ status: "processing" }));
    const controller = new AbortController();
    const done = pollJob({ fetchJob, onUpdate: () => {}, onError: () => {}, signal: controller.signal, intervalMs: 1000 });
    await vi.advanceTimersByTimeAsync(0);
    controller.abort();
    await vi.runAllTimersAsync();
    await done;
    expect(fetchJob).toHaveBeenCalledTimes(1);
  });

  it("retries network errors with a growing delay, and stops on a 404", async () => {
    const errors: unknown[] = [];
    const responses: Array<Job | ApiError> = [
      new ApiError(0, "network_error", "down"),
      new ApiError(0, "network_error", "down"),
      makeJob({ status: "processing" }),
      new ApiError(404, "not_found", "gone"),
    ];
    const fetchJob = vi.fn(async () => {
      const next = responses.shift()!;
      if (next instanceof ApiError) throw next;
      return next;
    });
    const done = pollJob({
      fetchJob,
      onUpdate: () => {},
      onError: (error) => errors.push(error),
      signal: new AbortController().signal,
      intervalMs: 100,
    });
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(199); // first retry waits 2 × interval
    expect(fetchJob).toHaveBeenCalledTimes(1);
    await vi.runAllTimersAsync();
    await expect(done).resolves.toMatchObject({ status: "processing" });
    expect(fetchJob).toHaveBeenCalledTimes(4);
    expect(errors.map((e) => (e as ApiError).code)).toEqual(["network_error", "network_error", "not_found"]);
  });
});

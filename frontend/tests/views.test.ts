import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, type Api } from "../src/api";
import type { ViewContext } from "../src/router";
import type { Job } from "../src/types";
import type { uploadVideo } from "../src/upload";
import { homeView } from "../src/views/home";
import { jobView } from "../src/views/job";
import { jobsView, pageFromQuery } from "../src/views/jobs";
import { notFoundView } from "../src/views/notFound";
import { flush, makeJob, makePage } from "./fixtures";

function fakeApi(overrides: Partial<Api> = {}): Api {
  return {
    listJobs: vi.fn(async () => makePage([])),
    getJob: vi.fn(async () => makeJob()),
    createGeneration: vi.fn(async () => makeJob({ kind: "generation", status: "queued" })),
    deleteJob: vi.fn(async () => undefined),
    checkKey: vi.fn(async () => undefined),
    ...overrides,
  };
}

let outlet: HTMLElement;
let controller: AbortController;
let navigate: ReturnType<typeof vi.fn<ViewContext["navigate"]>>;

function context(overrides: Partial<ViewContext> = {}): ViewContext {
  return {
    params: {},
    query: new URLSearchParams(),
    state: null,
    signal: controller.signal,
    navigate,
    ...overrides,
  };
}

const text = (selector: string): string => outlet.querySelector(selector)?.textContent?.trim() ?? "";

beforeEach(() => {
  document.body.innerHTML = '<main id="main"></main><div id="announcer" aria-live="polite"></div>';
  outlet = document.getElementById("main") as HTMLElement;
  controller = new AbortController();
  navigate = vi.fn<ViewContext["navigate"]>();
});

afterEach(() => {
  controller.abort();
  vi.useRealTimers();
});

describe("home view", () => {
  const upload = vi.fn() as unknown as typeof uploadVideo;

  it("labels every form control", () => {
    homeView({ api: fakeApi(), upload })(outlet, context());
    const controls = outlet.querySelectorAll("textarea, input, progress");
    expect(controls.length).toBe(4);
    for (const control of controls) {
      expect(outlet.querySelector(`label[for="${control.id}"]`), control.id).not.toBeNull();
    }
    expect(document.title).toBe("Create · AI Video");
  });

  it("starts a generation and opens its job", async () => {
    const api = fakeApi();
    homeView({ api, upload })(outlet, context());
    (outlet.querySelector("#prompt") as HTMLTextAreaElement).value = "  a fox in snow ";
    outlet.querySelector<HTMLFormElement>("form")!.requestSubmit();
    await flush();
    expect(api.createGeneration).toHaveBeenCalledWith("a fox in snow", null, controller.signal);
    expect(navigate).toHaveBeenCalledWith("/jobs/0f8e2c1a9b7d4e6f");
  });

  it("says clearly when Replicate is not configured", async () => {
    const api = fakeApi({
      createGeneration: vi.fn(async () => {
        throw new ApiError(503, "replicate_not_configured", "REPLICATE_API_TOKEN is not set");
      }),
    });
    homeView({ api, upload })(outlet, context());
    (outlet.querySelector("#prompt") as HTMLTextAreaElement).value = "a fox";
    outlet.querySelector<HTMLFormElement>("form")!.requestSubmit();
    await flush();
    expect(text("[role=alert]")).toMatch(/no Replicate API token configured/);
    expect(navigate).not.toHaveBeenCalled();
    const submit = outlet.querySelector("button[type=submit]") as HTMLButtonElement;
    expect(submit.disabled).toBe(false);
    expect(document.activeElement).toBe(submit); // keyboard users can retry at once
  });

  it("asks for a prompt instead of sending an empty one", async () => {
    const api = fakeApi();
    homeView({ api, upload })(outlet, context());
    outlet.querySelector<HTMLFormElement>("form")!.requestSubmit();
    await flush();
    expect(api.createGeneration).not.toHaveBeenCalled();
    expect(text("[role=alert]")).toBe("Enter a prompt describing the video.");
  });

  it("shows upload progress and opens the new job", async () => {
    let report: (fraction: number) => void = () => {};
    let finish: (job: Job) => void = () => {};
    const fakeUpload = vi.fn(
      (_file: File, options: { onProgress?: (f: number) => void }) =>
        new Promise<Job>((resolve) => {
          report = options.onProgress!;
          finish = resolve;
        }),
    ) as unknown as typeof uploadVideo;
    homeView({ api: fakeApi(), upload: fakeUpload })(outlet, context());
    const input = outlet.querySelector("#file") as HTMLInputElement;
    Object.defineProperty(input, "files", { value: [new File(["x"], "clip.mp4", { type: "video/mp4" })] });
    outlet.querySelectorAll<HTMLFormElement>("form")[1].requestSubmit();
    await flush();
    report(0.42);
    const progress = outlet.querySelector("progress") as HTMLProgressElement;
    expect(progress.closest(".progress-row")?.hasAttribute("hidden")).toBe(false);
    expect(progress.value).toBe(42);
    expect(text(".progress-text")).toBe("42 %");
    finish(makeJob({ id: "u1", status: "queued", result: null }));
    await flush();
    expect(navigate).toHaveBeenCalledWith("/jobs/u1");
  });
});

describe("jobs view", () => {
  it("reads the page number from the query, defaulting to 1", () => {
    expect(pageFromQuery(new URLSearchParams("page=3"))).toBe(3);
    expect(pageFromQuery(new URLSearchParams("page=-1"))).toBe(1);
    expect(pageFromQuery(new URLSearchParams("page=abc"))).toBe(1);
  });

  it("renders each job with a link, kind and status", async () => {
    const jobs = [
      makeJob({ id: "g1", kind: "generation", status: "failed", input: { prompt: "a fox" }, result: null }),
      makeJob({ id: "u1" }),
    ];
    const api = fakeApi({ listJobs: vi.fn(async () => makePage(jobs)) });
    jobsView(api)(outlet, context());
    await flush();
    const rows = outlet.querySelectorAll("tbody tr");
    expect(rows.length).toBe(2);
    expect(rows[0].querySelector("a")?.getAttribute("href")).toBe("/jobs/g1");
    expect(rows[0].textContent).toContain("a fox");
    expect(rows[0].textContent).toContain("Generation");
    expect(rows[0].querySelector("[data-status]")?.textContent).toBe("Failed");
    expect(rows[1].textContent).toContain("beach.mov");
    expect(text(".count")).toBe("Showing 1–2 of 2");
    expect(outlet.querySelector(".pager")).toBeNull(); // one page: nothing to page through
  });

  it("asks for the right page and links to its neighbours", async () => {
    const items = Array.from({ length: 20 }, (_, i) => makeJob({ id: `j${i}` }));
    const api = fakeApi({ listJobs: vi.fn(async () => makePage(items, 65, 20)) });
    jobsView(api)(outlet, context({ query: new URLSearchParams("page=2") }));
    await flush();
    expect(api.listJobs).toHaveBeenCalledWith(20, 20, controller.signal);
    expect(text(".page-of")).toBe("Page 2 of 4");
    expect(outlet.querySelector("a[rel=prev]")?.getAttribute("href")).toBe("/jobs");
    expect(outlet.querySelector("a[rel=next]")?.getAttribute("href")).toBe("/jobs?page=3");
  });

  it("shows an empty state", async () => {
    jobsView(fakeApi())(outlet, context());
    await flush();
    expect(outlet.textContent).toContain("No jobs yet.");
  });

  it("shows API errors", async () => {
    const api = fakeApi({
      listJobs: vi.fn(async () => {
        throw new ApiError(0, "network_error", "x");
      }),
    });
    jobsView(api)(outlet, context());
    await flush();
    expect(text("[role=alert]")).toMatch(/Could not reach the server/);
  });

  it("refreshes while a job is still running", async () => {
    vi.useFakeTimers();
    const listJobs = vi
      .fn()
      .mockResolvedValueOnce(makePage([makeJob({ status: "processing", result: null })]))
      .mockResolvedValue(makePage([makeJob()]));
    jobsView(fakeApi({ listJobs }), 3000)(outlet, context());
    await vi.advanceTimersByTimeAsync(0);
    expect(text("[data-status]")).toBe("Processing");
    await vi.advanceTimersByTimeAsync(3000);
    expect(text("[data-status]")).toBe("Ready");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(listJobs).toHaveBeenCalledTimes(2);
  });
});

describe("job view", () => {
  it("updates the status while the job runs, then shows the video and metadata", async () => {
    vi.useFakeTimers();
    const getJob = vi
      .fn()
      .mockResolvedValueOnce(makeJob({ status: "queued", result: null }))
      .mockResolvedValueOnce(makeJob({ status: "processing", result: null, updated_at: "2026-11-26T06:00:02Z" }))
      .mockResolvedValue(makeJob());
    jobView(fakeApi({ getJob }), { pollIntervalMs: 1000 })(outlet, context({ params: { id: "0f8e2c1a9b7d4e6f" } }));
    await vi.advanceTimersByTimeAsync(0);
    expect(text("h1")).toBe("beach.mov");
    expect(text("[data-status]")).toBe("Queued");
    expect(outlet.querySelector("video")).toBeNull();
    expect(getJob).toHaveBeenCalledWith("0f8e2c1a9b7d4e6f", controller.signal);

    await vi.advanceTimersByTimeAsync(1000);
    expect(text("[data-status]")).toBe("Processing");
    expect(document.getElementById("announcer")?.textContent).toBe("Job status: Processing.");

    await vi.advanceTimersByTimeAsync(1000);
    expect(text("[data-status]")).toBe("Ready");
    const video = outlet.querySelector("video")!;
    expect(video.getAttribute("src")).toBe("/api/v1/videos/0f8e2c1a9b7d4e6f/file");
    expect(video.getAttribute("poster")).toBe("/api/v1/videos/0f8e2c1a9b7d4e6f/thumbnail");
    expect(outlet.querySelector("img.thumbnail")?.getAttribute("alt")).toBe("Thumbnail");
    const meta = outlet.querySelector(".result .meta")!.textContent;
    expect(meta).toContain("12.5 s");
    expect(meta).toContain("1280 × 720");
    expect(meta).toContain("h264");
    expect(meta).toContain("3.5 MB");

    await vi.advanceTimersByTimeAsync(10_000);
    expect(getJob).toHaveBeenCalledTimes(3); // polling stopped at the final status
  });

  it("shows the failure reason", async () => {
    const api = fakeApi({ getJob: vi.fn(async () => makeJob({ status: "failed", error: "FFmpeg could not process the video (damaged or unsupported data in it?)", result: null })) });
    jobView(api)(outlet, context({ params: { id: "x" } }));
    await flush();
    expect(text("[role=alert]")).toBe("The job failed: FFmpeg could not process the video (damaged or unsupported data in it?)");
  });

  it("renders a not-found message for an unknown job", async () => {
    const api = fakeApi({
      getJob: vi.fn(async () => {
        throw new ApiError(404, "not_found", "Job not found");
      }),
    });
    jobView(api)(outlet, context({ params: { id: "does-not-exist" } }));
    await flush();
    expect(text("h1")).toBe("Job not found");
    expect(text("[data-view=job-not-found] code")).toBe("does-not-exist");
    expect(document.title).toBe("Job not found · AI Video");
  });

  it("cancels a running job after confirmation and returns to the list", async () => {
    vi.useFakeTimers();
    const api = fakeApi({ getJob: vi.fn(async () => makeJob({ status: "processing", result: null })) });
    const confirm = vi.fn(() => true);
    jobView(api, { confirm })(outlet, context({ params: { id: "0f8e2c1a9b7d4e6f" } }));
    await vi.advanceTimersByTimeAsync(0);
    const button = [...outlet.querySelectorAll("button")].find((b) => b.textContent === "Cancel job")!;
    button.click();
    await vi.advanceTimersByTimeAsync(0);
    expect(confirm).toHaveBeenCalledOnce();
    expect(api.deleteJob).toHaveBeenCalledWith("0f8e2c1a9b7d4e6f", controller.signal);
    expect(navigate).toHaveBeenCalledWith("/jobs", { replace: true });
  });

  it("does nothing when the user declines to cancel", async () => {
    const api = fakeApi();
    jobView(api, { confirm: () => false })(outlet, context({ params: { id: "x" } }));
    await flush();
    [...outlet.querySelectorAll("button")].find((b) => b.textContent === "Delete job")!.click();
    await flush();
    expect(api.deleteJob).not.toHaveBeenCalled();
  });
});

describe("not-found view", () => {
  it("names the path and links back into the app", () => {
    window.history.replaceState(null, "", "/no/such/page");
    notFoundView(outlet, context());
    expect(text("h1")).toBe("Page not found");
    expect(text("code")).toBe("/no/such/page");
    expect([...outlet.querySelectorAll("a")].map((a) => a.getAttribute("href"))).toEqual(["/", "/jobs"]);
  });
});

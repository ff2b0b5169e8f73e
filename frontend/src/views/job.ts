// "/jobs/:id": live status, then the video, its thumbnail and metadata; cancel or delete.
import { ApiError, type Api } from "../api";
import { announce, h } from "../dom";
import { formatBytes, formatDate, formatDuration, jobSummary, kindLabel, statusLabel } from "../format";
import { errorMessage } from "../messages";
import { pollJob } from "../poll";
import type { View } from "../router";
import { isTerminal, type Job } from "../types";
import { alertBox, heading, isAbortError, loading, setTitle, statusBadge } from "./common";

export interface JobViewOptions {
  pollIntervalMs?: number;
  confirm?: (message: string) => boolean;
}

export function jobView(api: Api, options: JobViewOptions = {}): View {
  const { pollIntervalMs = 1500, confirm = (message) => window.confirm(message) } = options;

  return (outlet, { params, signal, navigate }) => {
    const id = params.id;
    setTitle(`Job ${id}`);
    const title = heading("Job");
    const body = h("div", { class: "job-body" }, loading("Loading job…"));
    outlet.append(h("p", { class: "breadcrumb" }, h("a", { href: "/jobs" }, "← All jobs")), title, body);

    let shownStatus: Job["status"] | null = null;
    let rendered: Job | null = null;

    const onDelete = async (job: Job, button: HTMLButtonElement): Promise<void> => {
      const running = !isTerminal(job.status);
      const question = running ? "Cancel this job? Its files will be removed." : "Delete this job and its video?";
      if (!confirm(question)) return;
      button.disabled = true;
      try {
        await api.deleteJob(job.id, signal);
        announce(running ? "Job cancelled." : "Job deleted.");
        navigate("/jobs", { replace: true });
      } catch (error) {
        if (isAbortError(error)) return;
        button.disabled = false;
        button.after(alertBox(errorMessage(error)));
      }
    };

    const update = (job: Job): void => {
      title.textContent = jobSummary(job);
      setTitle(jobSummary(job));
      if (shownStatus && shownStatus !== job.status) announce(`Job status: ${statusLabel(job.status)}.`);
      shownStatus = job.status;
      // Only rebuild on a change, so a playing video is not reset by polling.
      if (rendered && rendered.status === job.status && rendered.updated_at === job.updated_at) return;
      rendered = job;
      body.replaceChildren(...renderJob(job, onDelete));
    };

    const onError = (error: unknown): void => {
      if (isAbortError(error)) return;
      if (error instanceof ApiError && error.status === 404) {
        title.textContent = "Job not found";
        setTitle("Job not found");
        body.replaceChildren(
          h(
            "div",
            { class: "card", "data-view": "job-not-found" },
            h("p", {}, "There is no job with the ID ", h("code", {}, id), ". It may have been deleted."),
            h("a", { href: "/jobs", class: "button primary" }, "See all jobs"),
          ),
        );
        return;
      }
      // Keep whatever is shown and add the reason; polling retries network errors.
      const existing = body.querySelector(".poll-error");
      const alert = alertBox(errorMessage(error));
      alert.classList.add("poll-error");
      if (existing) existing.replaceWith(alert);
      else body.prepend(alert);
    };

    void pollJob({
      fetchJob: (s) => api.getJob(id, s),
      onUpdate: (job) => {
        body.querySelector(".poll-error")?.remove();
        update(job);
      },
      onError,
      signal,
      intervalMs: pollIntervalMs,
    });
  };
}

export function renderJob(job: Job, onDelete: (job: Job, button: HTMLButtonElement) => void): HTMLElement[] {
  const running = !isTerminal(job.status);
  const button = h("button", { type: "button", class: running ? "button danger" : "button" }, running ? "Cancel job" : "Delete job");
  button.addEventListener("click", () => onDelete(job, button));

  const statusRow = h(
    "div",
    { class: "status-row" },
    statusBadge(job.status),
    running ? h("span", { class: "spinner", "aria-hidden": "true" }) : null,
    h("span", { class: "status-text" }, statusSentence(job)),
  );

  const parts: HTMLElement[] = [h("section", { class: "card", "aria-label": "Status" }, statusRow, h("div", { class: "actions" }, button))];
  if (job.status === "failed" && job.error) parts.push(alertBox(`The job failed: ${job.error}`));
  if (job.result) parts.push(resultSection(job));
  parts.push(detailsSection(job));
  return parts;
}

function statusSentence(job: Job): string {
  switch (job.status) {
    case "queued":
      return "Waiting for a worker. This page updates by itself.";
    case "processing":
      return "Processing. This page updates by itself.";
    case "succeeded":
      return "Finished.";
    case "failed":
      return "The job failed.";
    case "cancelled":
      return "The job was cancelled.";
  }
}

function resultSection(job: Job): HTMLElement {
  const result = job.result!;
  const video = h("video", {
    controls: true,
    preload: "metadata",
    poster: result.thumbnail_url,
    src: result.file_url,
    width: result.width,
    height: result.height,
    "aria-label": `Video: ${jobSummary(job)}`,
  });
  return h(
    "section",
    { class: "card result", "aria-labelledby": "result-title" },
    h("h2", { id: "result-title" }, "Video"),
    h("div", { class: "player" }, video),
    h(
      "div",
      { class: "result-meta" },
      h("img", { class: "thumbnail", src: result.thumbnail_url, alt: "Thumbnail", width: 160, loading: "lazy" }),
      h(
        "dl",
        { class: "meta" },
        ...metaItem("Duration", formatDuration(result.duration)),
        ...metaItem("Resolution", `${result.width} × ${result.height}`),
        ...metaItem("Video codec", result.video_codec),
        ...metaItem("Audio codec", result.audio_codec ?? "none"),
        ...metaItem("File size", formatBytes(result.size_bytes)),
      ),
    ),
    h("p", {}, h("a", { href: result.file_url, download: true }, "Download MP4")),
  );
}

function detailsSection(job: Job): HTMLElement {
  const { input } = job;
  return h(
    "section",
    { class: "card", "aria-labelledby": "details-title" },
    h("h2", { id: "details-title" }, "Details"),
    h(
      "dl",
      { class: "meta" },
      ...metaItem("Job ID", job.id),
      ...metaItem("Type", kindLabel(job.kind)),
      ...(input.prompt ? metaItem("Prompt", input.prompt) : []),
      ...(input.model ? metaItem("Model", input.model) : []),
      ...(input.filename ? metaItem("File", input.filename) : []),
      ...(input.video_ids?.length ? metaItem("Clips", input.video_ids.join(", ")) : []),
      ...metaItem("Created", formatDate(job.created_at)),
      ...metaItem("Updated", formatDate(job.updated_at)),
    ),
  );
}

function metaItem(term: string, value: string): HTMLElement[] {
  return [h("dt", {}, term), h("dd", {}, value)];
}

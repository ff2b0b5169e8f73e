// "/jobs/:id": live status, then the video, its thumbnail and metadata; cancel or delete.
import { ApiError, type Api } from "../api";
import { announce, h } from "../dom";
import { formatBytes, formatDate, formatDuration, jobSummary, kindLabel, statusLabel } from "../format";
import { mediaLoader, type MediaLoader } from "../media";
import { pollJob } from "../poll";
import type { View } from "../router";
import { isTerminal, type Job } from "../types";
import { alertBox, errorAlert, heading, isAbortError, loading, setTitle, statusBadge } from "./common";

export interface JobViewOptions {
  pollIntervalMs?: number;
  confirm?: (message: string) => boolean;
  /** How the result's video and thumbnail get their sources (see media.ts). */
  media?: (signal: AbortSignal) => MediaLoader;
}

export function jobView(api: Api, options: JobViewOptions = {}): View {
  const { pollIntervalMs = 1500, confirm = (message) => window.confirm(message), media = mediaLoader } = options;

  return (outlet, { params, signal, navigate }) => {
    const id = params.id;
    const loader = media(signal);
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
        button.after(errorAlert(error));
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
      body.replaceChildren(...renderJob(job, onDelete, loader));
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
      const alert = errorAlert(error);
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

/** Sets sources as they are: for a server without API keys. */
const directMedia: MediaLoader = {
  bind(element, attribute, url) {
    element.setAttribute(attribute, url);
  },
};

export function renderJob(
  job: Job,
  onDelete: (job: Job, button: HTMLButtonElement) => void,
  media: MediaLoader = directMedia,
): HTMLElement[] {
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
  if (job.result) parts.push(resultSection(job, media));
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

function resultSection(job: Job, media: MediaLoader): HTMLElement {
  const result = job.result!;
  const video = h("video", {
    controls: true,
    preload: "metadata",
    width: result.width,
    height: result.height,
    "aria-label": `Video: ${jobSummary(job)}`,
  });
  const thumbnail = h("img", { class: "thumbnail", alt: "Thumbnail", width: 160, loading: "lazy" });
  // A blob: URL has no file name of its own: the download attribute gives it one.
  const download = h("a", { download: `${job.id}.mp4` }, "Download MP4");
  media.bind(video, "poster", result.thumbnail_url);
  media.bind(video, "src", result.file_url);
  media.bind(thumbnail, "src", result.thumbnail_url);
  media.bind(download, "href", result.file_url);
  return h(
    "section",
    { class: "card result", "aria-labelledby": "result-title" },
    h("h2", { id: "result-title" }, "Video"),
    h("div", { class: "player" }, video),
    h(
      "div",
      { class: "result-meta" },
      thumbnail,
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
    h("p", {}, download),
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

// Display formatting for job data.
import type { Job } from "./types";

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  const total = Math.round(seconds * 10) / 10;
  const minutes = Math.floor(total / 60);
  const rest = total - minutes * 60;
  const secondsText = rest.toFixed(1).padStart(4, "0");
  return minutes > 0 ? `${minutes}:${secondsText}` : `${rest.toFixed(1)} s`;
}

export function formatDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

const KIND_LABELS: Record<Job["kind"], string> = {
  upload: "Upload",
  generation: "Generation",
  compose: "Composition",
};

export function kindLabel(kind: Job["kind"]): string {
  return KIND_LABELS[kind] ?? kind;
}

const STATUS_LABELS: Record<Job["status"], string> = {
  queued: "Queued",
  processing: "Processing",
  succeeded: "Ready",
  failed: "Failed",
  cancelled: "Cancelled",
};

export function statusLabel(status: Job["status"]): string {
  return STATUS_LABELS[status] ?? status;
}

/** One line that tells jobs apart in a list: the file name, prompt or sources. */
export function jobSummary(job: Job): string {
  const { input } = job;
  if (input.prompt) return input.prompt;
  if (input.filename) return input.filename;
  if (input.video_ids?.length) return `${input.video_ids.length} clips joined`;
  return job.id;
}

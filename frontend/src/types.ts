// Shapes of the backend's /api/v1 responses.

export type JobKind = "upload" | "generation" | "compose";
export type JobStatus = "queued" | "processing" | "succeeded" | "failed" | "cancelled";

// Servers may leave a field out or send it as null.
export interface JobInput {
  filename?: string | null;
  prompt?: string | null;
  model?: string | null;
  video_ids?: string[] | null;
}

export interface JobResult {
  duration: number;
  width: number;
  height: number;
  video_codec: string;
  audio_codec: string | null;
  size_bytes: number;
  file_url: string;
  thumbnail_url: string;
}

export interface Job {
  id: string;
  kind: JobKind;
  status: JobStatus;
  created_at: string;
  updated_at: string;
  error: string | null;
  input: JobInput;
  result: JobResult | null;
}

export interface JobPage {
  items: Job[];
  total: number;
  limit: number;
  offset: number;
}

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(["succeeded", "failed", "cancelled"]);

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

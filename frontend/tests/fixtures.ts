// Job JSON as the backend returns it.
import type { Job, JobPage } from "../src/types";

export function makeJob(overrides: Partial<Job> = {}): Job {
  return {
    id: "0f8e2c1a9b7d4e6f",
    kind: "upload",
    status: "succeeded",
    created_at: "2026-11-26T06:00:00Z",
    updated_at: "2026-11-26T06:00:05Z",
    error: null,
    input: { filename: "beach.mov" },
    result: {
      duration: 12.48,
      width: 1280,
      height: 720,
      video_codec: "h264",
      audio_codec: "aac",
      size_bytes: 3_456_789,
      file_url: "/api/v1/videos/0f8e2c1a9b7d4e6f/file",
      thumbnail_url: "/api/v1/videos/0f8e2c1a9b7d4e6f/thumbnail",
    },
    ...overrides,
  };
}

export function makePage(items: Job[], total = items.length, offset = 0, limit = 20): JobPage {
  return { items, total, limit, offset };
}

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** Resolves pending promise callbacks and microtasks. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setTimeout(resolve, 0));
}

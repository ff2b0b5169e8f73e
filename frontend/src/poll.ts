// Re-fetches a job until it reaches a final status or the view goes away.
import { ApiError, NETWORK_ERROR } from "./api";
import { isTerminal, type Job } from "./types";

export interface PollOptions {
  fetchJob: (signal: AbortSignal) => Promise<Job>;
  onUpdate: (job: Job) => void;
  onError: (error: unknown) => void;
  signal: AbortSignal;
  intervalMs?: number;
  maxIntervalMs?: number;
}

/**
 * Fetches at once, then every `intervalMs` while the job is queued or
 * processing. A lost connection is retried with a growing delay; any other
 * API error (the job was deleted, say) ends polling.
 * Resolves with the last job seen, or null if polling stopped without one.
 */
export async function pollJob(options: PollOptions): Promise<Job | null> {
  const { fetchJob, onUpdate, onError, signal, intervalMs = 1500, maxIntervalMs = 15000 } = options;
  let delay = intervalMs;
  let last: Job | null = null;
  while (!signal.aborted) {
    try {
      last = await fetchJob(signal);
      if (signal.aborted) break;
      onUpdate(last);
      if (isTerminal(last.status)) break;
      delay = intervalMs;
    } catch (error) {
      if (signal.aborted) break;
      onError(error);
      const retryable = error instanceof ApiError && (error.code === NETWORK_ERROR || error.status >= 500);
      if (!retryable) break;
      delay = Math.min(delay * 2, maxIntervalMs);
    }
    await sleep(delay, signal);
  }
  return last;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

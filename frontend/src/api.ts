// The only module that talks to the backend; everything goes through /api/v1.
import { authHeaders, forgetRejectedKey, getApiKey } from "./auth";
import type { Job, JobPage } from "./types";

export const API_BASE = "/api/v1";

/** An error answer from the API ({detail, code}) or a failure to reach it. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;

  constructor(status: number, code: string, detail: string) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

export const NETWORK_ERROR = "network_error";
/** The server wants a (valid) API key: the code of its 401 answers. */
export const UNAUTHORIZED = "unauthorized";

/** True for a 401, whether the service or a proxy in front of it answered. */
export function isUnauthorized(error: unknown): boolean {
  return error instanceof ApiError && (error.code === UNAUTHORIZED || error.status === 401);
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Builds an ApiError from any non-2xx response, JSON or not. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  return errorFromBody(response.status, response.statusText, text);
}

export function errorFromBody(status: number, statusText: string, text: string): ApiError {
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === "object") {
      const { detail, code } = body as { detail?: unknown; code?: unknown };
      const message = typeof detail === "string" ? detail : undefined;
      if (message || typeof code === "string") {
        return new ApiError(status, typeof code === "string" ? code : `http_${status}`, message ?? statusText);
      }
    }
  } catch {
    // Not JSON (a proxy's error page, for instance): fall through to a generic message.
  }
  const reason = statusText ? `${status} ${statusText}` : String(status);
  return new ApiError(status, `http_${status}`, `The server answered ${reason}.`);
}

function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

export interface Api {
  listJobs(limit: number, offset: number, signal?: AbortSignal): Promise<JobPage>;
  /** One job of any kind (upload, generation, compose): GET /jobs/{id}. */
  getJob(id: string, signal?: AbortSignal): Promise<Job>;
  createGeneration(prompt: string, model: string | null, signal?: AbortSignal): Promise<Job>;
  deleteJob(id: string, signal?: AbortSignal): Promise<void>;
  /** Resolves when the server accepts `key` (a cheap authenticated call); throws its ApiError. */
  checkKey(key: string, signal?: AbortSignal): Promise<void>;
}

export function createApi(fetchImpl: FetchLike = (input, init) => fetch(input, init)): Api {
  async function request<T>(path: string, init: RequestInit = {}, key: string | null = getApiKey()): Promise<T> {
    let response: Response;
    try {
      response = await fetchImpl(`${API_BASE}${path}`, {
        ...init,
        headers: { Accept: "application/json", ...authHeaders(key), ...(init.headers ?? {}) },
      });
    } catch (error) {
      if (isAbort(error)) throw error;
      throw new ApiError(0, NETWORK_ERROR, "Could not reach the server.");
    }
    if (response.status === 401) forgetRejectedKey(key);
    if (!response.ok) throw await errorFromResponse(response);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  return {
    listJobs(limit, offset, signal) {
      const query = new URLSearchParams({ limit: String(limit), offset: String(offset) });
      return request<JobPage>(`/jobs?${query}`, { signal });
    },

    getJob(id, signal) {
      return request<Job>(`/jobs/${encodeURIComponent(id)}`, { signal });
    },

    createGeneration(prompt, model, signal) {
      return request<Job>("/generations", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ prompt, model }),
        signal,
      });
    },

    deleteJob(id, signal) {
      return request<void>(`/jobs/${encodeURIComponent(id)}`, { method: "DELETE", signal });
    },

    async checkKey(key, signal) {
      await request<JobPage>("/jobs?limit=1", { signal }, key.trim());
    },
  };
}

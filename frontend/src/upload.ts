// Upload with progress: fetch() cannot report upload progress, XMLHttpRequest can.
import { API_BASE, ApiError, NETWORK_ERROR, errorFromBody } from "./api";
import { authHeaders, forgetRejectedKey, getApiKey } from "./auth";
import type { Job } from "./types";

export type XhrFactory = () => XMLHttpRequest;

export interface UploadOptions {
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
  createXhr?: XhrFactory;
}

export function uploadVideo(file: File, options: UploadOptions = {}): Promise<Job> {
  const { onProgress, signal, createXhr = () => new XMLHttpRequest() } = options;
  return new Promise<Job>((resolve, reject) => {
    const xhr = createXhr();
    xhr.open("POST", `${API_BASE}/videos`);
    xhr.setRequestHeader("Accept", "application/json");
    const key = getApiKey();
    for (const [name, value] of Object.entries(authHeaders(key))) xhr.setRequestHeader(name, value);

    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && event.total > 0) onProgress?.(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          onProgress?.(1);
          resolve(JSON.parse(xhr.responseText) as Job);
        } catch {
          reject(new ApiError(xhr.status, "bad_response", "The server's answer was not valid JSON."));
        }
      } else {
        if (xhr.status === 401) forgetRejectedKey(key);
        reject(errorFromBody(xhr.status, xhr.statusText, xhr.responseText));
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, NETWORK_ERROR, "Could not reach the server.")));
    xhr.addEventListener("abort", () => reject(new DOMException("Upload cancelled", "AbortError")));
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });

    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}

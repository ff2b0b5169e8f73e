// Sources for the <video> and <img> of a job's protected files (GET /api/v1/videos/...).
// Without a key the element loads the API URL itself, so the browser streams the video
// with Range requests. With a key it cannot: an element's own request carries no
// Authorization header. Then the file is fetched with the key and shown from a blob: URL
// (the CSP allows blob: for images and media), revoked when the view goes away.
import { authHeaders, getApiKey } from "./auth";
import type { FetchLike } from "./api";

export type MediaAttribute = "src" | "poster" | "href";

export interface MediaLoader {
  /** Sets element[attribute] to a URL that shows `url` (at once, or once fetched). */
  bind(element: Element, attribute: MediaAttribute, url: string): void;
}

export function mediaLoader(signal: AbortSignal, fetchImpl: FetchLike = (input, init) => fetch(input, init)): MediaLoader {
  const key = getApiKey();
  const blobs = new Map<string, Promise<string | null>>();
  const created: string[] = [];
  signal.addEventListener("abort", () => created.splice(0).forEach((url) => URL.revokeObjectURL(url)), { once: true });

  const load = (url: string): Promise<string | null> => {
    let pending = blobs.get(url);
    if (!pending) {
      pending = fetchImpl(url, { headers: authHeaders(key), signal })
        .then(async (response) => {
          if (!response.ok || signal.aborted) return null;
          const objectUrl = URL.createObjectURL(await response.blob());
          if (signal.aborted) URL.revokeObjectURL(objectUrl);
          else created.push(objectUrl);
          return signal.aborted ? null : objectUrl;
        })
        // A failed or aborted load leaves the element empty; the job view reports errors.
        .catch(() => null);
      blobs.set(url, pending);
    }
    return pending;
  };

  return {
    bind(element, attribute, url) {
      if (!key) {
        element.setAttribute(attribute, url);
        return;
      }
      void load(url).then((objectUrl) => {
        if (objectUrl) element.setAttribute(attribute, objectUrl);
      });
    },
  };
}

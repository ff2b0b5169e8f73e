// Turns API errors into sentences a person can act on.
import { ApiError, NETWORK_ERROR, isUnauthorized } from "./api";

export const SIGN_IN_MESSAGE =
  "This server needs an API key. Sign in with your key to continue (a key the server no longer accepts has to be entered again).";

export function errorMessage(error: unknown): string {
  if (!(error instanceof ApiError)) return "Something went wrong. Please try again.";
  if (isUnauthorized(error)) return SIGN_IN_MESSAGE;
  switch (error.code) {
    case "replicate_not_configured":
      return "Video generation is not available: this server has no Replicate API token configured. You can still upload a clip.";
    case "payload_too_large":
      return `The file is too large for this server. ${error.detail}`;
    case "unsupported_media":
      return `The server cannot process this file. ${error.detail}`;
    case "invalid_media":
      return "The server could not read this file as a video. Is it complete and not corrupt?";
    case "rate_limited":
      // The server says how long to wait ("too many requests: ...; try again in 42 s").
      return `${error.detail.charAt(0).toUpperCase()}${error.detail.slice(1)}.`;
    case NETWORK_ERROR:
      return "Could not reach the server. Check your connection and try again.";
    default:
      // Views that expect a 404 (a job page) say so themselves.
      if (error.status === 404) return `Not found (HTTP 404): ${error.detail}`;
      return error.detail || `The server answered with an error (HTTP ${error.status}).`;
  }
}

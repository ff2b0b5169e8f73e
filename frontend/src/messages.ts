// Turns API errors into sentences a person can act on.
import { ApiError, NETWORK_ERROR } from "./api";

export function errorMessage(error: unknown): string {
  if (!(error instanceof ApiError)) return "Something went wrong. Please try again.";
  switch (error.code) {
    case "replicate_not_configured":
      return "Video generation is not available: this server has no Replicate API token configured. You can still upload a clip.";
    case "payload_too_large":
      return `The file is too large for this server. ${error.detail}`;
    case "unsupported_media":
      return `The server cannot process this file. ${error.detail}`;
    case "invalid_media":
      return "The server could not read this file as a video. Is it complete and not corrupt?";
    case NETWORK_ERROR:
      return "Could not reach the server. Check your connection and try again.";
    default:
      // Views that expect a 404 (a job page) say so themselves.
      if (error.status === 404) return `Not found (HTTP 404): ${error.detail}`;
      return error.detail || `The server answered with an error (HTTP ${error.status}).`;
  }
}

// "/": start a generation from a prompt, or upload a clip.
import type { Api } from "../api";
import { announce, h } from "../dom";
import type { View } from "../router";
import type { Job } from "../types";
import type { uploadVideo } from "../upload";
import { alertBox, errorAlert, heading, isAbortError, setTitle } from "./common";

export interface HomeDeps {
  api: Api;
  upload: typeof uploadVideo;
}

export function homeView({ api, upload }: HomeDeps): View {
  return (outlet, { navigate, signal }) => {
    setTitle("Create");
    const openJob = (job: Job): void => navigate(`/jobs/${encodeURIComponent(job.id)}`);
    outlet.append(
      heading("Create a video"),
      h("p", { class: "lead" }, "Describe a clip for the AI model to generate, or upload a video of your own."),
      h("div", { class: "grid-2" }, generationForm(api, openJob, signal), uploadForm(upload, openJob, signal)),
    );
  };
}

function generationForm(api: Api, openJob: (job: Job) => void, signal: AbortSignal): HTMLElement {
  const prompt = h("textarea", {
    id: "prompt",
    name: "prompt",
    rows: 4,
    required: true,
    maxlength: 2000,
    placeholder: "A red fox running through fresh snow at sunrise",
    "aria-describedby": "prompt-hint",
  });
  const model = h("input", { id: "model", name: "model", type: "text", autocomplete: "off", placeholder: "Server default" });
  const submit = h("button", { type: "submit", class: "button primary" }, "Generate video");
  const feedback = h("div", { class: "feedback" });

  const form = h(
    "form",
    { class: "card", "aria-labelledby": "generate-title", novalidate: true },
    h("h2", { id: "generate-title" }, "Generate from a prompt"),
    h("label", { for: "prompt" }, "Prompt"),
    prompt,
    h("p", { id: "prompt-hint", class: "hint" }, "Say what should happen in the clip."),
    h("label", { for: "model" }, "Model ", h("span", { class: "optional" }, "(optional)")),
    model,
    h("div", { class: "actions" }, submit),
    feedback,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    feedback.replaceChildren();
    const text = prompt.value.trim();
    if (!text) {
      feedback.append(alertBox("Enter a prompt describing the video."));
      prompt.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Starting…";
    try {
      const job = await api.createGeneration(text, model.value.trim() || null, signal);
      announce("Generation started.");
      openJob(job);
    } catch (error) {
      if (isAbortError(error)) return;
      feedback.append(errorAlert(error));
      submit.disabled = false;
      submit.textContent = "Generate video";
      submit.focus(); // disabling it dropped keyboard focus to the page

    }
  });
  return form;
}

function uploadForm(upload: typeof uploadVideo, openJob: (job: Job) => void, signal: AbortSignal): HTMLElement {
  const file = h("input", {
    id: "file",
    name: "file",
    type: "file",
    accept: "video/*",
    required: true,
    "aria-describedby": "file-hint",
  });
  const submit = h("button", { type: "submit", class: "button primary" }, "Upload clip");
  const progress = h("progress", { id: "upload-progress", max: 100, value: 0 });
  const progressText = h("span", { class: "progress-text" }, "0 %");
  const progressRow = h(
    "div",
    { class: "progress-row", hidden: true },
    h("label", { for: "upload-progress" }, "Upload progress"),
    progress,
    progressText,
  );
  const feedback = h("div", { class: "feedback" });

  const form = h(
    "form",
    { class: "card", "aria-labelledby": "upload-title", novalidate: true },
    h("h2", { id: "upload-title" }, "Upload a clip"),
    h("label", { for: "file" }, "Video file"),
    file,
    h("p", { id: "file-hint", class: "hint" }, "MP4, MOV, WebM or another common video format."),
    h("div", { class: "actions" }, submit),
    progressRow,
    feedback,
  );

  const setProgress = (fraction: number): void => {
    const percent = Math.round(fraction * 100);
    progress.value = percent;
    progressText.textContent = `${percent} %`;
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    feedback.replaceChildren();
    const chosen = file.files?.[0];
    if (!chosen) {
      feedback.append(alertBox("Choose a video file to upload."));
      file.focus();
      return;
    }
    submit.disabled = true;
    progressRow.hidden = false;
    setProgress(0);
    try {
      const job = await upload(chosen, { onProgress: setProgress, signal });
      announce("Upload finished.");
      openJob(job);
    } catch (error) {
      if (isAbortError(error)) return;
      progressRow.hidden = true;
      feedback.append(errorAlert(error));
      submit.disabled = false;
      submit.focus();
    }
  });
  return form;
}

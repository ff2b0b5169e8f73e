// "/jobs": every job, newest first, a page at a time; refreshes while any is running.
import type { Api } from "../api";
import { h } from "../dom";
import { formatDate, jobSummary, kindLabel } from "../format";
import type { View } from "../router";
import { isTerminal, type Job, type JobPage } from "../types";
import { alertBox, errorAlert, heading, isAbortError, loading, setTitle, statusBadge } from "./common";

export const PAGE_SIZE = 20;
const REFRESH_MS = 3000;

export function pageFromQuery(query: URLSearchParams): number {
  const page = Number.parseInt(query.get("page") ?? "1", 10);
  return Number.isFinite(page) && page >= 1 ? page : 1;
}

export function jobsView(api: Api, refreshMs = REFRESH_MS): View {
  return (outlet, { query, signal }) => {
    setTitle("Jobs");
    const page = pageFromQuery(query);
    const body = h("div", { class: "jobs-body" }, loading("Loading jobs…"));
    outlet.append(
      h("div", { class: "page-head" }, heading("Jobs"), h("a", { href: "/", class: "button" }, "New video")),
      body,
    );

    const load = async (): Promise<void> => {
      try {
        const result = await api.listJobs(PAGE_SIZE, (page - 1) * PAGE_SIZE, signal);
        if (signal.aborted) return;
        body.replaceChildren(...renderPage(result, page));
        if (result.items.some((job) => !isTerminal(job.status))) schedule();
      } catch (error) {
        if (isAbortError(error) || signal.aborted) return;
        body.replaceChildren(errorAlert(error));
      }
    };
    const schedule = (): void => {
      const timer = setTimeout(load, refreshMs);
      signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
    };
    void load();
  };
}

export function renderPage(result: JobPage, page: number): HTMLElement[] {
  if (result.total === 0) {
    return [
      h("div", { class: "empty card" }, h("p", {}, "No jobs yet."), h("a", { href: "/", class: "button primary" }, "Create your first video")),
    ];
  }
  if (result.items.length === 0) {
    return [alertBox(`Page ${page} is empty.`, "info"), pager(result, page)];
  }
  const first = result.offset + 1;
  const last = result.offset + result.items.length;
  const paged = result.total > result.limit;
  return [
    h("p", { class: "count", role: "status" }, `Showing ${first}–${last} of ${result.total}`),
    jobTable(result.items),
    ...(paged ? [pager(result, page)] : []),
  ];
}

function jobTable(jobs: Job[]): HTMLTableElement {
  return h(
    "table",
    { class: "jobs-table" },
    h("caption", { class: "visually-hidden" }, "Jobs, newest first"),
    h(
      "thead",
      {},
      h("tr", {}, h("th", { scope: "col" }, "Job"), h("th", { scope: "col" }, "Type"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Created")),
    ),
    h("tbody", {}, ...jobs.map(jobRow)),
  );
}

function jobRow(job: Job): HTMLTableRowElement {
  return h(
    "tr",
    { "data-job-id": job.id },
    h(
      "td",
      { "data-label": "Job", class: "job-cell" },
      // The kind tells the job page which collection to ask, saving a lookup.
      h("a", { href: `/jobs/${encodeURIComponent(job.id)}`, "data-state": JSON.stringify({ kind: job.kind }) }, jobSummary(job)),
      h("span", { class: "job-id" }, job.id),
    ),
    h("td", { "data-label": "Type" }, kindLabel(job.kind)),
    h("td", { "data-label": "Status" }, statusBadge(job.status)),
    h("td", { "data-label": "Created" }, h("time", { datetime: job.created_at }, formatDate(job.created_at))),
  );
}

function pager(result: JobPage, page: number): HTMLElement {
  const pages = Math.max(1, Math.ceil(result.total / result.limit));
  const link = (target: number, text: string, rel: string): HTMLElement =>
    h("a", { href: target === 1 ? "/jobs" : `/jobs?page=${target}`, class: "button", rel }, text);
  const disabled = (text: string): HTMLElement => h("span", { class: "button", "aria-disabled": "true" }, text);
  return h(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    page > 1 ? link(Math.min(page - 1, pages), "← Newer", "prev") : disabled("← Newer"),
    h("span", { class: "page-of" }, `Page ${page} of ${pages}`),
    page < pages ? link(page + 1, "Older →", "next") : disabled("Older →"),
  );
}

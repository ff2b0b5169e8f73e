// @vitest-environment node
// The server's Content-Security-Policy allows scripts and styles from the app's origin
// only (script-src 'self'; style-src 'self'): the built page must load everything from
// files, with nothing inline for the policy to block.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "vite";

const root = resolve(__dirname, "..");
const outDir = mkdtempSync(join(tmpdir(), "spa-csp-"));
let html = "";
let scripts: string[] = [];

beforeAll(async () => {
  await build({ root, logLevel: "silent", build: { outDir, emptyOutDir: true } });
  html = readFileSync(join(outDir, "index.html"), "utf8");
  scripts = readdirSync(join(outDir, "assets")).filter((name) => name.endsWith(".js"));
}, 60_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("the built page under the CSP", () => {
  it("loads its script and style from files", () => {
    expect(html).toMatch(/<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
    expect(html).toMatch(/<link rel="stylesheet" crossorigin href="\/assets\/index-[\w-]+\.css">/);
  });

  it("has no inline script, style or event handler", () => {
    const scriptTags = html.match(/<script\b[^>]*>/g) ?? [];
    expect(scriptTags.every((tag) => /\ssrc="\/assets\//.test(tag))).toBe(true);
    expect(html).not.toMatch(/<script\b[^>]*>[^<]+<\/script>/);
    expect(html).not.toMatch(/<style\b/);
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).not.toMatch(/\son[a-z]+=/);
    expect(html).not.toMatch(/javascript:/);
  });

  it("has no modulepreload polyfill (vite.config.ts turns it off)", () => {
    expect(scripts).toHaveLength(1);
    const bundle = readFileSync(join(outDir, "assets", scripts[0]), "utf8");
    expect(bundle).not.toContain("modulepreload");
  });
});

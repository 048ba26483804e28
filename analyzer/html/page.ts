import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { PageData } from './model';

/** The page's own script and style, next to this module's source (analyzer/html/). */
const SOURCE_DIR = join(__dirname, '..', '..', '..', 'analyzer', 'html');

/**
 * One self-contained HTML file: uPlot (its minified build and style, inlined), the page's style
 * and script, and the run's data as JSON in a non-executed script element. Nothing is fetched:
 * the Content-Security-Policy allows no network source. The data's strings are only ever put into
 * the page as text by the script, and the JSON cannot end its script element early (`<` is
 * escaped), so a thread named `<script>` stays text.
 */
export function renderPage(data: PageData): string {
  const title = `mutex profile: ${data.run.target.comm ?? '?'} (pid ${data.run.target.pid ?? '?'})`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="mutex-analyze html (${escapeHtml(data.schema)})">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${asset(require.resolve('uplot/dist/uPlot.min.css'))}</style>`,
    `<style>${asset(join(SOURCE_DIR, 'page.css'))}</style>`,
    '</head><body>',
    '<main id="report"><p>Loading the report… (it needs JavaScript)</p></main>',
    `<script type="application/json" id="run-data">${jsonForScript(data)}</script>`,
    `<script>${scriptText(asset(require.resolve('uplot/dist/uPlot.iife.min.js')))}</script>`,
    `<script>${scriptText(asset(join(SOURCE_DIR, 'client.js')))}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}

function asset(path: string): string {
  return readFileSync(path, 'utf8');
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that a script element holds as it is: no `<` (so no `</script>` nor `<!--`), no line separators. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Code inlined in a script element: a `</script` inside a string must not close it. */
function scriptText(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1');
}

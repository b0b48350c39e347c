// HTML escaping, link sanitising and number formatting shared by the pages; all output is deterministic.

import { htmlText } from '../text/escape.js';

/** Text safe in element content and in quoted attributes (see src/text/escape.ts). */
export function escapeHtml(text: string): string {
  return htmlText(text);
}

/**
 * An href safe to put in an attribute: http(s) URLs, fragments and relative paths pass, any other scheme
 * (javascript:, data:, file:) is refused, since the value may come from a spec.
 */
export function safeHref(href: string): string | undefined {
  const h = href.trim();
  if (/^https?:\/\//i.test(h)) return h;
  if (/^[a-z][a-z0-9+.-]*:/i.test(h) || h.startsWith('//') || h === '' || /[\u0000-\u001f\\]/.test(h)) return undefined;
  return h;
}

/** Escaped text in which bare http(s) URLs become links (for references). */
export function linkify(text: string): string {
  const parts = text.split(/(https?:\/\/[^\s<>"']+[^\s<>"'.,;:)\]])/);
  return parts
    .map((part, i) => (i % 2 === 1 ? `<a href="${escapeHtml(part)}">${escapeHtml(part)}</a>` : escapeHtml(part)))
    .join('');
}

/** Escaped paragraphs from plain text separated by blank lines. */
export function paragraphs(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => `<p>${escapeHtml(p)}</p>`)
    .join('\n');
}

/** Integers with thin-space grouping, written by hand so the output does not depend on the ICU build. */
export function formatInt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const sign = n < 0 ? '\u2212' : '';
  const digits = String(Math.round(Math.abs(n)));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
}

/** Bytes with a binary-prefixed companion, e.g. `1 536 B (1.5 KiB)`. */
export function formatBytes(n: number): string {
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n;
  let unit = '';
  for (const u of units) {
    if (v < 1024) break;
    v /= 1024;
    unit = u;
  }
  return unit === '' ? `${formatInt(n)} B` : `${formatInt(n)} B (${Number(v.toPrecision(3))} ${unit})`;
}

/** `digits` significant digits, trailing zeros dropped, a real minus sign. */
export function formatNumber(v: number, digits = 6): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '\u221e' : '\u2212\u221e';
  if (v === 0) return '0';
  const [mant, exp] = v.toPrecision(digits).split('e') as [string, string | undefined];
  const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
  const s = exp === undefined ? m : `${m}e${exp.replace(/^\+/, '')}`;
  return s.replace(/-/g, '\u2212');
}

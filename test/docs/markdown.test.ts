// The Markdown subset and the HTML helpers used for project pages and spec-derived text.
import { describe, expect, it } from 'vitest';
import { markdown } from '../../src/docs/markdown.js';
import { formatBytes, formatInt, formatNumber, linkify, safeHref } from '../../src/docs/html.js';

describe('markdown', () => {
  it('renders headings, lists, code and tables', () => {
    const html = markdown('# Title\n\ntext with `a<b` and **bold**\n\n- one\n- two\n\n```ts\nx < y\n```\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n');
    expect(html).toContain('<h1 id="title">Title</h1>');
    expect(html).toContain('<code>a&lt;b</code>');
    expect(html).toContain('<strong>bold</strong>');
    expect(html).toContain('<ul>\n<li>one</li>\n<li>two</li>\n</ul>');
    expect(html).toContain('<pre><code class="language-ts">x &lt; y</code></pre>');
    expect(html).toContain('<td style="text-align:right">2</td>');
  });

  it('escapes raw HTML and drops script links', () => {
    const html = markdown('<script>alert(1)</script>\n\n[x](javascript:alert(1)) [y](docs/a.html)');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('href="javascript');
    expect(html).toContain('<a href="docs/a.html">y</a>');
  });
});

describe('html helpers', () => {
  it('formats numbers deterministically', () => {
    expect(formatNumber(0.1234567)).toBe('0.123457');
    expect(formatNumber(-0.00001234)).toBe('\u22120.00001234');
    expect(formatNumber(1e-9)).toBe('1e\u22129');
    expect(formatNumber(2.5e7)).toBe('2.5e7');
    expect(formatInt(1234567)).toBe('1\u2009234\u2009567');
    expect(formatBytes(2048)).toBe('2\u2009048 B (2 KiB)');
  });

  it('keeps only relative and http(s) links', () => {
    expect(safeHref('kernels/gru.ts')).toBe('kernels/gru.ts');
    expect(safeHref('https://arxiv.org')).toBe('https://arxiv.org');
    expect(safeHref('javascript:alert(1)')).toBeUndefined();
    expect(safeHref(' data:text/html,x')).toBeUndefined();
    expect(linkify('see https://a.org/x. <b>')).toBe('see <a href="https://a.org/x">https://a.org/x</a>. &lt;b&gt;');
  });
});

describe('heading anchors', () => {
  it('gives headings GitHub-style ids so in-page links from the README resolve', () => {
    expect(markdown('### Worked example: a new cell (`swish`)')).toContain('<h3 id="worked-example-a-new-cell-swish">');
    expect(markdown('## PyTorch and ONNX weights')).toContain('id="pytorch-and-onnx-weights"');
  });
});

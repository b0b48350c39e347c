// Handlebars templates compiled once per content. Compiling them (parsing, then generating the template's JavaScript)
// costs a build about 0.2 s every time it starts; with a folder set (the build cache's, see src/build/build.ts),
// the generated JavaScript is kept there, keyed by handlebars' version, the options and the template's text, and
// revived with handlebars' own `template()`, as precompiled templates are: the same functions render the same bytes.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Handlebars from 'handlebars';

let folder: string | undefined;

/** Where compiled templates are kept (undefined: nowhere, compile every time). */
export function useTemplateFolder(dir: string | undefined): void {
  folder = dir;
}

export const templateFolder = (): string | undefined => folder;

/** `hbs.compile(text, options)`, through the folder when one is set. */
export function compileTemplate<T>(hbs: typeof Handlebars, text: string, options: CompileOptions): HandlebarsTemplateDelegate<T> {
  if (!folder) return hbs.compile<T>(text, options);
  const key = createHash('sha256').update(JSON.stringify([hbs.VERSION, options, text])).digest('hex').slice(0, 32);
  const path = join(folder, `${key}.js`);
  let spec: string | undefined;
  try {
    spec = readFileSync(path, 'utf8');
  } catch {
    spec = hbs.precompile(text, options) as string;
    try {
      mkdirSync(folder, { recursive: true });
      const tmp = `${path}.tmp-${process.pid}`;
      writeFileSync(tmp, spec);
      renameSync(tmp, path);
    } catch {
      // A read-only or full disk only costs speed.
    }
  }
  // The JavaScript handlebars generated for this text (what `hbs.precompile` returns), revived as a precompiled template.
  return hbs.template<T>(new Function(`return ${spec};`)() as TemplateSpecification);
}

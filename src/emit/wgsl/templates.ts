// Renders the handlebars scaffolding of templates/wgsl/ around code printed by the WGSL emitter.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { compileTemplate } from '../../text/templates.js';

export interface ShaderView {
  title: string;
  file: string;
  what: 'forward' | 'backward';
  buffers: { binding: number; name: string; access: 'read' | 'read_write'; comment: string }[];
  overrides: string[];
  helpers: string[];
  entries: { name: string; comment: string; body: string }[];
  workgroupSize: number;
  gemms: { name: string; comment: string; helpers: string; body: string }[];
  gemmShared: string[];
  gemmSide: number;
  tiles: { name: string; comment: string; body: string }[];
  tileShared: string[];
  tileThreads: number;
}

export interface ModuleView {
  title: string;
  name: string;
  file: string;
  command: string;
  runtimeImport: string;
  sizes: { name: string; symbol: string }[];
  paramNames: string;
  inputNames: string;
  stateNames: string;
  forward: string;
  backward: string;
  kernels: string;
}

// Walk up from this module: the same code runs from src/ (tsx) and from dist/src/ (built).
function findTemplate(rel: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'templates', 'wgsl', rel);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`invariant: templates/wgsl/${rel} not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

const cache = new Map<string, HandlebarsTemplateDelegate>();
function render(rel: string, view: object): string {
  let t = cache.get(rel);
  if (!t) cache.set(rel, (t = compileTemplate(Handlebars, readFileSync(findTemplate(rel), 'utf8'), { noEscape: true, strict: true })));
  return t(view);
}

export const renderShader = (view: ShaderView): string => render('kernels.wgsl.hbs', view);
export const renderModule = (view: ModuleView): string => render('module.ts.hbs', view);

import { describe, expect, it } from 'vitest';
import { GeneratedNames, IDENT, isReserved, specIdent } from '../../src/emit/names.js';

describe('names', () => {
  it('keeps ordinary spec names as they are', () => {
    for (const n of ['W_z', 'h', 'h_cand', 'sizes', 'batch', 'check', 'gemmNT']) {
      expect(specIdent('ts', n)).toBe(n);
      expect(specIdent('wgsl', n)).toBe(n);
    }
  });

  it('escapes keywords and built-ins of each target, outside both namespaces', () => {
    expect(specIdent('ts', 'for')).toBe('_for');
    expect(specIdent('ts', 'Math')).toBe('_Math');
    expect(specIdent('wgsl', 'exp')).toBe('_exp');
    expect(specIdent('wgsl', 'vec3f')).toBe('_vec3f');
    expect(specIdent('wgsl', 'textureLoad')).toBe('_textureLoad');
    expect(isReserved('wgsl', 'W_z')).toBe(false);
  });

  it('never gives a spec name an identifier that ends in _', () => {
    for (const n of ['a', 'for', 'exp', 'Z9', 'a_b_c', 'let']) for (const t of ['ts', 'wgsl'] as const) expect(specIdent(t, n)).not.toMatch(/_$/);
  });

  it('allocates distinct generated names, all ending in _ and outside the spec namespace', () => {
    const g = new GeneratedNames(['check_']);
    const made = ['check', 'check', 'o1', 'o', 'o', '_x', 'a__b', ''].map((b) => g.fresh(b));
    expect(new Set(made).size).toBe(made.length);
    for (const n of made) {
      expect(n).toMatch(/^[A-Za-z][A-Za-z0-9_]*_$/);
      expect(IDENT.test(n)).toBe(false);
      expect(n).not.toContain('__');
    }
    expect(made).not.toContain('check_');
  });

  it('refuses a spec name the reader would not admit', () => {
    expect(() => specIdent('ts', 'a__b')).toThrow(/not a spec name/);
  });
});

// Type-checks emitted TypeScript under strict mode in one program (ts-morph, in memory): any error is
// a bug in an emitter. Loaded only by `cellgen build --typecheck` and the tests.

import { Project, ts } from 'ts-morph';

export function typeCheck(files: { path: string; text: string }[], stubs: string[] = []): void {
  const project = new Project({
    useInMemoryFileSystem: true,
    compilerOptions: { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, lib: ['lib.es2023.d.ts'], noEmit: true },
  });
  for (const f of files) project.createSourceFile(`/g/${f.path}`, f.text);
  for (const s of stubs) project.createSourceFile(`/g/ts/${s}.ts`, 'export {};');
  const diags = project.getPreEmitDiagnostics();
  if (!diags.length) return;
  // One line, no colour codes: the message reaches the terminal through terminal(), which shows controls as escapes.
  const where = (d: (typeof diags)[number]): string => {
    const f = d.getSourceFile();
    const start = d.getStart();
    if (!f || start === undefined) return '';
    const { line, column } = f.getLineAndColumnAtPos(start);
    return `${f.getFilePath().replace(/^\/g\//, '')}:${line}:${column} `;
  };
  const lines = diags.slice(0, 5).map((d) => `${where(d)}TS${d.getCode()} ${ts.flattenDiagnosticMessageText(d.compilerObject.messageText, ' ')}`);
  throw new Error(`generated TypeScript does not type-check: ${lines.join('; ')}`);
}

/**
 * The modules a built entry reaches through its static and dynamic imports: its own files, and
 * the packages (bare specifiers) they import. The packaging test checks the installed client
 * entries with it: a browser bundle must never reach a server-only dependency.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** `import … from 'x'`, `export … from 'x'`, `import 'x'`, `import('x')`. Type-only imports are gone from emitted JS. */
const importPattern = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

export interface ImportGraph {
  files: Set<string>;
  packages: Set<string>;
}

/** The package name of a bare specifier (`@trpc/client/links` → `@trpc/client`, `node:fs` stays). */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

export function importGraph(entry: string): ImportGraph {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [resolve(entry)];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    for (const match of readFileSync(file, 'utf8').matchAll(importPattern)) {
      const specifier = match[1] ?? match[2] ?? match[3]!;
      if (specifier.startsWith('.')) pending.push(resolve(dirname(file), specifier));
      else packages.add(packageName(specifier));
    }
  }
  return { files, packages };
}

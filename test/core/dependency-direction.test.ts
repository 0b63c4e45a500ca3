/**
 * Dependencies point one way, in the order data flows (issue 14): shared ← bus ← core ← store ← cluster
 * (the backends) ← api ← transport ← http. Checked on the sources' relative imports (type-only
 * imports included: a type is a dependency too), so a file that reaches upwards, or two files
 * that import each other, fail here rather than in a review.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const files = [...sourceFiles(join(root, 'server')), ...sourceFiles(join(root, 'shared'))];
const imports = new Map(
  files.map((file) => {
    const specifiers = [...readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g)].map((match) => match[1]!);
    const targets = specifiers.map((specifier) => resolve(dirname(file), specifier.replace(/\.js$/, '.ts'))).filter((target) => files.includes(target));
    return [relative(root, file), targets.map((target) => relative(root, target))];
  }),
);

/** Folders a folder must not import from. */
const forbidden: Record<string, string[]> = {
  'shared/': ['server/'],
  'server/bus/': ['server/core/', 'server/store/', 'server/cluster/', 'server/api/', 'server/transport/', 'server/http/'],
  'server/core/': ['server/store/', 'server/cluster/', 'server/api/', 'server/transport/', 'server/http/'],
  // The SQL store implements the core's DurableStore; only the http layer (which builds the service) picks it.
  'server/store/': ['server/cluster/', 'server/api/', 'server/transport/', 'server/http/'],
  'server/cluster/': ['server/api/', 'server/transport/', 'server/http/'],
  'server/api/': ['server/transport/', 'server/http/'],
  'server/transport/': ['server/http/'],
};

function cycles(): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'visiting');
    path.push(file);
    for (const target of imports.get(file) ?? []) {
      if (state.get(target) === 'visiting') found.push(path.slice(path.indexOf(target)).sort());
      else if (!state.has(target)) visit(target);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of imports.keys()) if (!state.has(file)) visit(file);
  return found;
}

describe('dependency direction', () => {
  it('has no folder importing from a folder above it', () => {
    const violations = [...imports].flatMap(([file, targets]) =>
      Object.entries(forbidden)
        .filter(([folder]) => file.startsWith(folder))
        .flatMap(([, banned]) => targets.filter((target) => banned.some((folder) => target.startsWith(folder))).map((target) => `${file} -> ${target}`)),
    );
    expect(violations).toEqual([]);
  });

  it('has no files that import each other', () => {
    expect(cycles()).toEqual([]);
  });
});

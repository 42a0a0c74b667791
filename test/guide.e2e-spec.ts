import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The guides' TypeScript snippets compile and carry their imports.
 *
 * A snippet that quotes a real file (the example module that `npm run typecheck` compiles
 * and the end-to-end tests run) names it: a `path.ts` in backticks on the line before the
 * ```ts block, or a first line `// path.ts`. Every line of the block then stands in that
 * file in the same order (a line `// …` skips some), and the block imports every name it
 * uses that the file imports. A snippet that names no file (a sketch of a change) must
 * import every decorator it uses. So a reader who copies a snippet gets its imports too.
 */
const ROOT = join(__dirname, '..');
const GUIDES = ['README.md', 'docs/EXTENDING.md'];
const SKIP = /^\/\/ …$/;

interface Snippet {
  guide: string;
  line: number;
  file: string | undefined;
  lines: string[];
}

function snippets(guide: string): Snippet[] {
  const text = readFileSync(join(ROOT, guide), 'utf8').split('\n');
  const found: Snippet[] = [];
  for (let i = 0; i < text.length; i += 1) {
    if (text[i].trim() !== '```ts') continue;
    const start = i;
    // A block inside a list item is indented as a whole: its lines are read without that indent.
    const indent = text[i].length - text[i].trimStart().length;
    const lines: string[] = [];
    for (i += 1; i < text.length && text[i].trim() !== '```'; i += 1) lines.push(text[i].replace(new RegExp(`^ {0,${indent}}`), ''));
    let before = start - 1;
    while (before >= 0 && text[before].trim() === '') before -= 1;
    const named = /`((?:src|test|bench)\/[\w./-]+\.ts)`/.exec(text[before] ?? '')?.[1];
    const first = /^\/\/ ((?:src|test|bench)\/[\w./-]+\.ts)/.exec(lines[0]?.trim() ?? '')?.[1];
    found.push({ guide, line: start + 1, file: first ?? named, lines: first ? lines.slice(1) : lines });
  }
  return found;
}

const all = GUIDES.flatMap(snippets);

/** The names a file imports, each with its import line. */
function importedNames(source: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const match of source.matchAll(/^import (?:type )?\{([^}]+)\} from '[^']+';$/gm)) {
    for (const part of match[1].split(',')) {
      const name = part.trim().replace(/^type /, '').split(' as ').pop()!.trim();
      if (name) names.set(name, match[0]);
    }
  }
  return names;
}

describe('the guides quote real, compiled files', () => {
  it('finds the snippets', () => {
    expect(all.filter((snippet) => snippet.guide === 'docs/EXTENDING.md').length).toBeGreaterThan(5);
  });

  it.each(all.map((snippet) => [`${snippet.guide}:${snippet.line}`, snippet] as const))('%s', (_, snippet) => {
    if (snippet.file === undefined) {
      const imports = snippet.lines.filter((line) => line.startsWith('import ')).join('\n');
      const defined = snippet.lines.join('\n');
      for (const [, name] of snippet.lines.join('\n').matchAll(/@([A-Z]\w*)\(/g)) {
        const local = new RegExp(`(?:const|function|class) ${name}\\b`).test(defined);
        expect(local || new RegExp(`\\b${name}\\b`).test(imports), `the snippet uses @${name}(): show its import`).toBe(true);
      }
      return;
    }
    const path = join(ROOT, snippet.file!);
    expect(existsSync(path), `${snippet.file} exists`).toBe(true);
    const source = readFileSync(path, 'utf8');
    const sourceLines = source.split('\n').map((line) => line.trim());
    let at = 0;
    for (const line of snippet.lines.map((l) => l.trim()).filter((l) => l !== '' && !SKIP.test(l))) {
      const found = sourceLines.indexOf(line, at);
      expect(found, `"${line}" is in ${snippet.file}, after the lines before it`).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
    const body = snippet.lines.filter((line) => !line.startsWith('import ')).join('\n');
    const imports = snippet.lines.filter((line) => line.startsWith('import ')).join('\n');
    for (const [name, importLine] of importedNames(source)) {
      if (new RegExp(`\\b${name}\\b`).test(body)) {
        expect(new RegExp(`\\b${name}\\b`).test(imports), `the snippet uses ${name}: show "${importLine}"`).toBe(true);
      }
    }
  });
});

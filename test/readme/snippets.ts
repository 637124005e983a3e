/**
 * The README's code blocks, as test/readme/readme.test.ts runs them: every fenced block tagged sh, js or ts, with
 * the annotations written just above its fence as HTML comments (invisible on the rendered page):
 *
 *   <!-- readme-test: skip: REASON -->                    not run (a browser page, GPUs, the test suite itself)
 *   <!-- readme-test: skip-line "TEXT": REASON -->        sh: the commands containing TEXT are not run
 *   <!-- readme-test: replace "FROM" "TO": REASON -->     run with FROM replaced by TO (e.g. fewer steps)
 *   <!-- readme-test: name NAME -->                       a js/ts block that a later fragment continues
 *   <!-- readme-test: after NAME -->                      a js/ts fragment: runs after block NAME, in its own scope
 *   <!-- readme-test: setup my-images -->                 sh: ./my-images holds a few hundred pictures first
 *   <!-- readme-test: same-settings MADE SHIPPED -->      sh: afterwards, model file MADE has SHIPPED's settings
 *
 * An unknown annotation, a replacement or a skipped line that matches nothing is an error: the annotations
 * cannot silently go stale when the README changes.
 */
import { readFileSync } from 'node:fs';

export type Annotation =
  | { kind: 'skip'; reason: string }
  | { kind: 'skip-line'; text: string; reason: string }
  | { kind: 'replace'; from: string; to: string; reason: string }
  | { kind: 'name'; name: string }
  | { kind: 'after'; name: string }
  | { kind: 'setup'; what: 'my-images' }
  | { kind: 'same-settings'; made: string; shipped: string };

export interface Snippet {
  /** The line of the opening fence (1-based). */
  line: number;
  lang: 'sh' | 'js' | 'ts';
  code: string;
  notes: Annotation[];
}

const RUN_LANGUAGES = ['sh', 'js', 'ts'];

/** Parses one annotation's text (after 'readme-test:'); `where` names it in errors. */
function parseAnnotation(text: string, where: string): Annotation {
  const patterns: [RegExp, (m: RegExpExecArray) => Annotation][] = [
    [/^skip: (.+)$/s, (m) => ({ kind: 'skip', reason: m[1] })],
    [/^skip-line "([^"]+)": (.+)$/s, (m) => ({ kind: 'skip-line', text: m[1], reason: m[2] })],
    [/^replace "([^"]+)" "([^"]*)": (.+)$/s, (m) => ({ kind: 'replace', from: m[1], to: m[2], reason: m[3] })],
    [/^name (\S+)$/, (m) => ({ kind: 'name', name: m[1] })],
    [/^after (\S+)$/, (m) => ({ kind: 'after', name: m[1] })],
    [/^setup (my-images)$/, () => ({ kind: 'setup', what: 'my-images' })],
    [/^same-settings (\S+) (\S+)$/, (m) => ({ kind: 'same-settings', made: m[1], shipped: m[2] })],
  ];
  for (const [pattern, make] of patterns) {
    const match = pattern.exec(text.trim());
    if (match) return make(match);
  }
  throw new Error(`${where}: unknown annotation 'readme-test: ${text.trim()}'`);
}

/** Every sh, js and ts block of the Markdown file at `path`, with its annotations. */
export function readSnippets(path: string): Snippet[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w*)\s*$/.exec(lines[i]);
    if (!fence) continue;
    const end = lines.findIndex((line, j) => j > i && /^```\s*$/.test(line));
    if (end < 0) throw new Error(`${path}:${i + 1}: the code block is never closed`);
    const notes: Annotation[] = [];
    for (let j = i - 1; j >= 0 && lines[j].startsWith('<!-- readme-test:'); j--) {
      const comment = /^<!-- readme-test:(.*)-->\s*$/.exec(lines[j]);
      if (!comment) throw new Error(`${path}:${j + 1}: an annotation must fit on one line, as <!-- readme-test: ... -->`);
      notes.unshift(parseAnnotation(comment[1], `${path}:${j + 1}`));
    }
    if (RUN_LANGUAGES.includes(fence[1])) {
      snippets.push({ line: i + 1, lang: fence[1] as Snippet['lang'], code: lines.slice(i + 1, end).join('\n'), notes });
    } else if (notes.length > 0) {
      throw new Error(`${path}:${i + 1}: annotations above a block that is not sh, js or ts`);
    }
    i = end;
  }
  return snippets;
}

/** The commands of a sh block: one per line (a line ending in a backslash continues), without blank and comment lines. */
export function shellCommands(code: string): string[] {
  const commands: string[] = [];
  let current = '';
  for (const line of code.split('\n')) {
    current += current ? ` ${line.trim()}` : line;
    if (current.endsWith('\\')) {
      current = current.slice(0, -1).trimEnd();
      continue;
    }
    if (current.trim() !== '' && !current.trim().startsWith('#')) commands.push(current.trim());
    current = '';
  }
  return commands;
}

/** `text` with every replacement applied; fails when a replacement matches nothing. */
export function applyReplacements(text: string, notes: readonly Annotation[], where: string): string {
  let out = text;
  for (const note of notes) {
    if (note.kind !== 'replace') continue;
    if (!out.includes(note.from)) throw new Error(`${where}: 'replace "${note.from}"' matches nothing in the block`);
    out = out.split(note.from).join(note.to);
  }
  return out;
}

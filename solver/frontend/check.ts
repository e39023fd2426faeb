import type { ParseResult, Warning } from '../../grammar/index.js';
import { BuildDockerfileError } from '../errors.js';

/** kiln's warnings that are BuildKit's lint rules: only these are checks `# check=error=true` enforces. */
const BUILDKIT_RULES = new Set(['FromAsCasing', 'JSONArgsRecommended', 'LegacyKeyValueFormat', 'MaintainerDeprecated', 'NoEmptyContinuation', 'StageNameCasing']);

/**
 * `# check=error=true`: as BuildKit does (linter.Error), a Dockerfile that breaks a check it does
 * not skip fails the build before anything runs, naming the rules broken. The error points at the
 * first violation; the hint lists them all, as BuildKit's warnings would.
 */
export function checkViolation(parsed: ParseResult, source: string): BuildDockerfileError | undefined {
  if (!parsed.directives.check?.error) return undefined;
  const violations = parsed.warnings.filter((w) => BUILDKIT_RULES.has(w.code));
  const first = violations[0];
  if (first === undefined) return undefined;
  const rules = [...new Set(violations.map((w) => w.code))];
  return new BuildDockerfileError('E_BUILD_LINT', `lint violation found for rules: ${rules.join(', ')}`, { file: first.file, ...first.position }, source.split(/\r?\n/)[first.position.line - 1], {
    hint: `${violations.map((w) => `${w.code}: ${w.message} (line ${w.position.line})`).join('; ')}; fix them, or skip a rule with # check=skip=RULE`,
  });
}

/** A check's warning as a build prints it, where BuildKit's summary says `- Rule: message (line N)`. */
export function describeWarning(w: Warning): string {
  return `${w.code}: ${w.message} (${w.file}:${w.position.line})`;
}

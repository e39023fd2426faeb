import { BUILDKIT_DISPATCH_CHECKS, BUILDKIT_PARSE_CHECKS, parseCheck, type CheckDirective, type ParseResult, type Warning } from '../../grammar/index.js';
import { BuildError } from '../errors.js';
import { BuildDockerfileError } from '../errors.js';
import type { BuildPlan, PlannedStage } from './plan.js';

/**
 * The warnings a build of `plan` reports, as BuildKit would: checks it runs while dispatching
 * count only in the stages the build runs, and JSONArgsRecommended only where no SHELL is in
 * force (the stage's own SHELL above the line, or one in a stage it is built FROM; a base image
 * that sets a shell is not known here and counts as none). kiln's own warnings are kept.
 */
export function buildWarnings(parsed: ParseResult, plan: BuildPlan): Warning[] {
  const built = new Set(plan.order);
  return parsed.warnings.filter((w) => {
    if (!BUILDKIT_DISPATCH_CHECKS.has(w.code)) return true;
    const stage = stageAt(plan, w.position.line);
    if (stage === undefined || !built.has(stage.index)) return false;
    return w.code !== 'JSONArgsRecommended' || !shellSet(plan, stage, w.position.line);
  });
}

/** The stage whose FROM is the last one at or above `line`. */
function stageAt(plan: BuildPlan, line: number): PlannedStage | undefined {
  let found: PlannedStage | undefined;
  for (const s of plan.stages) if (s.stage.from.range.start.line <= line && (!found || s.stage.from.range.start.line > found.stage.from.range.start.line)) found = s;
  return found;
}

function shellSet(plan: BuildPlan, stage: PlannedStage, line: number): boolean {
  if (stage.stage.instructions.some((i) => i.kind === 'shell' && i.range.start.line < line)) return true;
  return stage.base.kind === 'stage' && shellSet(plan, plan.stages[stage.base.index]!, Number.POSITIVE_INFINITY);
}

/**
 * `# check=error=true` (`check`: the directive, or the build arg in its place): as BuildKit does
 * (linter.Error), a build whose `warnings` (buildWarnings)
 * break one of BuildKit's checks fails before anything runs, naming the rules broken. The error
 * points at the first violation; the hint lists them all, as BuildKit's warnings would.
 */
export function checkViolation(check: CheckDirective | undefined, warnings: readonly Warning[], source: string): BuildDockerfileError | undefined {
  if (!check?.error) return undefined;
  const violations = warnings.filter((w) => BUILDKIT_PARSE_CHECKS.has(w.code) || BUILDKIT_DISPATCH_CHECKS.has(w.code));
  const first = violations[0];
  if (first === undefined) return undefined;
  const rules = [...new Set(violations.map((w) => w.code))];
  return new BuildDockerfileError('E_BUILD_LINT', `lint violation found for rules: ${rules.join(', ')}`, { file: first.file, ...first.position }, source.split(/\r?\n/)[first.position.line - 1], {
    hint: `${violations.map((w) => `${w.code}: ${w.message} (line ${w.position.line})`).join('; ')}; fix them, or skip a rule with # check=skip=RULE`,
  });
}

/** A warning as a build prints it, where BuildKit's summary says `- Rule: message (line N)`. */
export function describeWarning(w: Warning): string {
  return `${w.code}: ${w.message} (${w.file}:${w.position.line})`;
}

/**
 * The BUILDKIT_DOCKERFILE_CHECK build arg, which BuildKit reads in place of the `# check`
 * directive when it is given (`skip=Rule1,Rule2;error=true`); undefined when it is not.
 */
export function checkArg(buildArgs: ReadonlyMap<string, string> | undefined): CheckDirective | undefined {
  const value = buildArgs?.get('BUILDKIT_DOCKERFILE_CHECK');
  if (value === undefined) return undefined;
  const check = parseCheck(value);
  if (typeof check === 'string') throw new BuildError('E_BUILD_OPTION', `invalid BUILDKIT_DOCKERFILE_CHECK "${value}": ${check}`, { hint: 'e.g. --build-arg BUILDKIT_DOCKERFILE_CHECK="skip=JSONArgsRecommended;error=true"' });
  return check;
}

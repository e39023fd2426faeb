import type { Instruction, Node, Warning } from './ast.js';

/**
 * BuildKit's checks that kiln's parse warns about, by when BuildKit runs them: while parsing
 * (every stage), or while dispatching an instruction (only in stages the build runs). Other
 * warnings are kiln's own, such as a parser directive below the first line.
 */
export const BUILDKIT_PARSE_CHECKS: ReadonlySet<string> = new Set(['FromAsCasing', 'NoEmptyContinuation', 'StageNameCasing']);
export const BUILDKIT_DISPATCH_CHECKS: ReadonlySet<string> = new Set(['JSONArgsRecommended', 'LegacyKeyValueFormat', 'MaintainerDeprecated']);

const isUpper = (s: string) => s === s.toUpperCase();
const isLower = (s: string) => s === s.toLowerCase();

/**
 * Warnings BuildKit's linter gives at parse time, with its rule names as codes. They are
 * collected, never printed here.
 */
export function lintInstructions(nodes: readonly Node[], instructions: readonly Instruction[], file: string): Warning[] {
  const warnings: Warning[] = [];
  const warn = (code: string, message: string, node: Node) => warnings.push({ code, message, position: node.range.start, file });
  instructions.forEach((inst, i) => {
    const node = nodes[i]!;
    const kw = node.keywordAsWritten;
    switch (inst.kind) {
      case 'maintainer':
        warn('MaintainerDeprecated', 'Maintainer instruction is deprecated in favor of using label', node);
        break;
      case 'env':
      case 'label':
        if (inst.pairs.some((p) => p.legacyForm)) {
          const name = inst.kind.toUpperCase();
          warn('LegacyKeyValueFormat', `"${name} key=value" should be used instead of legacy "${name} key value" format`, node);
        }
        break;
      case 'cmd':
      case 'entrypoint':
        if (inst.command.form === 'shell') {
          warn('JSONArgsRecommended', `JSON arguments recommended for ${inst.kind.toUpperCase()} to prevent unintended behavior related to OS signals`, node);
        }
        break;
      case 'from': {
        const as = node.args[1]?.value;
        if (as !== undefined && inst.stageName !== undefined) {
          if ((isUpper(kw) && !isUpper(as)) || (isLower(kw) && !isLower(as))) {
            warn('FromAsCasing', `'${as}' and '${kw}' keywords' casing do not match`, node);
          }
          const written = node.args[2]!.value;
          if (written !== written.toLowerCase()) warn('StageNameCasing', `Stage name '${written}' should be lowercase`, node);
        }
        break;
      }
    }
  });
  return warnings;
}

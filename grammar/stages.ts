import type { ArgInstruction, Instruction, Stage, Stages } from './ast.js';
import { DockerfileErrorCode, DockerfileParseError } from './errors.js';

/**
 * Groups instructions into build stages as BuildKit's instructions.Parse does: ARGs before the
 * first FROM are global; every FROM starts a stage. Anything else before the first FROM is an error.
 */
export function groupStages(instructions: readonly Instruction[], file = 'Dockerfile'): Stages {
  const globalArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  for (const inst of instructions) {
    if (inst.kind === 'from') {
      stages.push({ index: stages.length, from: inst, instructions: [], ...(inst.stageName === undefined ? {} : { name: inst.stageName }) });
      continue;
    }
    const current = stages[stages.length - 1];
    if (current) {
      current.instructions.push(inst);
    } else if (inst.kind === 'arg') {
      globalArgs.push(inst);
    } else {
      const { start, end } = inst.range;
      throw new DockerfileParseError(
        DockerfileErrorCode.NoStage,
        'no build stage in current context',
        { file, ...start },
        start.line === end.line ? ' '.repeat(start.column - 1) + inst.original : undefined,
        { hint: 'start the Dockerfile with a FROM instruction (only ARG may come before it)' },
      );
    }
  }
  return { globalArgs, stages };
}

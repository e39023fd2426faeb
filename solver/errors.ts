import { DockerfileError, KilnError, type KilnErrorOptions, type SourcePosition } from '../common/errors.js';

/**
 * Stable codes of build failures:
 * E_BUILD_UNKNOWN_STAGE, E_BUILD_UNKNOWN_TARGET, E_BUILD_CYCLE, E_BUILD_EXPAND, E_BUILD_BASE_IMAGE,
 * E_BUILD_STEP_FAILED, E_BUILD_CANCELLED, E_BUILD_UNSUPPORTED, E_BUILD_OPTION, E_BUILD_LINT.
 */
export class BuildError extends KilnError {}

/** A Dockerfile instruction the build cannot carry out, pointing at its line. */
export class BuildDockerfileError extends DockerfileError {}

export interface StepFailure {
  stage: string;
  /** The instruction as written (`RUN make`). */
  instruction: string;
  exitCode: number;
  /** Last lines of the step's combined output. */
  tail: string[];
  /** Full output of the step, kept under the state root. */
  logPath: string;
}

/** A RUN step that exited non-zero: the error shows where, how, and what it printed last. */
export class StepFailedError extends DockerfileError {
  readonly failure: StepFailure;

  constructor(failure: StepFailure, position: SourcePosition, sourceLine: string | undefined, options: KilnErrorOptions = {}) {
    super(
      'E_BUILD_STEP_FAILED',
      `stage ${failure.stage}: ${failure.instruction} failed with exit code ${failure.exitCode}`,
      position,
      sourceLine,
      { hint: `the step's full output is in ${failure.logPath}`, ...options },
    );
    this.failure = failure;
  }

  override format(): string {
    const tail = this.failure.tail.length > 0 ? `\nlast ${this.failure.tail.length} lines of output:\n${this.failure.tail.map((l) => `  | ${l}`).join('\n')}` : '';
    return `${super.format()}${tail}\nfull log: ${this.failure.logPath}`;
  }
}

export class BuildCancelledError extends KilnError {
  constructor(options: KilnErrorOptions = {}) {
    super('E_BUILD_CANCELLED', 'build cancelled', options);
  }
}

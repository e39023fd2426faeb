/**
 * The Dockerfile frontend: parsed instructions -> the stages to build (global ARGs, FROM
 * expansion, stage references, --target pruning, cycles), each stage's ARG/ENV scope, expansion
 * in exactly the instructions BuildKit expands, and the image config/history the metadata
 * instructions produce.
 */
export { automaticArgs, PROXY_ARGS, splitEnv, StageVariables, userBuildArgs, type ArgValue } from './args.js';
export { copyFromVariableError, expandAt, expandInstruction, makeExpander, type ExpanderContext, type WordExpander } from './expand.js';
export { expandPortSpec, ConfigValueError, goDuration, goQuotedList, healthHistory, HISTORY_COMMENT, ImageState } from './image-state.js';
export { buildWarnings, checkArg, checkViolation, describeWarning } from './check.js';
export { parseRemembered } from './parse-memo.js';
export { planBuild, resolveStageRef, type BuildPlan, type PlannedStage, type PlanOptions, type StageBase } from './plan.js';

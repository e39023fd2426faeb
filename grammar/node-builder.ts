import type { ArgNode, Node } from './ast.js';
import { goToLower } from './go-text.js';
import { heredocMarkersInLine, type HeredocMarker } from './heredoc.js';
import { parseArguments } from './line-parsers.js';
import type { LogicalLine } from './logical-line.js';
import { splitCommand } from './split-command.js';

const heredocInstructions = new Set(['add', 'copy', 'run']);

/**
 * BuildKit's newNodeFromLine: keyword, flags and arguments of one logical line, with positions.
 * `range.end` is provisional (end of the logical line); the caller extends it over heredoc bodies.
 */
export function nodeFromLine(line: LogicalLine, escape: string, comments: string[], from = 0): Node {
  const original = from === 0 ? line.text : line.text.slice(from);
  const split = splitCommand(original, from);
  const keyword = goToLower(split.keyword);
  const parsed = parseArguments(keyword, split.args, split.argsOffset, escape);
  const args: ArgNode[] = parsed.args.map((a) => ({ value: a.value, position: line.positionAt(a.offset) }));
  const node: Node = {
    keyword,
    keywordAsWritten: split.keyword,
    original,
    flags: split.flags.map((f) => ({ text: f.value, position: line.positionAt(f.offset) })),
    args,
    json: parsed.json,
    heredocs: [],
    comments,
    range: { start: line.positionAt(split.keywordOffset), end: line.positionAt(line.text.length) },
  };
  if (parsed.subCommand) node.subNode = nodeFromLine(line, escape, [], parsed.subCommand.offset);
  return node;
}

/** Heredoc markers of the node's line, if its instruction (or ONBUILD's trigger) takes heredocs. */
export function heredocMarkersFor(node: Node, line: LogicalLine): (HeredocMarker & { offset: number })[] {
  const target = node.keyword === 'onbuild' && node.subNode ? node.subNode : node;
  if (!heredocInstructions.has(target.keyword) || target.json) return [];
  return heredocMarkersInLine(line.text);
}

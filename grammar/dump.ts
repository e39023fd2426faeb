import type { Node, NodeParseResult } from './ast.js';
import { goQuote, trimSpace } from './go-text.js';

function dumpNode(node: Node): string {
  let s = node.keyword;
  if (node.flags.length > 0) s += ` [${node.flags.map((f) => goQuote(f.text)).join(' ')}]`;
  for (const a of node.args) s += ` ${goQuote(a.value)}`;
  if (node.subNode) s += ` (${dumpNode(node.subNode)})`;
  // Go's strings.TrimSpace, not String#trim: a keyword starting with U+FEFF (a BOM that is not
  // the file's first bytes) keeps it.
  return trimSpace(s);
}

/**
 * BuildKit's AST dump (`Node.Dump()` of the root), one `(instruction ...)` per line, ending in a
 * newline: the format of BuildKit's parser test `result` files.
 */
export function dumpAst(ast: Pick<NodeParseResult, 'nodes'>): string {
  return ast.nodes.map((n) => `(${dumpNode(n)})`).join('\n').trimEnd() + '\n';
}

import type { Position } from './ast.js';

/** Where a piece of a logical line came from: a physical line and the column it starts at. */
export interface Segment {
  /** Offset of the piece in the logical line. */
  offset: number;
  line: number;
  column: number;
}

/**
 * One instruction's text after continuation lines are joined (BuildKit's `line`), with a map back
 * to source positions so errors and AST nodes can point at the exact column.
 */
export class LogicalLine {
  constructor(
    readonly text: string,
    readonly segments: readonly Segment[],
  ) {}

  positionAt(offset: number): Position {
    const segs = this.segments;
    let i = segs.length - 1;
    while (i > 0 && segs[i]!.offset > offset) i--;
    const seg = segs[i]!;
    return { line: seg.line, column: seg.column + Math.max(0, offset - seg.offset) };
  }

  /** The same text seen from `start` on, positions still mapping to the source (ONBUILD's trigger). */
  slice(start: number): LogicalLine {
    const segs: Segment[] = [];
    for (const s of this.segments) {
      if (s.offset <= start) segs[0] = { offset: 0, line: s.line, column: s.column + (start - s.offset) };
      else segs.push({ offset: s.offset - start, line: s.line, column: s.column });
    }
    return new LogicalLine(this.text.slice(start), segs);
  }
}

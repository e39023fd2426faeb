/** How two checksums' file maps differ, for "why did this COPY miss the cache". */
export interface FileChanges {
  changed: string[];
  added: string[];
  removed: string[];
}

export function diffFiles(before: Map<string, string>, after: Map<string, string>): FileChanges {
  const changed: string[] = [];
  const added: string[] = [];
  const removed: string[] = [];
  for (const [path, digest] of after) {
    const old = before.get(path);
    if (old === undefined) added.push(path);
    else if (old !== digest) changed.push(path);
  }
  for (const path of before.keys()) if (!after.has(path)) removed.push(path);
  return { changed: changed.sort(), added: added.sort(), removed: removed.sort() };
}

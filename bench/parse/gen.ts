/** Blocks of instructions cycled until `count` instructions are produced. */
const blocks: ((i: number) => string)[] = [
  (i) => `FROM --platform=$BUILDPLATFORM busybox:1.${i} AS stage${i}`,
  (i) => `ARG VERSION_${i}=1.${i}`,
  (i) => `ENV PATH=/opt/${i}/bin:$PATH HOME="/home/user ${i}"`,
  (i) => `LABEL org.example.build=${i} description="build number ${i}"`,
  (i) => `RUN --mount=type=cache,target=/root/.cache/${i},sharing=locked --network=none \\\n    set -e && echo ${i} \\\n    # a comment inside\n    && make -j2 target-${i}`,
  (i) => `COPY --from=stage${i} --chown=1000:1000 --chmod=644 src/${i}/ /app/${i}/`,
  (i) => `RUN <<EOF\nset -e\necho heredoc ${i}\nEOF`,
  (i) => `ADD --checksum=sha256:${'0'.repeat(64)} https://example.com/f${i}.tgz /tmp/`,
  (i) => `WORKDIR /app/${i}`,
  (i) => `CMD ["/bin/sh", "-c", "echo ${i}"]`,
  (i) => `HEALTHCHECK --interval=30s --timeout=3s CMD wget -q -O- http://localhost:${i}/ || exit 1`,
  (i) => `EXPOSE ${1000 + (i % 60000)}/tcp`,
  (i) => `USER ${i}:${i}`,
];

export function generateDockerfile(count: number): string {
  const out: string[] = ['# syntax=docker/dockerfile:1'];
  for (let i = 0; i < count; i++) out.push(blocks[i % blocks.length]!(i));
  return out.join('\n') + '\n';
}


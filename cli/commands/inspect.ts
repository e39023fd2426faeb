import type { Command } from 'commander';
import { renderTemplate } from '../go-template.js';
import { globalOptions } from '../options.js';

export function register(program: Command): void {
  program
    .command('inspect')
    .description('Show details of images as JSON, like `docker image inspect`')
    .argument('<image...>', 'image names or ids')
    .option('-f, --format <template>', 'print each image with a Go template, e.g. {{.Id}} or {{json .Config.Env}}')
    .action(async (images: string[], opts: { format?: string }, cmd: Command) => {
      const { root, host, tls } = globalOptions(cmd);
      const out: unknown[] = [];
      if (host !== undefined) {
        const client = await import('../../client/index.js');
        out.push(...(await client.inspectImages(new client.DaemonClient({ host, tls }), images)));
      } else {
        const { describeImage, openStore } = await import('../../cache/index.js');
        const store = await openStore(root);
        try {
          for (const ref of images) out.push(await describeImage(store, await store.resolveImage(ref)));
        } finally {
          store.close();
        }
      }
      if (opts.format !== undefined) process.stdout.write(out.map((o) => `${renderTemplate(opts.format!, o)}\n`).join(''));
      else process.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
    });
}

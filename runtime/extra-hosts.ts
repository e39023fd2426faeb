import { isIP } from 'node:net';
import { KilnError } from '../common/errors.js';

/** A line `--add-host` adds to a container's /etc/hosts. */
export interface ExtraHost {
  host: string;
  ip: string;
}

/**
 * `--add-host HOST:IP` (or `HOST=IP`), as docker and buildx take it: the host name ends at the first
 * `:` or `=`, so an IPv6 address needs no brackets, and only the address is checked. `host-gateway`
 * is the host itself, which a RUN on the host's network reaches at 127.0.0.1.
 */
export function parseExtraHost(spec: string): ExtraHost {
  const i = spec.search(/[:=]/);
  const host = i < 0 ? '' : spec.slice(0, i);
  const given = i < 0 ? '' : spec.slice(i + 1).replace(/^\[(.*)\]$/, '$1');
  const ip = given === 'host-gateway' ? '127.0.0.1' : given;
  if (host === '' || /\s/.test(host) || isIP(ip) === 0) {
    throw new KilnError('E_RUNTIME_ADD_HOST', `invalid --add-host "${spec}": not HOST:IP`, { hint: 'e.g. --add-host registry.local:10.0.0.5, --add-host db=fd00::5 or --add-host host.docker.internal:host-gateway' });
  }
  return { host, ip };
}

/** The /etc/hosts lines of `hosts`, as docker writes them. */
export function extraHostLines(hosts: readonly ExtraHost[]): string {
  return hosts.map((h) => `${h.ip}\t${h.host}\n`).join('');
}

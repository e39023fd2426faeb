/**
 * setpriv options that keep CAP_DAC_READ_SEARCH for a process dropped to an unprivileged user, so it
 * can read the checkout (sources, node_modules) even when that sits in a 0700 directory, as a clone
 * made under `mktemp -d` does. It reads and searches only; it writes, mounts and signals nothing more.
 */
export const READ_CHECKOUT = ['--inh-caps=+dac_read_search', '--ambient-caps=+dac_read_search'];

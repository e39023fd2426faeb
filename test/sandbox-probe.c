/*
 * Issues the syscalls the sandbox tests need that busybox has no applet for, and prints
 * `NAME=ok` or `NAME=<strerror>` for each.
 *   kiln-probe raw           socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)
 *   kiln-probe keyctl        keyctl(KEYCTL_GET_KEYRING_ID) and add_key on the session keyring
 *   kiln-probe ptrace PID    ptrace(PTRACE_ATTACH, PID)
 * Built statically at test time (gcc -static), so it runs in the bare busybox root.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEYCTL_GET_KEYRING_ID 0
#define KEY_SPEC_SESSION_KEYRING -3

static void report(const char *name, long r) {
  if (r < 0) printf("%s=%s\n", name, strerror(errno));
  else printf("%s=ok\n", name);
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "raw") == 0) {
    report("raw", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
  } else if (argc >= 2 && strcmp(argv[1], "keyctl") == 0) {
    report("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1));
    report("add_key", syscall(SYS_add_key, "user", "kiln-probe", "x", 1, KEY_SPEC_SESSION_KEYRING));
  } else if (argc >= 3 && strcmp(argv[1], "ptrace") == 0) {
    report("ptrace", ptrace(PTRACE_ATTACH, atoi(argv[2]), 0, 0));
  } else {
    fprintf(stderr, "usage: kiln-probe raw | keyctl | ptrace PID\n");
    return 2;
  }
  return 0;
}

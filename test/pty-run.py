"""Runs a command on a new pseudo-terminal of a given size, as a user at a terminal would.

  python3 pty-run.py ROWS COLS STEPS_JSON -- COMMAND...

STEPS_JSON is a list of [marker, actions]: once `marker` has appeared in the output (each step
after the previous one), each action is done in order: `resize:ROWS:COLS` resizes the terminal,
`signal:NAME` sends SIGNAME to the command, anything else is typed. All output goes to stdout; the exit status is the command's.
"""
import fcntl, json, os, pty, signal, struct, sys, termios

rows, cols, steps = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
argv = sys.argv[sys.argv.index('--') + 1:]


def set_size(fd, r, c):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', r, c, 0, 0))


pid, master = pty.fork()
if pid == 0:
    # The size is set before the command starts, so it cannot read an unset one.
    set_size(0, rows, cols)
    os.execvp(argv[0], argv)

out = b''
searched = 0
while True:
    try:
        chunk = os.read(master, 4096)
    except OSError:  # EIO: the command and everything on the terminal has exited
        break
    if not chunk:
        break
    out += chunk
    while steps and steps[0][0].encode() in out[searched:]:
        marker, actions = steps.pop(0)
        searched = out.index(marker.encode(), searched) + len(marker)
        for action in actions:
            if action.startswith('signal:'):
                os.kill(pid, getattr(signal, 'SIG' + action.split(':')[1]))
            elif action.startswith('resize:'):
                _, r, c = action.split(':')
                set_size(master, int(r), int(c))
            else:
                os.write(master, action.encode())
sys.stdout.buffer.write(out)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, 'waitstatus_to_exitcode') else status >> 8)

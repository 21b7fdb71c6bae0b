#!/usr/bin/env python3
"""Feeds a file to a command's stdin slowly and reports what happened (tests only).

  slowfeed.py FILE CHUNK_BYTES PAUSE_SECONDS -- COMMAND...

Prints one JSON line: {"status", "input_end" (time.time() when the last byte was written),
"maxrss_kb" (the child's peak resident set), "stdout", "stderr"}.
"""
import json
import os
import subprocess
import sys
import tempfile
import time


def main():
    path, chunk, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    command = sys.argv[sys.argv.index("--") + 1:]
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=out, stderr=err)
    with open(path, "rb") as f:
        while True:
            data = f.read(chunk)
            if not data:
                break
            child.stdin.write(data)
            child.stdin.flush()
            time.sleep(pause)
    input_end = time.time()
    child.stdin.close()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    err.seek(0)
    print(json.dumps({"status": child.returncode, "input_end": input_end, "maxrss_kb": usage.ru_maxrss,
                      "stdout": out.read().decode(), "stderr": err.read().decode()}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# Two clients leave data blocks half sent, then SIGINT; prints how long the daemon takes to exit. Extra arguments go to gocached (e.g. -Y FILE).
# Run from the repository root after `make build`: python3 scripts/misbehave/hang.py
# Loopback only, fixed port, bounded in time; kills the daemon it started.
import socket,subprocess,time,signal,sys
args=sys.argv[1:]
p=subprocess.Popen(["./bin/gocached","-p","22301","-l","127.0.0.1","-U","0"]+args,stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
time.sleep(0.5)
s=socket.create_connection(("127.0.0.1",22301))
s.sendall(b"set foo 0 0 2147483646\r\n")
s2=socket.create_connection(("127.0.0.1",22301))
s2.sendall(b"set bar 0 0 1000000\r\nabc")
time.sleep(0.2)
t=time.time(); p.send_signal(signal.SIGINT)
try:
    p.wait(timeout=20); print("exited", p.returncode, "after %.2fs"%(time.time()-t))
except subprocess.TimeoutExpired:
    print("HANG"); p.kill()

#!/usr/bin/env python3
# 5000 connections each send one get and go idle; prints RSS per connection.
# Run from the repository root after `make build`: python3 scripts/misbehave/idle.py
# Loopback only, fixed port, bounded in time; kills the daemon it started.
import socket,subprocess,time,resource
resource.setrlimit(resource.RLIMIT_NOFILE,(20000,20000))
p=subprocess.Popen(["./bin/gocached","-p","22314","-l","127.0.0.1","-U","0","-m","64","-c","20000"],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
time.sleep(0.5)
def rss(): return int([l for l in open(f"/proc/{p.pid}/status") if l.startswith("VmRSS")][0].split()[1])
base=rss(); cs=[]
N=int(__import__("os").environ.get("N","5000"))
for i in range(N):
    s=socket.create_connection(("127.0.0.1",22314)); s.sendall(b"get k\r\n"); cs.append(s)
for s in cs: s.recv(100)
time.sleep(3)
print("KB per idle-then-active conn: %.1f"%((rss()-base)/N)); p.kill()

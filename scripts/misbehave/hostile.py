#!/usr/bin/env python3
# One connection pipelines 2000 "get big" (500 KB value) for 4 s and never reads; prints RSS before/after, an honest client's round trip, and RSS 2 s after the client left.
# Run from the repository root after `make build`: python3 scripts/misbehave/hostile.py
# Loopback only, fixed port, bounded in time; kills the daemon it started.
import socket,subprocess,time,sys
p=subprocess.Popen(["./bin/gocached","-p","22311","-l","127.0.0.1","-U","0","-m","64"],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
time.sleep(0.5)
def rss(): return int([l for l in open(f"/proc/{p.pid}/status") if l.startswith("VmRSS")][0].split()[1])//1024
s=socket.create_connection(("127.0.0.1",22311))
v=b"x"*500000
s.sendall(b"set big 0 0 %d\r\n"%len(v)+v+b"\r\n"); s.recv(100)
base=rss()
h=socket.create_connection(("127.0.0.1",22311))
h.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
h.setblocking(False)
sent=0; req=b"get big\r\n"*2000
t=time.time()
while time.time()-t<4:
    try: sent+=h.send(req[sent%len(req):])
    except BlockingIOError: time.sleep(0.01)
peak=rss()
# honest client still served?
t0=time.time(); s.sendall(b"get big\r\n"); got=b""
while not got.endswith(b"END\r\n"): got+=s.recv(1<<20)
print("mode",sys.argv[1:],"base MB",base,"after 4s MB",peak,"sent bytes",sent,"honest rtt %.3fs"%(time.time()-t0))
h.close(); time.sleep(2); print("after client left MB",rss()); p.kill()

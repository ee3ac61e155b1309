#!/usr/bin/env python3
# The same over the binary protocol (2000 pipelined GETs); prints RSS before and after 4 s.
# Run from the repository root after `make build`: python3 scripts/misbehave/hostile_bin.py
# Loopback only, fixed port, bounded in time; kills the daemon it started.
import socket,subprocess,time,struct
p=subprocess.Popen(["./bin/gocached","-p","22312","-l","127.0.0.1","-U","0","-m","64"],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
time.sleep(0.5)
def rss(): return int([l for l in open(f"/proc/{p.pid}/status") if l.startswith("VmRSS")][0].split()[1])//1024
def req(op,key=b"",extras=b"",value=b""):
    return struct.pack(">BBHBBHIIQ",0x80,op,len(key),len(extras),0,0,len(key)+len(extras)+len(value),0,0)+extras+key+value
s=socket.create_connection(("127.0.0.1",22312))
v=b"x"*500000
s.sendall(req(1,b"big",struct.pack(">II",0,0),v)); s.recv(100)
base=rss()
h=socket.create_connection(("127.0.0.1",22312)); h.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096); h.setblocking(False)
r=req(0,b"big")*2000; sent=0; t=time.time()
while time.time()-t<4:
    try: sent+=h.send(r[sent%len(r):])
    except BlockingIOError: time.sleep(0.01)
print("binary: base MB",base,"after 4s MB",rss()); h.close(); p.kill()

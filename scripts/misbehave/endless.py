#!/usr/bin/env python3
# 10 connections grow never-ending get lines for 4 s, then leave; prints RSS peak and 5 s / 15 s after.
# Run from the repository root after `make build`: python3 scripts/misbehave/endless.py
# Loopback only, fixed port, bounded in time; kills the daemon it started.
import socket,subprocess,time,sys
p=subprocess.Popen(["./bin/gocached","-p","22313","-l","127.0.0.1","-U","0","-m","64"],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
time.sleep(0.5)
def rss(): return int([l for l in open(f"/proc/{p.pid}/status") if l.startswith("VmRSS")][0].split()[1])//1024
base=rss()
conns=[]
for i in range(10):
    s=socket.create_connection(("127.0.0.1",22313)); s.sendall(b"get "); conns.append(s)
chunk=b"k"*200+b" "
t=time.time(); sent=0
while time.time()-t<4:
    for s in conns:
        try: s.send(chunk*500); sent+=len(chunk)*500
        except Exception as e: pass
peak=rss()
for s in conns: s.close()
time.sleep(5); after5=rss(); time.sleep(10); after15=rss()
q=socket.create_connection(("127.0.0.1",22313)); q.sendall(b"stats\r\n"); time.sleep(0.3); st=q.recv(65536).decode()
print([l for l in st.split("\r\n") if "curr_conn" in l or "bytes_read" in l])
print("base",base,"peak",peak,"sent MB",sent>>20,"5s after",after5,"15s after",after15); p.kill()

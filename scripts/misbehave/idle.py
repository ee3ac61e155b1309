#!/usr/bin/env python3
# RSS per connection: N connections (default 10000) each send one get, then
# stay idle; prints the server's RSS growth per connection 1, 3, 6, 10 and 20
# seconds later (gocached parks connections idle for 2 s). Loopback only,
# bounded in time; kills the server it started.
#
#   make build && python3 scripts/misbehave/idle.py ./bin/gocached
#   python3 scripts/misbehave/idle.py memcached -u root     # the same for memcached
import os, resource, socket, subprocess, sys, time

resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
server = sys.argv[1:] or ["./bin/gocached"]
p = subprocess.Popen(server + ["-p", "22315", "-l", "127.0.0.1", "-U", "0", "-m", "64", "-c", "20000", "-t", "2"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    time.sleep(0.5)

    def rss():
        return int([l for l in open(f"/proc/{p.pid}/status") if l.startswith("VmRSS")][0].split()[1])

    base, conns = rss(), []
    n = int(os.environ.get("N", "10000"))
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", 22315))
        s.sendall(b"get k\r\n")
        conns.append(s)
    for s in conns:
        s.recv(100)
    prev = 0
    for t in (1, 3, 6, 10, 20):
        time.sleep(t - prev)
        prev = t
        print("t=%2ds  %.2f KB per connection  (RSS %d KB)" % (t, (rss() - base) / n, rss()))
finally:
    p.kill()

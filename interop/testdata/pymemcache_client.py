"""Drives a server through Debian's pymemcache (a real client) and prints
one line per step; the Go test compares the transcript with memcached's."""
import sys
from pymemcache.client.base import Client

host, port = sys.argv[1], int(sys.argv[2])
c = Client((host, port), connect_timeout=5, timeout=5)
out = []


def step(name, fn):
    try:
        out.append("%s: %r" % (name, fn()))
    except Exception as e:  # the exception class is part of the transcript
        out.append("%s: %s %s" % (name, type(e).__name__, e))


step("flush", lambda: c.flush_all())
step("set", lambda: c.set("user:1", b"alice", expire=300))
step("get", lambda: c.get("user:1"))
step("get missing", lambda: c.get("user:2"))
step("add existing", lambda: c.add("user:1", b"bob", noreply=False))
step("add new", lambda: c.add("user:2", b"bob", noreply=False))
step("replace", lambda: c.replace("user:2", b"carol", noreply=False))
step("append", lambda: c.append("user:2", b"!", noreply=False))
step("prepend", lambda: c.prepend("user:2", b"<", noreply=False))
step("get_many", lambda: sorted(c.get_many(["user:1", "user:2", "user:3"]).items()))
step("set_many", lambda: c.set_many({"a": b"1", "b": b"2", "c": b"3"}, noreply=False))
step("gets", lambda: c.gets("a")[0])
cas = c.gets("a")[1]
step("cas ok", lambda: c.cas("a", b"10", cas, noreply=False))
step("cas stale", lambda: c.cas("a", b"11", cas, noreply=False))
step("cas missing", lambda: c.cas("zzz", b"1", b"1", noreply=False))
step("incr", lambda: c.incr("a", 5))
step("decr", lambda: c.decr("a", 100))
step("incr missing", lambda: c.incr("nope", 1))
step("incr nonnumeric", lambda: c.incr("user:1", 1))
step("touch", lambda: c.touch("b", 100, noreply=False))
step("touch missing", lambda: c.touch("nope", 100, noreply=False))
step("delete", lambda: c.delete("c", noreply=False))
step("delete missing", lambda: c.delete("c", noreply=False))
step("delete_many", lambda: c.delete_many(["a", "b"], noreply=False))
step("big value", lambda: len(c.get("big") or b"") if c.set("big", b"x" * 500000, noreply=False) else None)
step("too big", lambda: c.set("huge", b"x" * (2 << 20), noreply=False))
step("version", lambda: c.version()[:3])
step("stats keys", lambda: "cmd_get" in {k.decode() if isinstance(k, bytes) else k for k in c.stats()})
step("quit", lambda: c.quit())
print("\n".join(out))

"""One pymemcache session over TLS (an ssl.SSLContext, as pymemcache's
tls_context takes it): prints one line per step, then the TLS version and
the server certificate's organizational unit. Arguments: host port cafile
[certfile keyfile] (a client certificate, for ssl_verify_mode 2)."""
import ssl
import sys
from pymemcache.client.base import Client

host, port, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
if len(sys.argv) > 5:
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
c = Client((host, port), connect_timeout=5, timeout=5, tls_context=ctx)
out = []


def step(name, fn):
    try:
        out.append("%s: %r" % (name, fn()))
    except Exception as e:  # the exception class is part of the transcript
        out.append("%s: %s" % (name, type(e).__name__))


step("set", lambda: c.set("tls:1", b"over TLS", noreply=False))
step("get", lambda: c.get("tls:1"))
step("set big", lambda: c.set("tls:big", b"x" * 300000, noreply=False))
step("get big", lambda: len(c.get("tls:big") or b""))
step("get_many", lambda: sorted(c.get_many(["tls:1", "tls:2"]).items()))
step("incr", lambda: c.incr("tls:n", 1) if c.set("tls:n", b"41", noreply=False) else None)
step("delete", lambda: c.delete("tls:1", noreply=False))
step("get deleted", lambda: c.get("tls:1"))
if c.sock is not None:
    ou = [v for rdn in c.sock.getpeercert()["subject"] for k, v in rdn if k == "organizationalUnitName"]
    out.append("tls: %s %s" % (c.sock.version(), ou))
print("\n".join(out))

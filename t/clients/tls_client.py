#!/usr/bin/python3
"""A TLS client of moxi for the tests: pymemcache (Debian's
python3-pymemcache) with an ssl.SSLContext, as an application would use it.

    tls_client.py PORT KEY VALUE [--ca FILE] [--cert FILE --key FILE]
                  [--tls 1.2|1.3] [--connections N]

Sets KEY to VALUE and reads it back over N connections (one after the
other), then prints "ok VERSION SERIAL" (the TLS version and the server
certificate's serial number, hex) and exits 0. A TLS failure prints
"tls-error: ..." and exits 2; a wrong answer exits 1.
"""
import argparse
import socket
import ssl
import sys

from pymemcache.client.base import Client


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("item_key")
    p.add_argument("value")
    p.add_argument("--ca")
    p.add_argument("--cert")
    p.add_argument("--key", dest="key_file")
    p.add_argument("--tls", choices=["1.2", "1.3"])
    p.add_argument("--connections", type=int, default=1)
    a = p.parse_args()
    ctx = ssl.create_default_context(cafile=a.ca)
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key_file)
    if a.tls:
        version = ssl.TLSVersion.TLSv1_2 if a.tls == "1.2" else ssl.TLSVersion.TLSv1_3
        ctx.minimum_version = version
        ctx.maximum_version = version
    try:
        for _ in range(a.connections):
            client = Client(("127.0.0.1", a.port), tls_context=ctx, connect_timeout=5, timeout=5)
            client.set(a.item_key, a.value.encode())
            got = client.get(a.item_key)
            if got != a.value.encode():
                print("wrong value: %r" % (got,))
                return 1
            sock = client.sock
            version = sock.version()
            serial = _serial(sock.getpeercert(True))
            client.close()
    except (ssl.SSLError, ConnectionError, socket.timeout, OSError) as e:
        print("tls-error: %s" % (e,))
        return 2
    print("ok %s %s" % (version, serial))
    return 0


def _serial(der):
    """The serial number of a DER certificate, hex (no parser needed beyond ASN.1 lengths)."""
    def read(buf, at):
        tag = buf[at]
        length = buf[at + 1]
        at += 2
        if length & 0x80:
            n = length & 0x7F
            length = int.from_bytes(buf[at:at + n], "big")
            at += n
        return tag, at, length
    _, at, _ = read(der, 0)          # Certificate SEQUENCE
    _, at, _ = read(der, at)         # TBSCertificate SEQUENCE
    tag, body, length = read(der, at)
    if tag == 0xA0:                  # [0] version
        at = body + length
        tag, body, length = read(der, at)
    return der[body:body + length].hex().lstrip("0") or "0"


if __name__ == "__main__":
    sys.exit(main())

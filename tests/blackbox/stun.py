"""stun.py -- a minimal STUN client codec for the black-box suite.

Written from RFC 8489 / RFC 5780 / RFC 8656 (ChannelData framing), independently
of turnd's C codec, so that the two cannot share a misreading.  Stdlib only.

Messages are built from (type, value) attribute lists so that tests can put
anything on the wire, including attributes this module knows nothing about.
Decoding is strict: a response from turnd that does not walk cleanly raises
StunError, so every test that reads a response also checks its framing.
"""

import binascii
import ipaddress
import os
import select
import socket
import ssl
import struct
import time

MAGIC = 0x2112A442
MAGIC_BYTES = struct.pack("!I", MAGIC)
HDR_LEN = 20
FINGERPRINT_XOR = 0x5354554E

# Classes (already shifted into place in the 14-bit type).
REQUEST = 0x0000
INDICATION = 0x0010
SUCCESS = 0x0100
ERROR = 0x0110
CLASS_MASK = 0x0110

BINDING = 0x001
ALLOCATE = 0x003

# Attributes.
MAPPED_ADDRESS = 0x0001
CHANGE_REQUEST = 0x0003
USERNAME = 0x0006
MESSAGE_INTEGRITY = 0x0008
ERROR_CODE = 0x0009
UNKNOWN_ATTRIBUTES = 0x000A
REALM = 0x0014
NONCE = 0x0015
XOR_MAPPED_ADDRESS = 0x0020
PADDING = 0x0026
SOFTWARE = 0x8022
FINGERPRINT = 0x8028
RESPONSE_ORIGIN = 0x802B
OTHER_ADDRESS = 0x802C

CHANGE_IP = 0x04
CHANGE_PORT = 0x02

FAMILY_V4 = 0x01
FAMILY_V6 = 0x02


class StunError(ValueError):
    """A message that does not decode."""


def pad4(n):
    return (n + 3) & ~3


def msg_type(method, cls):
    """Interleave a 12-bit method and a class into the 14-bit type (5.)."""
    m = method & 0xFFF
    return ((m & 0xF80) << 2) | ((m & 0x070) << 1) | (m & 0x00F) | cls


def split_type(t):
    cls = t & CLASS_MASK
    method = (t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2)
    return method, cls


def new_tid():
    return os.urandom(12)


def crc_fingerprint(data):
    """FINGERPRINT value over data (the message up to the attribute)."""
    return (binascii.crc32(data) & 0xFFFFFFFF) ^ FINGERPRINT_XOR


# ------------------------------------------------------------- addresses

def encode_addr(ip, port, xor_tid=None):
    a = ipaddress.ip_address(ip)
    fam = FAMILY_V4 if a.version == 4 else FAMILY_V6
    raw = a.packed
    if xor_tid is not None:
        port ^= MAGIC >> 16
        key = MAGIC_BYTES + xor_tid
        raw = bytes(b ^ key[i] for i, b in enumerate(raw))
    return struct.pack("!BBH", 0, fam, port) + raw


def decode_addr(val, xor_tid=None):
    """(ip string, port) from a (XOR-)address attribute value."""
    if len(val) < 4:
        raise StunError("address attribute shorter than 4 bytes")
    _, fam, port = struct.unpack("!BBH", val[:4])
    raw = val[4:]
    if fam == FAMILY_V4:
        if len(raw) != 4:
            raise StunError("IPv4 address attribute of %d bytes" % len(val))
    elif fam == FAMILY_V6:
        if len(raw) != 16:
            raise StunError("IPv6 address attribute of %d bytes" % len(val))
    else:
        raise StunError("address family %#x" % fam)
    if xor_tid is not None:
        port ^= MAGIC >> 16
        key = MAGIC_BYTES + xor_tid
        raw = bytes(b ^ key[i] for i, b in enumerate(raw))
    return str(ipaddress.ip_address(raw)), port


# ------------------------------------------------------------- messages

class Message:
    """A STUN message: type, transaction id, ordered (type, value) list."""

    def __init__(self, mtype, tid=None, attrs=None, cookie=MAGIC):
        self.type = mtype
        self.tid = tid if tid is not None else new_tid()
        self.attrs = list(attrs or [])
        self.cookie = cookie
        self.raw = None           # set by decode()
        self.fp_offset = None     # offset of FINGERPRINT, if decoded

    # -- building
    def add(self, atype, value):
        self.attrs.append((atype, bytes(value)))
        return self

    def encode(self, fingerprint=False, bad_fingerprint=False):
        body = b""
        for atype, val in self.attrs:
            body += struct.pack("!HH", atype, len(val)) + val
            body += b"\0" * (pad4(len(val)) - len(val))
        fp = fingerprint or bad_fingerprint
        length = len(body) + (8 if fp else 0)
        hdr = struct.pack("!HHI", self.type, length, self.cookie) + self.tid
        data = hdr + body
        if fp:
            crc = crc_fingerprint(data)
            if bad_fingerprint:
                crc ^= 0x00000001
            data += struct.pack("!HHI", FINGERPRINT, 4, crc)
        return data

    # -- reading
    @property
    def method(self):
        return split_type(self.type)[0]

    @property
    def cls(self):
        return split_type(self.type)[1]

    def get(self, atype):
        for t, v in self.attrs:
            if t == atype:
                return v
        return None

    def get_all(self, atype):
        return [v for t, v in self.attrs if t == atype]

    def has(self, atype):
        return any(t == atype for t, _ in self.attrs)

    def types(self):
        return [t for t, _ in self.attrs]

    def xor_mapped(self):
        v = self.get(XOR_MAPPED_ADDRESS)
        return None if v is None else decode_addr(v, self.tid)

    def mapped(self):
        v = self.get(MAPPED_ADDRESS)
        return None if v is None else decode_addr(v)

    def other_address(self):
        v = self.get(OTHER_ADDRESS)
        return None if v is None else decode_addr(v)

    def response_origin(self):
        v = self.get(RESPONSE_ORIGIN)
        return None if v is None else decode_addr(v)

    def software(self):
        v = self.get(SOFTWARE)
        return None if v is None else v.decode("utf-8")

    def error(self):
        """(code, reason) from ERROR-CODE, or None."""
        v = self.get(ERROR_CODE)
        if v is None:
            return None
        if len(v) < 4:
            raise StunError("ERROR-CODE shorter than 4 bytes")
        if v[0] != 0 or v[1] != 0 or (v[2] & 0xF8) != 0:
            raise StunError("ERROR-CODE reserved bits set")
        cls, num = v[2] & 0x07, v[3]
        if not 3 <= cls <= 6 or num > 99:
            raise StunError("ERROR-CODE %d/%d out of range" % (cls, num))
        return cls * 100 + num, v[4:].decode("utf-8")

    def error_code(self):
        e = self.error()
        return None if e is None else e[0]

    def unknown_attributes(self):
        v = self.get(UNKNOWN_ATTRIBUTES)
        if v is None:
            return None
        if len(v) % 2:
            raise StunError("UNKNOWN-ATTRIBUTES of odd length")
        return [struct.unpack("!H", v[i:i + 2])[0] for i in range(0, len(v), 2)]

    def fingerprint_ok(self):
        """None without FINGERPRINT, else whether its CRC is right."""
        if self.fp_offset is None:
            return None
        want = crc_fingerprint(self.raw[:self.fp_offset])
        got = struct.unpack("!I", self.get(FINGERPRINT))[0]
        return want == got

    def __repr__(self):
        m, c = split_type(self.type)
        names = {REQUEST: "req", INDICATION: "ind", SUCCESS: "ok", ERROR: "err"}
        return "<stun %s method=%#x tid=%s attrs=%s%s>" % (
            names[c], m, self.tid.hex(), ["%#06x" % t for t in self.types()],
            (" error=%r" % (self.error(),)) if self.has(ERROR_CODE) else "")


def decode(data):
    """Strictly decode one whole STUN message (RFC 8489 6., 14.)."""
    data = bytes(data)
    if len(data) < HDR_LEN:
        raise StunError("shorter than a header: %d bytes" % len(data))
    mtype, length, cookie = struct.unpack("!HHI", data[:8])
    if mtype & 0xC000:
        raise StunError("top bits of type set: %#06x" % mtype)
    if cookie != MAGIC:
        raise StunError("bad magic cookie %#010x" % cookie)
    if length % 4:
        raise StunError("length %d not a multiple of 4" % length)
    if HDR_LEN + length != len(data):
        raise StunError("length %d but %d bytes" % (length, len(data)))
    msg = Message(mtype, data[8:20])
    msg.raw = data
    off = HDR_LEN
    while off < len(data):
        if len(data) - off < 4:
            raise StunError("truncated attribute header at %d" % off)
        atype, alen = struct.unpack("!HH", data[off:off + 4])
        if off + 4 + pad4(alen) > len(data):
            raise StunError("attribute %#06x runs past the end" % atype)
        if msg.fp_offset is not None:
            raise StunError("attribute %#06x after FINGERPRINT" % atype)
        if atype == FINGERPRINT:
            if alen != 4:
                raise StunError("FINGERPRINT of length %d" % alen)
            msg.fp_offset = off
        msg.attrs.append((atype, data[off + 4:off + 4 + alen]))
        off += 4 + pad4(alen)
    return msg


# ------------------------------------------------------------- builders

def binding_request(attrs=(), tid=None):
    return Message(msg_type(BINDING, REQUEST), tid, attrs)


def binding_indication(attrs=(), tid=None):
    return Message(msg_type(BINDING, INDICATION), tid, attrs)


def software_attr(text):
    return (SOFTWARE, text.encode("utf-8"))


def change_request_attr(flags):
    return (CHANGE_REQUEST, struct.pack("!I", flags))


def channel_data(channel, payload, pad=True):
    """A ChannelData message (RFC 8656 12.4); padded to 4 for streams."""
    data = struct.pack("!HH", channel, len(payload)) + payload
    if pad:
        data += b"\0" * (pad4(len(payload)) - len(payload))
    return data


# ------------------------------------------------------------- stream framing

class FrameError(ValueError):
    pass


def frame_len(buf):
    """Length of the frame starting buf, None if more bytes are needed.

    STUN: 20 + length.  ChannelData (first two bits 01): 4 + length padded
    to 4 (RFC 8656 12.5: over TCP/TLS ChannelData is always padded).
    """
    if not buf:
        return None
    top = buf[0] >> 6
    if top not in (0, 1):
        raise FrameError("byte %#04x starts no frame" % buf[0])
    if len(buf) < 4:
        return None
    length = struct.unpack("!H", buf[2:4])[0]
    return HDR_LEN + length if top == 0 else 4 + pad4(length)


# ------------------------------------------------------------- clients

class Closed(Exception):
    """The server closed the connection."""


class Client:
    """Common interface of UDP, TCP and TLS clients."""

    transport = None
    default_timeout = 5.0

    def request(self, msg, fingerprint=False, timeout=None):
        """Send msg and return the decoded response with its transaction id.

        Nothing else is expected on the flow: a message with another
        transaction id (e.g. an answer to something that should have been
        dropped) fails the test.
        """
        self.send(msg.encode(fingerprint=fingerprint))
        data = self.recv(timeout or self.default_timeout)
        if data is None:
            raise TimeoutError("no response to %r on %s" % (msg, self.transport))
        r = decode(data)
        if r.tid != msg.tid:
            raise AssertionError("got %r while waiting for the answer to %r"
                                 % (r, msg))
        return r

    def expect_nothing(self, timeout=0.5):
        """Assert no message arrives within timeout; return what did."""
        return self.recv(timeout)


class UdpClient(Client):
    transport = "udp"

    def __init__(self, server, family=socket.AF_INET, bind=None, connect=True):
        self.server = server
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind(bind or (("127.0.0.1" if family == socket.AF_INET
                                 else "::1"), 0))
        self.connected = connect
        if connect:
            self.sock.connect(server)
        self.last_from = None

    @property
    def local(self):
        return self.sock.getsockname()[:2]

    def send(self, data, to=None):
        if to is not None:
            self.sock.sendto(data, to)
        elif self.connected:
            self.sock.send(data)
        else:
            self.sock.sendto(data, self.server)

    def recv(self, timeout):
        """One datagram, or None after timeout."""
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data, addr = self.sock.recvfrom(65536)
        except (socket.timeout, BlockingIOError):
            return None
        self.last_from = addr[:2]
        return data

    def close(self):
        self.sock.close()


class StreamClient(Client):
    """TCP or TLS with STUN / ChannelData framing."""

    def __init__(self, server, family=socket.AF_INET, tls=False, cafile=None,
                 bind=None, timeout=5.0, server_hostname=None):
        self.transport = "tls" if tls else "tcp"
        self.server = server
        raw = socket.socket(family, socket.SOCK_STREAM)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if bind:
            raw.bind(bind)
        raw.settimeout(timeout)
        raw.connect(server)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            if cafile:
                ctx.load_verify_locations(cafile)
                ctx.check_hostname = server_hostname is not None
            else:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            try:
                self.sock = ctx.wrap_socket(raw, server_hostname=server_hostname)
            except BaseException:
                raw.close()
                raise
        else:
            self.sock = raw
        self.buf = b""
        self.eof = False

    @property
    def local(self):
        return self.sock.getsockname()[:2]

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, timeout):
        """Read once; False on timeout.  Raises Closed at EOF/reset."""
        if self.eof:
            raise Closed()
        self.sock.settimeout(max(timeout, 0.001))
        try:
            chunk = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return False
        except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError,
                ssl.SSLZeroReturnError):
            self.eof = True
            raise Closed()
        except ssl.SSLError as e:
            # An alert from the peer also ends the connection.
            self.eof = True
            raise Closed(str(e))
        if not chunk:
            self.eof = True
            raise Closed()
        self.buf += chunk
        return True

    def recv_frame(self, timeout):
        """One whole frame (STUN or ChannelData), None on timeout."""
        deadline = time.monotonic() + timeout
        for _ in range(10000):
            n = frame_len(self.buf)
            if n is not None and len(self.buf) >= n:
                frame, self.buf = self.buf[:n], self.buf[n:]
                return frame
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._fill(left)
        raise AssertionError("recv_frame loop bound hit")

    def recv(self, timeout):
        """One STUN message (ChannelData frames are not expected)."""
        f = self.recv_frame(timeout)
        if f is not None and f[0] >> 6 != 0:
            raise AssertionError("unexpected ChannelData from server: %r" % f)
        return f

    def wait_closed(self, timeout=5.0):
        """True if the server closes (EOF or reset) within timeout.

        Anything the server sends before closing is discarded (bounded).
        """
        deadline = time.monotonic() + timeout
        for _ in range(1000):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self._fill(left)
            except Closed:
                return True
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

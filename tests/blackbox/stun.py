"""stun.py -- a minimal STUN client codec for the black-box suite.

Written from RFC 8489 / RFC 5780 / RFC 8656 (ChannelData framing), independently
of turnd's C codec, so that the two cannot share a misreading.  Stdlib only.

Messages are built from (type, value) attribute lists so that tests can put
anything on the wire, including attributes this module knows nothing about.
The TURN part (RFC 8656 methods and attributes, RFC 8489 long-term
credentials with MD5 and SHA-256, USERHASH, TURN REST credentials) is at the
end: TurnClient wraps one of the transport clients.
Decoding is strict: a response from turnd that does not walk cleanly raises
StunError, so every test that reads a response also checks its framing.
"""

import base64
import binascii
import hashlib
import hmac
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
REFRESH = 0x004
SEND = 0x006
DATA_METHOD = 0x007
CREATE_PERMISSION = 0x008
CHANNEL_BIND = 0x009
CONNECT = 0x00a              # RFC 6062
CONNECTION_BIND = 0x00b
CONNECTION_ATTEMPT = 0x00c

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
CONNECTION_ID = 0x002A       # RFC 6062
# TURN (RFC 8656) and RFC 8489 authentication.
CHANNEL_NUMBER = 0x000C
LIFETIME = 0x000D
XOR_PEER_ADDRESS = 0x0012
DATA = 0x0013
XOR_RELAYED_ADDRESS = 0x0016
REQUESTED_ADDRESS_FAMILY = 0x0017
EVEN_PORT = 0x0018
REQUESTED_TRANSPORT = 0x0019
DONT_FRAGMENT = 0x001A
MESSAGE_INTEGRITY_SHA256 = 0x001C
PASSWORD_ALGORITHM = 0x001D
USERHASH = 0x001E
RESERVATION_TOKEN = 0x0022
ADDITIONAL_ADDRESS_FAMILY = 0x8000
ADDRESS_ERROR_CODE = 0x8001
PASSWORD_ALGORITHMS = 0x8002
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
        self.offsets = []         # offset of each attribute, if decoded

    # -- building
    def add(self, atype, value):
        self.attrs.append((atype, bytes(value)))
        return self

    def encode(self, fingerprint=False, bad_fingerprint=False, mi_key=None,
               mi256_key=None):
        """The wire form.  mi_key appends MESSAGE-INTEGRITY (HMAC-SHA1),
        mi256_key MESSAGE-INTEGRITY-SHA256 (after it), then FINGERPRINT."""
        body = b""
        for atype, val in self.attrs:
            body += struct.pack("!HH", atype, len(val)) + val
            body += b"\0" * (pad4(len(val)) - len(val))
        if mi_key is not None:
            body += _integrity_attr(self, body, mi_key, MESSAGE_INTEGRITY)
        if mi256_key is not None:
            body += _integrity_attr(self, body, mi256_key,
                                    MESSAGE_INTEGRITY_SHA256)
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

    # -- TURN and authentication attributes
    def xor_relayed(self):
        """Every XOR-RELAYED-ADDRESS, in order, as (ip, port)."""
        return [decode_addr(v, self.tid) for v in self.get_all(XOR_RELAYED_ADDRESS)]

    def xor_peer(self):
        v = self.get(XOR_PEER_ADDRESS)
        return None if v is None else decode_addr(v, self.tid)

    def lifetime(self):
        v = self.get(LIFETIME)
        if v is None:
            return None
        if len(v) != 4:
            raise StunError("LIFETIME of %d bytes" % len(v))
        return struct.unpack("!I", v)[0]

    def connection_id(self):
        """RFC 6062 CONNECTION-ID as an int, or None."""
        v = self.get(CONNECTION_ID)
        if v is None:
            return None
        if len(v) != 4:
            raise StunError("CONNECTION-ID of %d bytes" % len(v))
        return struct.unpack("!I", v)[0]

    def reservation_token(self):
        v = self.get(RESERVATION_TOKEN)
        if v is not None and len(v) != 8:
            raise StunError("RESERVATION-TOKEN of %d bytes" % len(v))
        return v

    def realm(self):
        v = self.get(REALM)
        return None if v is None else v.decode("utf-8")

    def nonce(self):
        v = self.get(NONCE)
        return None if v is None else v.decode("utf-8")

    def password_algorithms(self):
        """[(algorithm, params bytes)] from PASSWORD-ALGORITHMS, or None."""
        v = self.get(PASSWORD_ALGORITHMS)
        return None if v is None else parse_password_algorithms(v)

    def integrity_ok(self, key, atype=MESSAGE_INTEGRITY):
        """None without the attribute, else whether its HMAC is right."""
        return check_integrity(self, key, atype)

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
        msg.offsets.append(off)
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

    # Ephemeral ports this test process was given: a new flow never reuses
    # one, since a shared server may still hold an allocation on the old
    # 5-tuple (it would answer 437).
    _used_ports = set()

    def __init__(self, server, family=socket.AF_INET, bind=None, connect=True):
        self.server = server
        for _ in range(100):
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
            self.sock.bind(bind or (("127.0.0.1" if family == socket.AF_INET
                                     else "::1"), 0))
            port = self.sock.getsockname()[1]
            if bind is not None or port not in UdpClient._used_ports:
                break
            self.sock.close()
        UdpClient._used_ports.add(port)
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


# ------------------------------------------------------------- TURN

PROTO_UDP = 17
PROTO_TCP = 6
PWALG_MD5 = 0x0001
PWALG_SHA256 = 0x0002
CHANNEL_MIN = 0x4000
CHANNEL_MAX = 0x4FFF          # RFC 8656 12
NONCE_COOKIE = "obMatJos2"    # RFC 8489 9.2


def _hmac_kind(atype):
    if atype == MESSAGE_INTEGRITY:
        return hashlib.sha1, 20
    if atype == MESSAGE_INTEGRITY_SHA256:
        return hashlib.sha256, 32
    raise ValueError(atype)


def _integrity_attr(msg, body, key, atype):
    """The MESSAGE-INTEGRITY(-SHA256) attribute following body (14.5/14.6):
    HMAC over the header, whose length already counts the attribute, and
    every attribute before it."""
    digest, n = _hmac_kind(atype)
    hdr = struct.pack("!HHI", msg.type, len(body) + 4 + n, msg.cookie) + msg.tid
    mac = hmac.new(key, hdr + body, digest).digest()
    return struct.pack("!HH", atype, n) + mac


def check_integrity(msg, key, atype=MESSAGE_INTEGRITY):
    """None if msg (decoded) has no such attribute, else whether it verifies.

    Also strict about what may follow (RFC 8489 14.5, 14.6): after
    MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, after
    MESSAGE-INTEGRITY-SHA256 only FINGERPRINT; else StunError.
    """
    if msg.raw is None:
        raise ValueError("check_integrity needs a decoded message")
    idx = None
    for i, (t, _) in enumerate(msg.attrs):
        if t == atype:
            idx = i
            break
    if idx is None:
        return None
    allowed = {FINGERPRINT}
    if atype == MESSAGE_INTEGRITY:
        allowed.add(MESSAGE_INTEGRITY_SHA256)
    for t, _ in msg.attrs[idx + 1:]:
        if t not in allowed:
            raise StunError("attribute %#06x after %#06x" % (t, atype))
    val = msg.attrs[idx][1]
    off = msg.offsets[idx]
    digest, n = _hmac_kind(atype)
    if atype == MESSAGE_INTEGRITY and len(val) != 20:
        raise StunError("MESSAGE-INTEGRITY of %d bytes" % len(val))
    if atype == MESSAGE_INTEGRITY_SHA256 and (
            len(val) < 16 or len(val) > 32 or len(val) % 4):
        raise StunError("MESSAGE-INTEGRITY-SHA256 of %d bytes" % len(val))
    hdr = bytearray(msg.raw[:off])
    struct.pack_into("!H", hdr, 2, off + 4 + len(val) - HDR_LEN)
    mac = hmac.new(key, bytes(hdr), digest).digest()
    return hmac.compare_digest(mac[:len(val)], val)


def long_term_key(user, realm, password, alg=PWALG_MD5):
    """RFC 8489 9.2.2: MD5 or SHA-256 of "user:realm:password"."""
    s = ("%s:%s:%s" % (user, realm, password)).encode("utf-8")
    if alg == PWALG_MD5:
        return hashlib.md5(s).digest()
    if alg == PWALG_SHA256:
        return hashlib.sha256(s).digest()
    raise ValueError(alg)


def userhash(user, realm):
    """RFC 8489 14.4: SHA-256 of "user:realm"."""
    return hashlib.sha256(("%s:%s" % (user, realm)).encode("utf-8")).digest()


def rest_credentials(secret, userid, expiry, sep=":"):
    """TURN REST API: (username "expiry<sep>userid",
    password base64(HMAC-SHA1(secret, username)))."""
    username = "%d%s%s" % (int(expiry), sep, userid)
    mac = hmac.new(secret.encode("utf-8"), username.encode("utf-8"),
                   hashlib.sha1).digest()
    return username, base64.b64encode(mac).decode("ascii")


def parse_password_algorithms(v):
    out = []
    off = 0
    while off < len(v):
        if len(v) - off < 4:
            raise StunError("PASSWORD-ALGORITHMS truncated")
        alg, plen = struct.unpack("!HH", v[off:off + 4])
        if off + 4 + plen > len(v):
            raise StunError("PASSWORD-ALGORITHMS parameters overrun")
        out.append((alg, v[off + 4:off + 4 + plen]))
        off += 4 + pad4(plen)
    return out


def password_algorithm_attr(alg, params=b""):
    return (PASSWORD_ALGORITHM, struct.pack("!HH", alg, len(params)) + params)


def requested_transport_attr(proto=PROTO_UDP):
    return (REQUESTED_TRANSPORT, struct.pack("!B3x", proto))


def connection_id_attr(conn_id):
    return (CONNECTION_ID, struct.pack("!I", conn_id))


def lifetime_attr(seconds):
    return (LIFETIME, struct.pack("!I", seconds))


def family_attr(atype, family):
    """REQUESTED-ADDRESS-FAMILY or ADDITIONAL-ADDRESS-FAMILY."""
    return (atype, struct.pack("!B3x", family))


def even_port_attr(reserve):
    return (EVEN_PORT, bytes([0x80 if reserve else 0]))


def channel_number_attr(channel):
    return (CHANNEL_NUMBER, struct.pack("!HH", channel, 0))


def xpeer(ip, port):
    """XOR-PEER-ADDRESS; the value depends on the transaction id, so it is
    a function of it (see materialise)."""
    return (XOR_PEER_ADDRESS, lambda tid: encode_addr(ip, port, tid))


def materialise(attrs, tid):
    return [(t, v(tid) if callable(v) else bytes(v)) for t, v in attrs]


def turn_message(method, cls=REQUEST, attrs=(), tid=None):
    tid = tid if tid is not None else new_tid()
    return Message(msg_type(method, cls), tid, materialise(attrs, tid))


def parse_channel_data(frame, stream):
    """(channel, payload) of a ChannelData frame; strict about its length."""
    if len(frame) < 4:
        raise StunError("ChannelData shorter than its header")
    ch, ln = struct.unpack("!HH", frame[:4])
    if len(frame) < 4 + ln:
        raise StunError("ChannelData length %d, %d bytes" % (ln, len(frame) - 4))
    extra = len(frame) - 4 - ln
    if stream and extra != pad4(ln) - ln:
        raise StunError("ChannelData over a stream padded by %d" % extra)
    if not stream and extra > 3:
        raise StunError("ChannelData datagram with %d bytes too many" % extra)
    return ch, frame[4:4 + ln]


class TurnClient:
    """A TURN client on one flow (a UdpClient or StreamClient).

    Long-term credentials: the first request goes unsigned and the 401
    gives realm, nonce and PASSWORD-ALGORITHMS; then every request is
    signed.  alg=PWALG_SHA256 echoes PASSWORD-ALGORITHMS, adds
    PASSWORD-ALGORITHM and signs with MESSAGE-INTEGRITY-SHA256;
    use_userhash sends USERHASH instead of USERNAME.  A 438 is answered
    once with the fresh nonce.  Data indications and ChannelData that
    arrive while a response is awaited are kept for recv_data().
    """

    def __init__(self, conn, user="alice", password="secret", alg=PWALG_MD5,
                 use_userhash=False, realm=None, nonce=None):
        self.conn = conn
        self.stream = isinstance(conn, StreamClient)
        self.user = user
        self.password = password
        self.alg = alg
        self.use_userhash = use_userhash
        self.realm = realm
        self.nonce = nonce
        self.pwalgs_raw = None
        self.fingerprint = False      # FINGERPRINT on what we send
        self.inbox = []
        self.relayed = []
        self.challenges = []          # every 401/438 seen

    # -- plumbing
    @property
    def key(self):
        return long_term_key(self.user, self.realm, self.password, self.alg)

    @property
    def local(self):
        return self.conn.local

    def close(self):
        self.conn.close()

    def send_raw(self, data):
        self.conn.send(data)

    def recv_frame(self, timeout):
        if self.stream:
            return self.conn.recv_frame(timeout)
        return self.conn.recv(timeout)

    def _is_data(self, frame):
        if frame[0] >> 6 == 1:
            return True
        if len(frame) >= 2:
            t = struct.unpack("!H", frame[:2])[0]
            return t == msg_type(DATA_METHOD, INDICATION)
        return False

    def exchange(self, msg, data=None, timeout=5.0):
        """Send msg (or the bytes data) and return the decoded response
        with msg's transaction id.  Data frames are queued; any other
        message fails the test."""
        self.send_raw(data if data is not None else msg.encode())
        deadline = time.monotonic() + timeout
        for _ in range(100000):
            left = deadline - time.monotonic()
            f = self.recv_frame(left) if left > 0 else None
            if f is None:
                raise TimeoutError("no response to %r on %s"
                                   % (msg, self.conn.transport))
            if self._is_data(f):
                self.inbox.append(f)
                continue
            r = decode(f)
            if r.tid != msg.tid or r.method != msg.method or \
                    r.cls not in (SUCCESS, ERROR):
                raise AssertionError("got %r while waiting for the answer "
                                     "to %r" % (r, msg))
            return r
        raise AssertionError("exchange loop bound hit")

    def learn(self, r):
        """Realm, nonce and algorithms of a 401 or 438."""
        self.challenges.append(r)
        if r.realm() is not None:
            self.realm = r.realm()
        if r.nonce() is not None:
            self.nonce = r.nonce()
        if r.get(PASSWORD_ALGORITHMS) is not None:
            self.pwalgs_raw = r.get(PASSWORD_ALGORITHMS)

    def auth_attrs(self):
        out = []
        if self.use_userhash:
            out.append((USERHASH, userhash(self.user, self.realm)))
        else:
            out.append((USERNAME, self.user.encode("utf-8")))
        out.append((REALM, self.realm.encode("utf-8")))
        out.append((NONCE, self.nonce.encode("utf-8")))
        if self.alg != PWALG_MD5:
            out.append((PASSWORD_ALGORITHMS, self.pwalgs_raw))
            out.append(password_algorithm_attr(self.alg))
        return out

    def sign(self, msg):
        """msg with the credentials added, encoded and signed."""
        msg.attrs.extend(self.auth_attrs())
        if self.alg == PWALG_MD5:
            return msg.encode(mi_key=self.key, fingerprint=self.fingerprint)
        return msg.encode(mi256_key=self.key, fingerprint=self.fingerprint)

    def verify(self, r):
        """A success, or an error other than 400/401/420/438, must be
        signed with our key and algorithm (RFC 8489 9.2.4)."""
        code = r.error_code() if r.cls == ERROR else None
        if code in (400, 401, 420, 438):
            return
        atype = MESSAGE_INTEGRITY if self.alg == PWALG_MD5 \
            else MESSAGE_INTEGRITY_SHA256
        ok = check_integrity(r, self.key, atype)
        if r.cls == SUCCESS:
            assert ok is True, "success %r: %#06x %s" % (
                r, atype, "missing" if ok is None else "does not verify")
        else:
            assert ok in (None, True), "%r: bad %#06x" % (r, atype)

    def request(self, method, attrs=(), timeout=5.0, stale_retry=True):
        """An authenticated request of method with attrs (values may be
        functions of the transaction id); the final response, verified."""
        if self.nonce is None:
            m = turn_message(method, attrs=attrs)
            r = self.exchange(m, m.encode(fingerprint=self.fingerprint),
                              timeout=timeout)
            if not (r.cls == ERROR and r.error_code() == 401):
                return r
            self.learn(r)
        m = turn_message(method, attrs=attrs)
        r = self.exchange(m, self.sign(m), timeout=timeout)
        if stale_retry and r.cls == ERROR and r.error_code() == 438:
            self.learn(r)
            m = turn_message(method, attrs=attrs)
            r = self.exchange(m, self.sign(m), timeout=timeout)
        self.verify(r)
        return r

    # -- methods
    def allocate(self, attrs=(), transport=PROTO_UDP, lifetime=None,
                 timeout=5.0):
        a = []
        if transport is not None:
            a.append(requested_transport_attr(transport))
        if lifetime is not None:
            a.append(lifetime_attr(lifetime))
        r = self.request(ALLOCATE, a + list(attrs), timeout=timeout)
        if r.cls == SUCCESS:
            self.relayed = r.xor_relayed()
        return r

    def refresh(self, lifetime=None, attrs=()):
        a = [] if lifetime is None else [lifetime_attr(lifetime)]
        return self.request(REFRESH, a + list(attrs))

    def create_permission(self, *peers, attrs=()):
        """peers: (ip, port) pairs; one XOR-PEER-ADDRESS each."""
        return self.request(CREATE_PERMISSION,
                            [xpeer(ip, port) for ip, port in peers] + list(attrs))

    def connect(self, peer, timeout=5.0):
        """RFC 6062 Connect to peer (ip, port)."""
        return self.request(CONNECT, [xpeer(*peer)], timeout=timeout)

    def connection_bind(self, conn_id):
        """RFC 6062 ConnectionBind for conn_id on this (new) flow."""
        return self.request(CONNECTION_BIND, [connection_id_attr(conn_id)])

    def data_client(self, conn):
        """A client on a new flow conn with this one's credentials."""
        c = TurnClient(conn, self.user, self.password, self.alg,
                       self.use_userhash, self.realm, self.nonce)
        c.pwalgs_raw = self.pwalgs_raw
        return c

    def channel_bind(self, channel, peer):
        return self.request(CHANNEL_BIND,
                            [channel_number_attr(channel), xpeer(*peer)])

    def send_indication(self, peer, payload, extra=()):
        m = turn_message(SEND, INDICATION,
                         [xpeer(*peer), (DATA, payload)] + list(extra))
        self.send_raw(m.encode(fingerprint=self.fingerprint))

    def send_channel(self, channel, payload, pad=None):
        self.send_raw(channel_data(channel, payload,
                                   pad=self.stream if pad is None else pad))

    def recv_data(self, timeout=5.0):
        """The next Data indication ("data", (ip, port), payload) or
        ChannelData ("chan", channel, payload); None after timeout."""
        f = self.inbox.pop(0) if self.inbox else self.recv_frame(timeout)
        if f is None:
            return None
        if f[0] >> 6 == 1:
            ch, payload = parse_channel_data(f, self.stream)
            return ("chan", ch, payload)
        m = decode(f)
        if m.type != msg_type(DATA_METHOD, INDICATION):
            raise AssertionError("expected data from a peer, got %r" % m)
        peer = m.xor_peer()
        data = m.get(DATA)
        if peer is None or data is None:
            raise StunError("Data indication without XOR-PEER-ADDRESS/DATA")
        return ("data", peer, data)


class Peer:
    """A UDP peer on loopback owned by the test (no thread)."""

    def __init__(self, host="127.0.0.1", port=0):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.bind((host, port))

    @property
    def addr(self):
        return self.sock.getsockname()[:2]

    def send(self, data, to):
        self.sock.sendto(data, tuple(to))

    def recv(self, timeout=5.0):
        """(data, (ip, port)) or None after timeout."""
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data, addr = self.sock.recvfrom(65536)
        except (socket.timeout, BlockingIOError):
            return None
        return data, addr[:2]

    def drain(self, timeout=0.05, bound=10000):
        """Read what is queued; the number of datagrams read."""
        n = 0
        for _ in range(bound):
            if self.recv(timeout) is None:
                break
            n += 1
        return n

    def close(self):
        self.sock.close()

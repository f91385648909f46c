"""Long-term credentials on TURN requests (RFC 8489 9.2, RFC 8656 5):
the 401 challenge, MD5 and SHA-256 keys, USERHASH, nonces, 441, and TURN
REST API credentials."""

import time

import pytest

import stun
from conftest import TRANSPORTS, expect_error, expect_ok

OTHER_SECRET = "0123456789abcdef-other"


def challenge(c):
    """An unsigned Allocate on c; the 401, learnt."""
    m = stun.turn_message(stun.ALLOCATE, attrs=[stun.requested_transport_attr()])
    r = c.exchange(m)
    expect_error(r, 401, stun.ALLOCATE)
    c.learn(r)
    return r


def signed_allocate(c, attrs, mi_key=None, mi256_key=None):
    """An Allocate with exactly attrs (after REQUESTED-TRANSPORT), signed
    as told; the response."""
    m = stun.turn_message(stun.ALLOCATE,
                          attrs=[stun.requested_transport_attr()] + list(attrs))
    return c.exchange(m, m.encode(mi_key=mi_key, mi256_key=mi256_key))


# ------------------------------------------------------------- the challenge

@pytest.mark.parametrize("method", [stun.ALLOCATE, stun.REFRESH,
                                    stun.CREATE_PERMISSION, stun.CHANNEL_BIND])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unsigned_request_401(shared_turn, turn_client, transport, method):
    c = turn_client(shared_turn, transport)
    r = c.exchange(stun.turn_message(method, attrs=[
        stun.requested_transport_attr()]))
    expect_error(r, 401, method)
    assert r.realm() == "test.realm"
    nonce = r.nonce()
    assert nonce.startswith(stun.NONCE_COOKIE), nonce
    assert len(r.get(stun.NONCE)) <= 763
    algs = [a for a, _ in r.password_algorithms()]
    assert stun.PWALG_MD5 in algs and stun.PWALG_SHA256 in algs, algs
    # Nothing to sign with yet: no integrity on the challenge.
    assert not r.has(stun.MESSAGE_INTEGRITY)
    assert not r.has(stun.MESSAGE_INTEGRITY_SHA256)
    assert not r.has(stun.XOR_RELAYED_ADDRESS)


def test_nonces_differ_per_client_address(shared_turn):
    """Two clients from different IP addresses get different nonces."""
    cs = [stun.TurnClient(stun.UdpClient(shared_turn.addr("udp"),
                                         bind=(ip, 0)))
          for ip in ("127.0.0.1", "127.0.0.2")]
    try:
        n = [challenge(c).nonce() for c in cs]
        assert n[0] != n[1]
    finally:
        for c in cs:
            c.close()


@pytest.mark.parametrize("user,password,realm", [
    ("alice", "wrong", None),
    ("mallory", "secret", None),
    ("alice", "secret", "other.realm"),
    ("Alice", "secret", None),
], ids=["wrong-password", "unknown-user", "wrong-realm", "user-case"])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_bad_credentials_401(turn_server, turn_client, transport, user,
                             password, realm):
    c = turn_client(turn_server, transport, user=user, password=password)
    challenge(c)
    if realm is not None:
        c.realm = realm          # signs for another realm, consistently
    r = signed_allocate(c, c.auth_attrs(), mi_key=c.key)
    expect_error(r, 401, stun.ALLOCATE)
    # A 401 always says how to do better: our realm and a nonce.
    assert r.realm() == "test.realm"
    assert r.nonce().startswith(stun.NONCE_COOKIE)
    s = turn_server.wait_stats(lambda s: s.get("err_401") == 2)
    assert s["err_401"] == 2
    assert s["alloc_created"] == 0


@pytest.mark.parametrize("missing", [stun.USERNAME, stun.REALM, stun.NONCE])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_missing_attribute_with_integrity_400(shared_turn, turn_client,
                                              transport, missing):
    c = turn_client(shared_turn, transport)
    challenge(c)
    attrs = [a for a in c.auth_attrs() if a[0] != missing]
    r = signed_allocate(c, attrs, mi_key=c.key)
    expect_error(r, 400, stun.ALLOCATE)
    # The flow still works with everything there.
    expect_ok(c.allocate())


def test_bad_integrity_401(shared_turn, turn_client):
    """Right user, realm and nonce, but a MAC made with another key."""
    c = turn_client(shared_turn)
    challenge(c)
    r = signed_allocate(c, c.auth_attrs(), mi_key=b"\x00" * 16)
    expect_error(r, 401)
    expect_ok(c.allocate())


# ------------------------------------------------------------- nonces

def forgeries(nonce):
    body = nonce[len(stun.NONCE_COOKIE):]
    flip = "A" if nonce[-1] != "A" else "B"
    mid = len(nonce) // 2
    return {
        "last-char": nonce[:-1] + flip,
        "middle-char": nonce[:mid] + ("x" if nonce[mid] != "x" else "y")
                       + nonce[mid + 1:],
        "truncated": nonce[:-4],
        "extended": nonce + "AAAA",
        "no-cookie": body,
        "made-up": stun.NONCE_COOKIE + "AAAD" + "A" * 32,
    }


@pytest.mark.parametrize("kind", ["last-char", "middle-char", "truncated",
                                  "extended", "no-cookie", "made-up"])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_forged_nonce_438(turn_server, turn_client, transport, kind):
    c = turn_client(turn_server, transport)
    good = challenge(c).nonce()
    c.nonce = forgeries(good)[kind]
    r = signed_allocate(c, c.auth_attrs(), mi_key=c.key)
    expect_error(r, 438, stun.ALLOCATE)
    fresh = r.nonce()
    assert fresh is not None and fresh.startswith(stun.NONCE_COOKIE)
    assert fresh != c.nonce
    assert r.realm() == "test.realm"
    # The fresh nonce works.
    c.nonce = fresh
    expect_ok(signed_allocate(c, c.auth_attrs(), mi_key=c.key))
    s = turn_server.wait_stats(lambda s: s.get("err_438") == 1)
    assert s["err_438"] == 1
    assert s["alloc_created"] == 1


def test_nonce_of_another_server_438(turn_factory, turn_client):
    """A nonce is only good where it was made (random nonce keys)."""
    a = turn_factory()
    b = turn_factory()
    ca = turn_client(a)
    expect_ok(ca.allocate())
    cb = turn_client(b, realm=ca.realm, nonce=ca.nonce)
    r = signed_allocate(cb, cb.auth_attrs(), mi_key=cb.key)
    expect_error(r, 438)
    cb.learn(r)
    # The fresh nonce of b works there, with no further challenge.
    expect_ok(cb.allocate())
    assert len(cb.challenges) == 1


def test_nonce_shared_by_a_fleet(turn_factory, turn_client):
    """Servers with the same auth.nonce_secret accept each other's nonces."""
    over = {"auth": {"nonce_secret": "fleet-nonce-secret-0123456789"}}
    a = turn_factory(over)
    b = turn_factory(over)
    ca = turn_client(a)
    expect_ok(ca.allocate())
    cb = turn_client(b, realm=ca.realm, nonce=ca.nonce)
    expect_ok(cb.allocate())
    assert cb.challenges == []


def test_nonce_bound_to_client_address(shared_turn):
    """A nonce given to 127.0.0.1 is stale from 127.0.0.2."""
    c1 = stun.TurnClient(stun.UdpClient(shared_turn.addr("udp"),
                                        bind=("127.0.0.1", 0)))
    c2 = stun.TurnClient(stun.UdpClient(shared_turn.addr("udp"),
                                        bind=("127.0.0.2", 0)))
    try:
        challenge(c1)
        c2.realm, c2.nonce = c1.realm, c1.nonce
        expect_error(signed_allocate(c2, c2.auth_attrs(), mi_key=c2.key), 438)
        # The same nonce from another port of 127.0.0.1 is fine.
        c3 = stun.TurnClient(stun.UdpClient(shared_turn.addr("udp")),
                             realm=c1.realm, nonce=c1.nonce)
        try:
            expect_ok(signed_allocate(c3, c3.auth_attrs(), mi_key=c3.key))
        finally:
            c3.close()
    finally:
        c1.close()
        c2.close()


# ------------------------------------------------------------- 441

@pytest.mark.parametrize("transport", TRANSPORTS)
def test_other_credentials_on_allocation_441(turn_server, turn_client, peer,
                                              transport):
    alice = turn_client(turn_server, transport)
    expect_ok(alice.allocate())
    # Bob on alice's 5-tuple (the same flow), with his own valid key.
    bob = stun.TurnClient(alice.conn, user="bob", password="hunter2",
                          realm=alice.realm, nonce=alice.nonce)
    expect_error(bob.refresh(), 441, stun.REFRESH)
    expect_error(bob.create_permission(peer.addr), 441,
                 stun.CREATE_PERMISSION)
    expect_error(bob.channel_bind(0x4000, peer.addr), 441, stun.CHANNEL_BIND)
    # Bob's attempts changed nothing: alice's allocation has no permission.
    alice.send_indication(peer.addr, b"x")
    assert peer.recv(0.3) is None
    expect_ok(alice.create_permission(peer.addr))
    expect_ok(alice.refresh())
    s = turn_server.wait_stats(lambda s: s.get("err_441") == 3)
    assert s["err_441"] == 3


def test_bob_cannot_delete_alice(shared_turn, turn_client):
    alice = turn_client(shared_turn)
    expect_ok(alice.allocate())
    bob = stun.TurnClient(alice.conn, user="bob", password="hunter2",
                          realm=alice.realm, nonce=alice.nonce)
    expect_error(bob.refresh(0), 441)
    assert expect_ok(alice.refresh()).lifetime() == 600


# ------------------------------------------------------------- SHA-256

@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sha256(turn_server, turn_client, peer, transport):
    c = turn_client(turn_server, transport, alg=stun.PWALG_SHA256)
    r = expect_ok(c.allocate())
    key = stun.long_term_key("alice", "test.realm", "secret", stun.PWALG_SHA256)
    assert r.integrity_ok(key, stun.MESSAGE_INTEGRITY_SHA256) is True
    # Signed with what the request used, not MD5 (RFC 8489 9.2.4).
    assert not r.has(stun.MESSAGE_INTEGRITY)
    # Every later request goes the same way (TurnClient verifies each).
    r = expect_ok(c.create_permission(peer.addr))
    assert r.has(stun.MESSAGE_INTEGRITY_SHA256)
    expect_ok(c.channel_bind(0x4001, peer.addr))
    expect_ok(c.refresh())
    c.send_channel(0x4001, b"sha")
    assert peer.recv(5.0) == (b"sha", c.relayed[0])


@pytest.mark.parametrize("drop", [stun.PASSWORD_ALGORITHMS,
                                  stun.PASSWORD_ALGORITHM])
def test_sha256_one_algorithm_attribute_400(shared_turn, turn_client, drop):
    c = turn_client(shared_turn, alg=stun.PWALG_SHA256)
    challenge(c)
    attrs = [a for a in c.auth_attrs() if a[0] != drop]
    expect_error(signed_allocate(c, attrs, mi256_key=c.key), 400)
    expect_ok(c.allocate())


def test_sha256_altered_algorithms_400(shared_turn, turn_client):
    """PASSWORD-ALGORITHMS not as the server sent it: a bid-down attempt
    (RFC 8489 9.2.4)."""
    c = turn_client(shared_turn, alg=stun.PWALG_SHA256)
    challenge(c)
    c.pwalgs_raw = bytes.fromhex("00020000")          # SHA-256 alone
    expect_error(signed_allocate(c, c.auth_attrs(), mi256_key=c.key), 400)


def test_sha256_algorithm_not_offered_400(shared_turn, turn_client):
    c = turn_client(shared_turn, alg=stun.PWALG_SHA256)
    challenge(c)
    attrs = [a for a in c.auth_attrs() if a[0] != stun.PASSWORD_ALGORITHM]
    attrs.append(stun.password_algorithm_attr(0x0003))
    expect_error(signed_allocate(c, attrs, mi256_key=c.key), 400)


def test_sha256_wrong_password_401(shared_turn, turn_client):
    c = turn_client(shared_turn, alg=stun.PWALG_SHA256, password="nope")
    r = c.allocate()
    expect_error(r, 401)


def test_md5_algorithm_explicit(shared_turn, turn_client):
    """PASSWORD-ALGORITHM MD5 with the echoed list, MESSAGE-INTEGRITY."""
    c = turn_client(shared_turn)
    challenge(c)
    attrs = c.auth_attrs() + [(stun.PASSWORD_ALGORITHMS, c.pwalgs_raw),
                              stun.password_algorithm_attr(stun.PWALG_MD5)]
    r = expect_ok(signed_allocate(c, attrs, mi_key=c.key))
    assert r.integrity_ok(c.key) is True


# ------------------------------------------------------------- USERHASH

@pytest.mark.parametrize("alg", [stun.PWALG_MD5, stun.PWALG_SHA256],
                         ids=["md5", "sha256"])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_userhash(shared_turn, turn_client, peer, transport, alg):
    c = turn_client(shared_turn, transport, alg=alg, use_userhash=True)
    expect_ok(c.allocate())
    expect_ok(c.create_permission(peer.addr))
    c.send_indication(peer.addr, b"anonymous")
    assert peer.recv(5.0) == (b"anonymous", c.relayed[0])


def test_userhash_unknown_user_401(shared_turn, turn_client):
    c = turn_client(shared_turn, user="mallory", use_userhash=True)
    expect_error(c.allocate(), 401)


def test_userhash_and_username_is_one_allocation_owner(shared_turn,
                                                       turn_client):
    """USERHASH names the same user as USERNAME: alice by hash may
    refresh the allocation alice made by name."""
    c = turn_client(shared_turn)
    expect_ok(c.allocate())
    h = stun.TurnClient(c.conn, use_userhash=True, realm=c.realm,
                        nonce=c.nonce)
    expect_ok(h.refresh())


# ------------------------------------------------------------- REST

@pytest.mark.parametrize("secret", ["s1", "s2"])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_rest_credentials(shared_turn, turn_client, peer, transport, secret):
    user, password = stun.rest_credentials(secret, "carol",
                                           time.time() + 3600)
    c = turn_client(shared_turn, transport, user=user, password=password)
    expect_ok(c.allocate())
    expect_ok(c.create_permission(peer.addr))
    c.send_indication(peer.addr, b"rest")
    assert peer.recv(5.0) == (b"rest", c.relayed[0])


def test_rest_credentials_sha256(shared_turn, turn_client):
    user, password = stun.rest_credentials("s2", "carol", time.time() + 60)
    c = turn_client(shared_turn, user=user, password=password,
                    alg=stun.PWALG_SHA256)
    r = expect_ok(c.allocate())
    assert r.has(stun.MESSAGE_INTEGRITY_SHA256)


@pytest.mark.parametrize("case", ["expired", "wrong-secret", "altered-user",
                                  "no-separator"])
def test_rest_bad_401(turn_server, turn_client, case):
    now = int(time.time())
    if case == "expired":
        user, password = stun.rest_credentials("s1", "carol", now - 60)
    elif case == "wrong-secret":
        user, password = stun.rest_credentials("s3", "carol", now + 3600)
    elif case == "altered-user":
        user, password = stun.rest_credentials("s1", "carol", now + 3600)
        user = user.replace("carol", "carl")
    else:
        _, password = stun.rest_credentials("s1", "carol", now + 3600)
        user = "%dcarol" % (now + 3600)
    c = turn_client(turn_server, user=user, password=password)
    expect_error(c.allocate(), 401)
    s = turn_server.wait_stats(lambda s: s.get("err_401") == 2)
    assert s["err_401"] == 2
    assert s["alloc_created"] == 0


def test_rest_separator(turn_factory, turn_client):
    t = turn_factory({"auth": {"rest_separator": "-"}})
    user, password = stun.rest_credentials("s1", "dave", time.time() + 60,
                                           sep="-")
    expect_ok(turn_client(t, user=user, password=password).allocate())
    user, password = stun.rest_credentials("s1", "dave", time.time() + 60)
    expect_error(turn_client(t, user=user, password=password).allocate(), 401)


def test_rest_other_userid_441(shared_turn, turn_client):
    """A REST name is a user like any other: a different user id (or
    expiry) on the same allocation is other credentials."""
    exp = int(time.time()) + 3600
    u1, p1 = stun.rest_credentials("s1", "carol", exp)
    c = turn_client(shared_turn, user=u1, password=p1)
    expect_ok(c.allocate())
    u2, p2 = stun.rest_credentials("s1", "erin", exp)
    other = stun.TurnClient(c.conn, user=u2, password=p2, realm=c.realm,
                            nonce=c.nonce)
    expect_error(other.refresh(), 441)

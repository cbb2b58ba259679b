"""Messages between nodes, signed end to end by the sending nation (Ed25519).

A node never puts a bare message (`messages.encode`) on the bus: it puts a
*frame* around it,

    SignedFrame(sender, receiver, kind, seq, sent_s, signature, body)

whose signature covers, in one canonical msgpack array,

    ("airpicture/link/1", sender, receiver, kind, seq, sent_s, SHA-256(body))

— nothing of the transport (no NATS subject, no header), so the same frame is
checked the same way whichever bus carried it. The receiver `open`s a frame
before anything else — before the message inside is decoded at all: it must
be a frame of this version, from a partner whose public key it holds, to this
receiver, with a valid signature; only then is the body handed to
`messages.decode`. So neither a relay, a server, nor one partner can make a
node believe that another nation said something, or say to JPN what it said
to AUS (the receiver is signed), or pass off a tracks message as warnings.

Replays are the node's part (`node.py`): a frame whose (sender, seq) the node
has seen, or whose `sent_s` is outside a window of its clock, is refused.

Keys: the sender nation's NKey (`deploy/credentials.py`: the node user's seed
is an Ed25519 seed; its `U…` public key is what partners verify with),
`Keyring.from_deployment`; the deterministic run makes a fresh key pair per
nation per run (`Keyring.generate`). Ed25519 through `cryptography` (OpenSSL).

Everything here is pure: `seal(...) -> bytes`, `open_frame(bytes) -> body`;
`FrameError` (reason, detail) is the only exception `open_frame` raises.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final

import msgspec
import nkeys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from airpicture.errors import InputError
from airpicture.network.messages import MAX_MESSAGE_BYTES, Message, TrackBatch, encode, kind_of

#: Version of the frame; a receiver reads only this one.
FRAME_VERSION: Final = 1
#: What the signature is over starts with this, so a link signature is never valid
#: for anything else the same key signs (the NATS server's nonce, say).
_DOMAIN: Final = "airpicture/link/1"
#: A frame is its body plus a few hundred bytes.
MAX_FRAME_BYTES: Final = MAX_MESSAGE_BYTES + 1024
SIGNATURE_BYTES: Final = 64

Nation = Annotated[str, msgspec.Meta(max_length=16)]
Kind = Annotated[str, msgspec.Meta(max_length=16)]
Seq = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
Signature = Annotated[bytes, msgspec.Meta(min_length=SIGNATURE_BYTES, max_length=SIGNATURE_BYTES)]


class SignedFrame(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A message as it crosses the network: the signed header and the message's bytes."""

    frame: int
    sender: Nation
    receiver: Nation
    kind: Kind
    #: The sender's sequence number on this link (the message's own `seq`).
    seq: Seq
    #: When it was sent (the message's own stamp: `time_s` of tracks, else `sent_s`).
    sent_s: float
    signature: Signature
    #: `messages.encode(message)`.
    body: bytes


_FRAME_ENCODER: Final = msgspec.msgpack.Encoder()
_FRAME_DECODER: Final = msgspec.msgpack.Decoder(SignedFrame)


class FrameError(ValueError):
    """Bytes that are not a frame this node may believe; `reason` is a short counter name."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


def signed_bytes(
    sender: str, receiver: str, kind: str, seq: int, sent_s: float, body: bytes
) -> bytes:
    """What the signature is over: the header and the SHA-256 of the body, one msgpack array."""
    digest = hashlib.sha256(body).digest()
    return _FRAME_ENCODER.encode((_DOMAIN, sender, receiver, kind, seq, sent_s, digest))


def stamp_of(message: Message) -> float:
    """The time a message says it was sent: a track batch's `time_s`, else its `sent_s`."""
    if isinstance(message, TrackBatch):
        return float(message.time_s)
    return float(message.sent_s)


@dataclass(frozen=True)
class Keyring:
    """One nation's signing key and the public keys of every nation of the network."""

    nation: str
    private_key: Ed25519PrivateKey
    public_keys: Mapping[str, Ed25519PublicKey]

    @staticmethod
    def generate(nations: Iterable[str]) -> dict[str, Keyring]:
        """A fresh key pair per nation (the deterministic run's: made per run, never stored)."""
        private = {n: Ed25519PrivateKey.generate() for n in sorted(set(nations))}
        public = {n: k.public_key() for n, k in private.items()}
        return {n: Keyring(n, k, public) for n, k in private.items()}

    @staticmethod
    def from_nkeys(nation: str, seed: bytes, public_keys: Mapping[str, str]) -> Keyring:
        """From the nation's NKey user seed (`SU…`) and every nation's public key (`U…`).

        Raises `InputError` naming the nation whose key is malformed, or whose seed
        does not sign as the public key the deployment registered for it.
        """
        try:
            _, raw = nkeys.decode_seed(bytearray(seed.strip()))
            private = Ed25519PrivateKey.from_private_bytes(bytes(raw))
        except (nkeys.NkeysError, ValueError, IndexError):
            raise InputError(
                f"{nation} node seed", ["not an NKey seed (one line starting 'SU')"]
            ) from None
        public = {n: _public_key(n, text) for n, text in public_keys.items()}
        own = public.get(nation)
        if own is None or _raw(own) != _raw(private.public_key()):
            raise InputError(
                f"{nation} node seed",
                [f"does not sign as {nation}'s registered public key: run `airpicture exercise "
                 "init` again, or give the seed file it wrote"],
            )  # fmt: skip
        return Keyring(nation, private, public)

    @staticmethod
    def from_deployment(deployment: object, nation: str) -> Keyring:
        """`nation`'s keyring of an exercise deployment (`deploy.layout.Deployment`): its
        node user's seed file and every nation's node public key."""
        from airpicture.deploy.layout import Deployment

        if not isinstance(deployment, Deployment):
            raise TypeError("a deploy.layout.Deployment")
        access = deployment.nation(nation)
        seed_file = Path(access.node_seed)
        try:
            seed = seed_file.read_bytes()
        except OSError as exc:
            raise InputError(str(seed_file), [f"NKey seed file cannot be read ({exc})"]) from None
        keys = {n: a.node_public_key for n, a in deployment.nations.items()}
        return Keyring.from_nkeys(nation, seed, keys)

    def partner_keys_raw(self) -> dict[str, bytes]:
        """The partners' public keys, raw (32 bytes each): what a recording keeps so that a
        replay checks the recorded frames as the node did."""
        return {n: _raw(k) for n, k in sorted(self.public_keys.items()) if n != self.nation}

    @staticmethod
    def for_replay(nation: str, partner_keys_raw: Mapping[str, bytes]) -> Keyring:
        """A replay's keyring: the recorded partners' public keys, to open the recorded
        frames as the node did, and a throwaway signing key (a replay never holds the
        nation's seed), so that its frames match the recorded ones but for the signature
        (`frame_without_signature`)."""
        try:
            public = {
                n: Ed25519PublicKey.from_public_bytes(bytes(raw))
                for n, raw in partner_keys_raw.items()
            }
        except ValueError:
            raise InputError(
                f"{nation} recording", ["a recorded partner key is not an Ed25519 public key"]
            ) from None
        return Keyring(nation, Ed25519PrivateKey.generate(), public)

    def seal(self, receiver: str, message: Message) -> bytes:
        """The frame of `message` to `receiver`, signed by this nation."""
        return self.seal_body(
            receiver, kind_of(message).value, message.seq, stamp_of(message), encode(message)
        )

    def seal_body(self, receiver: str, kind: str, seq: int, sent_s: float, body: bytes) -> bytes:
        """`seal` of a message already encoded (`body`), its kind, seq and stamp given."""
        signature = self.private_key.sign(
            signed_bytes(self.nation, receiver, kind, seq, sent_s, body)
        )
        return _FRAME_ENCODER.encode(
            SignedFrame(
                frame=FRAME_VERSION,
                sender=self.nation,
                receiver=receiver,
                kind=kind,
                seq=seq,
                sent_s=sent_s,
                signature=signature,
                body=body,
            )
        )

    def open(self, payload: bytes, transport_sender: str) -> SignedFrame:
        """The frame in `payload` once its signature is checked; `FrameError` otherwise.

        Checked: size, shape, version, the transport's sender is the signed one, a
        partner's key is held for it, the frame is for this nation, the signature.
        The body is *not* decoded here.
        """
        frame = read_frame(payload)
        if frame.sender != transport_sender:
            raise FrameError(
                "sender_mismatch", f"signed by {frame.sender!r}, delivered as {transport_sender!r}"
            )
        key = self.public_keys.get(frame.sender)
        if key is None or frame.sender == self.nation:
            raise FrameError("unknown_sender", f"no partner key for {frame.sender!r}")
        if frame.receiver != self.nation:
            raise FrameError("wrong_receiver", f"signed for {frame.receiver!r}")
        try:
            key.verify(
                frame.signature,
                signed_bytes(
                    frame.sender, frame.receiver, frame.kind, frame.seq, frame.sent_s, frame.body
                ),
            )
        except InvalidSignature:
            raise FrameError("bad_signature", f"seq {frame.seq} from {frame.sender}") from None
        return frame


def read_frame(payload: bytes) -> SignedFrame:
    """The frame's fields, *unverified* (`Keyring.open` verifies); `FrameError` if malformed."""
    if len(payload) > MAX_FRAME_BYTES:
        raise FrameError("too_large", f"{len(payload):,} bytes; at most {MAX_FRAME_BYTES:,}")
    try:
        frame = _FRAME_DECODER.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise FrameError("not_a_frame", str(exc)) from None
    except RecursionError:
        raise FrameError("not_a_frame", "values nested deeper than the stack allows") from None
    if frame.frame != FRAME_VERSION:
        raise FrameError("unknown_frame_version", f"frame {frame.frame}; this node reads 1")
    return frame


def frame_without_signature(payload: bytes) -> bytes:
    """`payload` with its signature blanked, when it is a frame (else as it is): a replay's
    frames, signed with another key, compare equal to the recorded ones on everything else."""
    try:
        frame = read_frame(payload)
    except FrameError:
        return payload
    return _FRAME_ENCODER.encode(msgspec.structs.replace(frame, signature=bytes(SIGNATURE_BYTES)))


def message_bytes(payload: bytes) -> bytes:
    """The message inside a frame, unverified: for tests and tools reading a bus's log."""
    return read_frame(payload).body


def _public_key(nation: str, text: str) -> Ed25519PublicKey:
    """An NKey user public key (`U…`, base32 of prefix, 32 bytes, CRC-16) as a key."""
    fix = "the deployment's node_public_key of that nation, as `airpicture exercise init` wrote it"
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise InputError(f"{nation} public key", [f"not base32: {fix}"]) from None
    if len(raw) != 35 or raw[0] != nkeys.PREFIX_BYTE_USER:
        raise InputError(f"{nation} public key", [f"not an NKey user key ('U…'): {fix}"])
    if nkeys.crc16(bytearray(raw[:33])) != int.from_bytes(raw[33:], "little"):
        raise InputError(f"{nation} public key", [f"its checksum is wrong: {fix}"])
    return Ed25519PublicKey.from_public_bytes(raw[1:33])


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)

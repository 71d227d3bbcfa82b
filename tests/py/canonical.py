"""Canonical JSON form of msgpack-python objects; must agree with
`fluent_tests::canonical` on the Rust side.

nil/bool/int/float/str map to JSON; bytes -> {"$bin": hex}; list -> list;
dict -> list of [key, value] pairs (order kept); ExtType -> {"$ext": [type, hex]}.
Event times: int -> int, ExtType(0) -> {"$time": [sec, nsec]}.
"""
import struct

import msgpack


def canonical(obj):
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (bytes, bytearray)):
        return {"$bin": bytes(obj).hex()}
    # ExtType is a namedtuple: test it before tuples.
    if isinstance(obj, msgpack.ExtType):
        return {"$ext": [obj.code, obj.data.hex()]}
    if isinstance(obj, (list, tuple)):
        return [canonical(x) for x in obj]
    if isinstance(obj, dict):
        return [[canonical(k), canonical(v)] for k, v in obj.items()]
    raise TypeError(f"unexpected {type(obj)}")


def canonical_time(t):
    if isinstance(t, msgpack.ExtType) and t.code == 0 and len(t.data) == 8:
        sec, nsec = struct.unpack(">II", t.data)
        return {"$time": [sec, nsec]}
    if isinstance(t, int):
        return t
    raise TypeError(f"unexpected time {t!r}")

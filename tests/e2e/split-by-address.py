#!/usr/bin/python3
"""Splits a classic pcap of Ethernet frames into N files by IP address pair, the way an RSS hash
on addresses spreads packets over N receive queues: every packet of a pair (both directions,
fragments included) lands in one file; packets without an IP header go to the first file.

Usage: split-by-address.py CAPTURE N OUT_PREFIX   (writes OUT_PREFIX0.pcap .. OUT_PREFIX{N-1}.pcap)
"""
import struct
import sys
import zlib

VLAN_TAGS = (0x8100, 0x88A8, 0x9100)


def address_pair(frame):
    """The IP source and destination of an Ethernet frame (after any VLAN tags), or None."""
    offset = 12
    while offset + 2 <= len(frame):
        ethertype = struct.unpack_from("!H", frame, offset)[0]
        if ethertype in VLAN_TAGS:
            offset += 4
            continue
        ip = offset + 2
        if ethertype == 0x0800 and len(frame) >= ip + 20:
            return frame[ip + 12:ip + 16], frame[ip + 16:ip + 20]
        if ethertype == 0x86DD and len(frame) >= ip + 40:
            return frame[ip + 8:ip + 24], frame[ip + 24:ip + 40]
        return None
    return None


def main():
    capture, parts, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(capture, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        sys.exit(f"{capture}: not a classic pcap file")
    outs = [open(f"{prefix}{i}.pcap", "wb") for i in range(parts)]
    for out in outs:
        out.write(data[:24])
    offset = 24
    while offset + 16 <= len(data):
        caplen = struct.unpack_from(endian + "I", data, offset + 8)[0]
        record = data[offset:offset + 16 + caplen]
        pair = address_pair(record[16:])
        part = 0
        if pair is not None:
            part = zlib.crc32(b"".join(sorted(pair))) % parts
        outs[part].write(record)
        offset += 16 + caplen
    for out in outs:
        out.close()


if __name__ == "__main__":
    main()

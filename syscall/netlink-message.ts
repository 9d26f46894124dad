// Netlink messages on the wire: building requests and reading replies.
//
// A netlink datagram carries one or more messages, each a header followed by a payload,
// each padded to 4 bytes (NLMSG_ALIGNTO). All integers are in host byte order.
//
//   struct nlmsghdr {          // <linux/netlink.h>, 16 bytes
//     __u32 nlmsg_len;         // header + payload, without trailing padding
//     __u16 nlmsg_type;        // RTM_SETLINK, NLMSG_ERROR, NLMSG_DONE, ...
//     __u16 nlmsg_flags;       // NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP | NLM_F_MULTI ...
//     __u32 nlmsg_seq;         // chosen by the sender, echoed in every reply
//     __u32 nlmsg_pid;         // port id: 0 for the kernel, the socket's id in replies
//   };
//
// An rtnetlink payload starts with a fixed family header (ifinfomsg for links, see
// xdp.ts), followed by attributes. An attribute is a TLV padded to 4 bytes (NLA_ALIGNTO);
// a nested attribute's value is itself a list of attributes:
//
//   struct nlattr {            // <linux/netlink.h>, 4 bytes, then the value
//     __u16 nla_len;           // 4 + length of the value, without padding
//     __u16 nla_type;          // low 14 bits: the type; bit 15: NLA_F_NESTED; bit 14: NLA_F_NET_BYTEORDER
//   };
//
//   IFLA_XDP (nested) ─┬─ IFLA_XDP_FD    s32
//                      └─ IFLA_XDP_FLAGS u32

import { endianness } from "node:os";
import bin from "typed-binary";
import { NetlinkError } from "../common/errors.js";
import { readRecord, writeRecord } from "../common/layouts.js";
import { ByteReader } from "../common/reader.js";
import { errnoName } from "./errno.js";

export const NLMSG_ALIGNTO = 4;
export const NLMSG_HDRLEN = 16;
export const NLA_ALIGNTO = 4;
export const NLA_HDRLEN = 4;
export const NLA_F_NESTED = 1 << 15;
export const NLA_F_NET_BYTEORDER = 1 << 14;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

// Control message types (<linux/netlink.h>); protocol messages start at NLMSG_MIN_TYPE.
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

// nlmsg_flags. The upper byte means different things for GET, NEW and ACK messages.
export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP = 0x300; // NLM_F_ROOT | NLM_F_MATCH, for GET requests
export const NLM_F_CAPPED = 0x100; // in an ACK: the echoed request was cut to its header
export const NLM_F_ACK_TLVS = 0x200; // in an ACK: extended-ack attributes follow

/** Netlink integers are in the byte order of the host. */
export const HOST_LITTLE_ENDIAN = endianness() === "LE";

/** struct nlmsghdr, drawn above. */
export const NlMsgHdr = bin.object({
  len: bin.u32,
  type: bin.u16,
  flags: bin.u16,
  seq: bin.u32,
  pid: bin.u32,
});

/** struct nlmsgerr (<linux/netlink.h>): the payload of NLMSG_ERROR. */
export const NlMsgErr = bin.object({
  /** 0 for an ACK, else a negative errno. */
  error: bin.i32,
  /** The header of the request this answers (then its payload, unless NLM_F_CAPPED). */
  msg: NlMsgHdr,
});

export function nlmsgAlign(length: number): number {
  return (length + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);
}

export function nlaAlign(length: number): number {
  return (length + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);
}

const textEncoder = new TextEncoder();

/**
 * Builds one netlink request: the header, a fixed family header, then attributes, with
 * nested attributes written by a callback so their lengths are filled in on the way out:
 *
 *   new NetlinkWriter(RTM_SETLINK, 0)
 *     .header(IFINFOMSG_SIZE, (bytes, offset) => writeRecord(IfInfoMsg, bytes, offset, ...))
 *     .nested(IFLA_XDP, (n) => n.s32(IFLA_XDP_FD, fd).u32(IFLA_XDP_FLAGS, flags));
 */
export class NetlinkWriter {
  readonly type: number;
  readonly flags: number;
  private bytes: Uint8Array;
  private view: DataView;
  private length = NLMSG_HDRLEN;

  constructor(type: number, flags: number, capacity = 256) {
    this.type = type;
    this.flags = flags;
    this.bytes = new Uint8Array(Math.max(capacity, NLMSG_HDRLEN));
    this.view = new DataView(this.bytes.buffer);
  }

  /** The fixed family header after nlmsghdr: `size` zeroed bytes that `fill` may write into. */
  header(size: number, fill: (bytes: Uint8Array, offset: number) => void = () => {}): this {
    const offset = this.reserve(nlmsgAlign(size));
    fill(this.bytes, offset);
    return this;
  }

  // Each setter reserves first, then reads this.view: reserving may grow the buffer and replace the view.
  u8(type: number, value: number): this {
    const offset = this.attribute(type, 1);
    this.view.setUint8(offset, value);
    return this;
  }

  u16(type: number, value: number): this {
    const offset = this.attribute(type, 2);
    this.view.setUint16(offset, value, HOST_LITTLE_ENDIAN);
    return this;
  }

  u32(type: number, value: number): this {
    const offset = this.attribute(type, 4);
    this.view.setUint32(offset, value, HOST_LITTLE_ENDIAN);
    return this;
  }

  s32(type: number, value: number): this {
    const offset = this.attribute(type, 4);
    this.view.setInt32(offset, value, HOST_LITTLE_ENDIAN);
    return this;
  }

  /** A NUL-terminated string attribute (NLA_NUL_STRING / NLA_STRING both accept it). */
  string(type: number, value: string): this {
    const encoded = textEncoder.encode(value);
    const offset = this.attribute(type, encoded.length + 1);
    this.bytes.set(encoded, offset); // the trailing NUL is already zero
    return this;
  }

  raw(type: number, value: Uint8Array): this {
    const offset = this.attribute(type, value.length);
    this.bytes.set(value, offset);
    return this;
  }

  /** A nested attribute whose value is the attributes `build` writes (NLA_F_NESTED is set). */
  nested(type: number, build: (writer: this) => void): this {
    const start = this.reserve(NLA_HDRLEN);
    build(this);
    this.view.setUint16(start, this.length - start, HOST_LITTLE_ENDIAN);
    this.view.setUint16(start + 2, type | NLA_F_NESTED, HOST_LITTLE_ENDIAN);
    return this;
  }

  /** The finished message with nlmsg_len, flags, seq and pid filled in; a view of the writer's buffer. */
  finish(seq: number, extraFlags = 0): Uint8Array {
    // nlmsg_pid 0: the kernel fills in the sender.
    writeRecord(NlMsgHdr, this.bytes, 0, HOST_LITTLE_ENDIAN, { len: this.length, type: this.type, flags: this.flags | extraFlags, seq, pid: 0 });
    return this.bytes.subarray(0, this.length);
  }

  /** Writes an attribute header and reserves its padded value; returns the value's offset. */
  private attribute(type: number, size: number): number {
    const start = this.reserve(nlaAlign(NLA_HDRLEN + size));
    this.view.setUint16(start, NLA_HDRLEN + size, HOST_LITTLE_ENDIAN);
    this.view.setUint16(start + 2, type, HOST_LITTLE_ENDIAN);
    return start + NLA_HDRLEN;
  }

  /** Appends `size` zero bytes (growing the buffer if needed); returns where they start. */
  private reserve(size: number): number {
    const start = this.length;
    if (start + size > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, start + size));
      grown.set(this.bytes.subarray(0, start));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    this.bytes.fill(0, start, start + size);
    this.length = start + size;
    return start;
  }
}

/** One message of a reply datagram. `payload` is a view into the socket's receive buffer. */
export interface NetlinkMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly portId: number;
  /** Everything after the 16-byte header, without trailing padding. */
  readonly payload: Uint8Array;
}

/** The error for a reply that does not follow the netlink format (EPROTO: protocol error). */
export function malformed(message: string): NetlinkError {
  const errno = 71; // EPROTO
  return new NetlinkError(`malformed netlink reply: ${message}`, { errno, errnoName: errnoName(errno) });
}

function netlinkReader(bytes: Uint8Array, region: string): ByteReader {
  return new ByteReader(bytes, HOST_LITTLE_ENDIAN, {
    region,
    outOfBounds: (message, offset, where) => malformed(`${where ?? "message"}: ${message} (byte ${offset})`),
  });
}

/** Splits a received datagram into its messages (NLMSG_OK / NLMSG_NEXT). */
export function splitMessages(datagram: Uint8Array): NetlinkMessage[] {
  const r = netlinkReader(datagram, "datagram");
  const messages: NetlinkMessage[] = [];
  let offset = 0;
  while (offset + NLMSG_HDRLEN <= datagram.length) {
    const header = readRecord(NlMsgHdr, datagram, offset, HOST_LITTLE_ENDIAN);
    const length = header.len;
    if (length < NLMSG_HDRLEN) throw malformed(`nlmsg_len ${length} at byte ${offset} is shorter than the header`);
    messages.push({
      type: header.type,
      flags: header.flags,
      seq: header.seq,
      portId: header.pid,
      payload: r.slice(offset + NLMSG_HDRLEN, length - NLMSG_HDRLEN, "message payload"),
    });
    offset += nlmsgAlign(length);
  }
  return messages;
}

/** One attribute: its type without the NLA_F_* bits, whether it was marked nested, and its value. */
export interface NetlinkAttribute {
  readonly type: number;
  readonly nested: boolean;
  readonly value: Uint8Array;
}

/**
 * The attributes of a payload or of a nested attribute, with typed getters. A getter returns
 * undefined when the attribute is absent and throws when it is too short for its type.
 */
export class NetlinkAttributes {
  readonly list: readonly NetlinkAttribute[];
  private readonly byType = new Map<number, NetlinkAttribute>();

  constructor(bytes: Uint8Array, what = "attributes") {
    const r = netlinkReader(bytes, what);
    const list: NetlinkAttribute[] = [];
    let offset = 0;
    while (offset + NLA_HDRLEN <= bytes.length) {
      const length = r.u16(offset);
      const rawType = r.u16(offset + 2);
      if (length < NLA_HDRLEN) throw malformed(`${what}: nla_len ${length} at byte ${offset} is shorter than the header`);
      const attribute = {
        type: rawType & NLA_TYPE_MASK,
        nested: (rawType & NLA_F_NESTED) !== 0,
        value: r.slice(offset + NLA_HDRLEN, length - NLA_HDRLEN, `attribute ${rawType & NLA_TYPE_MASK}`),
      };
      list.push(attribute);
      this.byType.set(attribute.type, attribute); // a repeated type: the last one wins
      offset += nlaAlign(length);
    }
    this.list = list;
  }

  has(type: number): boolean {
    return this.byType.has(type);
  }

  raw(type: number): Uint8Array | undefined {
    return this.byType.get(type)?.value;
  }

  u8(type: number): number | undefined {
    return this.number(type, 1, (r) => r.u8(0));
  }

  u16(type: number): number | undefined {
    return this.number(type, 2, (r) => r.u16(0));
  }

  u32(type: number): number | undefined {
    return this.number(type, 4, (r) => r.u32(0));
  }

  s32(type: number): number | undefined {
    return this.number(type, 4, (r) => r.i32(0));
  }

  /** A string attribute; a trailing NUL (the kernel's NLA_STRING usually has one) is dropped. */
  string(type: number): string | undefined {
    const value = this.raw(type);
    if (value === undefined) return undefined;
    const end = value.indexOf(0);
    return Buffer.from(value.buffer, value.byteOffset, end < 0 ? value.length : end).toString("utf8");
  }

  nested(type: number): NetlinkAttributes | undefined {
    const value = this.raw(type);
    return value === undefined ? undefined : new NetlinkAttributes(value, `attribute ${type}`);
  }

  private number(type: number, size: number, read: (r: ByteReader) => number): number | undefined {
    const value = this.raw(type);
    if (value === undefined) return undefined;
    if (value.length < size) throw malformed(`attribute ${type} has ${value.length} bytes, expected ${size}`);
    return read(netlinkReader(value, `attribute ${type}`));
  }
}

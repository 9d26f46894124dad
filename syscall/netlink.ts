// An rtnetlink socket: send one request, read every reply up to its ACK or NLMSG_DONE.
//
// The kernel answers a request with messages carrying the request's nlmsg_seq:
//   - a plain request with NLM_F_ACK: zero or more replies, then an NLMSG_ERROR message
//     whose error is 0 (the ACK) or a negative errno (the failure);
//   - a dump (NLM_F_DUMP): replies marked NLM_F_MULTI over one or more datagrams, then
//     NLMSG_DONE, whose payload is an int error (0 or a negative errno).
//
// An error (or ACK) message:
//
//   struct nlmsgerr {          // <linux/netlink.h>
//     int             error;   // 0 for an ACK, else -errno
//     struct nlmsghdr msg;     // the header of the request being answered
//     // the request's payload, unless NETLINK_CAP_ACK is set (then NLM_F_CAPPED is set)
//     // then, with NETLINK_EXT_ACK (kernel 4.12), attributes (NLM_F_ACK_TLVS is set):
//     //   NLMSGERR_ATTR_MSG       string  human-readable reason ("XDP program already attached")
//     //   NLMSGERR_ATTR_OFFS      u32     offset in the request of the attribute at fault
//     //   NLMSGERR_ATTR_MISS_TYPE u32     type of a required attribute that was missing
//   };
//
// NLMSG_DONE carries the same attributes after its int error when a dump fails.

import { NetlinkError, SyscallError } from "../common/errors.js";
import { readRecord } from "../common/layouts.js";
import { errnoName, Errno } from "./errno.js";
import { ownFd, type Fd } from "./fd.js";
import {
  HOST_LITTLE_ENDIAN, malformed, NetlinkAttributes, NetlinkWriter, NLM_F_ACK, NLM_F_ACK_TLVS,
  NLM_F_CAPPED, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN,
  NLMSG_NOOP, NLMSG_OVERRUN, NlMsgErr, nlmsgAlign, splitMessages, type NetlinkMessage,
} from "./netlink-message.js";
import * as sock from "./socket.js";

export const NETLINK_ROUTE = 0;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_GET_STRICT_CHK = 12;

export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;
export const NLMSGERR_ATTR_MISS_TYPE = 5;

/** How long a recv may wait. The kernel answers rtnetlink inside sendto, so this is only a safety net. */
const RECEIVE_TIMEOUT_SECONDS = 5;
/** A dump interrupted by a concurrent change (NLM_F_DUMP_INTR) is retried this many times. */
const DUMP_ATTEMPTS = 3;

/**
 * The receive buffer's starting size. The kernel sizes dump datagrams to the largest buffer
 * a socket has offered (up to 32 KiB), so this holds a full dump datagram in one read.
 */
const DEFAULT_BUFFER_SIZE = 32 * 1024;

export interface NetlinkSocketOptions {
  /** Netlink family; NETLINK_ROUTE (rtnetlink) by default. */
  protocol?: number;
  /** Starting size of the receive buffer, which grows when a datagram is larger. */
  bufferSize?: number;
}

export interface RequestOptions {
  /** What the request does, for error messages: "attach XDP program to veth0 (ifindex 4)". */
  what?: string;
}

export class NetlinkSocket {
  readonly fd: Fd;
  /** The port id the kernel gave this socket (nl_pid of its address). */
  readonly portId: number;
  #seq: number;
  #buffer: Uint8Array;

  private constructor(fd: Fd, portId: number, bufferSize: number) {
    this.fd = fd;
    this.portId = portId;
    this.#buffer = new Uint8Array(Math.max(bufferSize, NLMSG_HDRLEN));
    // Start somewhere unpredictable so a reply meant for an earlier socket is never mistaken for ours.
    this.#seq = (Date.now() & 0x7fffffff) >>> 0;
  }

  /**
   * Opens a NETLINK_ROUTE socket in the calling thread's network namespace. The socket stays
   * in that namespace for its whole life, whatever the thread does afterwards.
   */
  static open(options: NetlinkSocketOptions = {}): NetlinkSocket {
    const protocol = options.protocol ?? NETLINK_ROUTE;
    const fd = ownFd(sock.socket(sock.AF_NETLINK, sock.SOCK_RAW | sock.SOCK_CLOEXEC, protocol));
    try {
      const raw = fd.raw;
      // Ask for the kernel's error text (4.12), and for errors that do not echo our whole request.
      sock.setsockoptInt(raw, sock.SOL_NETLINK, NETLINK_EXT_ACK, 1);
      sock.setsockoptInt(raw, sock.SOL_NETLINK, NETLINK_CAP_ACK, 1);
      // Strict checking (4.20) makes the kernel reject malformed GET requests instead of guessing.
      sock.setsockoptInt(raw, sock.SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
      const timeout = new Uint8Array(16); // struct timeval { i64 tv_sec; i64 tv_usec }
      new DataView(timeout.buffer).setBigInt64(0, BigInt(RECEIVE_TIMEOUT_SECONDS), HOST_LITTLE_ENDIAN);
      sock.setsockoptBytes(raw, sock.SOL_SOCKET, sock.SO_RCVTIMEO, timeout);
      const address = sockaddrNl(0);
      sock.bind(raw, address);
      sock.getsockname(raw, address);
      const portId = new DataView(address.buffer).getUint32(4, HOST_LITTLE_ENDIAN);
      return new NetlinkSocket(fd, portId, options.bufferSize ?? DEFAULT_BUFFER_SIZE);
    } catch (error) {
      fd.close();
      throw error;
    }
  }

  /**
   * Sends `message` and returns the replies for it (not the ACK or DONE). A dump is a message
   * whose flags include NLM_F_DUMP; every other request is sent with NLM_F_ACK, so success is
   * confirmed by the kernel rather than assumed. A failure throws NetlinkError carrying the
   * kernel's extended-ack text.
   */
  request(message: NetlinkWriter, options: RequestOptions = {}): NetlinkMessage[] {
    const dump = (message.flags & NLM_F_DUMP) === NLM_F_DUMP;
    for (let attempt = 1; ; attempt++) {
      const seq = this.#nextSeq();
      const bytes = message.finish(seq, NLM_F_REQUEST | (dump ? 0 : NLM_F_ACK));
      sock.sendto(this.fd.raw, bytes, bytes.length, 0, KERNEL_ADDRESS);
      const what = options.what ?? `netlink request type ${message.type}`;
      const { replies, interrupted } = this.#collect(seq, bytes, what);
      if (!interrupted) return replies;
      if (attempt === DUMP_ATTEMPTS) {
        throw new NetlinkError(`${what}: the dump was interrupted by concurrent changes ${DUMP_ATTEMPTS} times (NLM_F_DUMP_INTR); try again`, {
          errno: Errno.EINTR, errnoName: "EINTR",
        });
      }
    }
  }

  close(): void {
    this.fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0;
    return this.#seq;
  }

  /** Reads datagrams until the ACK, error or DONE for `seq`; replies to other requests are skipped. */
  #collect(seq: number, request: Uint8Array, what: string): { replies: NetlinkMessage[]; interrupted: boolean } {
    const replies: NetlinkMessage[] = [];
    let interrupted = false;
    for (;;) {
      const datagram = this.#receive(what);
      for (const message of splitMessages(datagram)) {
        if (message.seq !== seq || message.portId !== this.portId) continue;
        if (message.flags & NLM_F_DUMP_INTR) interrupted = true;
        switch (message.type) {
          case NLMSG_NOOP:
            continue;
          case NLMSG_OVERRUN:
            throw malformed(`${what}: the kernel reported NLMSG_OVERRUN (data lost)`);
          case NLMSG_ERROR: {
            const error = readError(message, request);
            if (error !== undefined) throw failure(what, error);
            return { replies, interrupted };
          }
          case NLMSG_DONE: {
            const error = readDone(message);
            if (error !== undefined) throw failure(what, error);
            return { replies, interrupted };
          }
          default:
            // Copy: the payload is a view of the receive buffer, which the next recv overwrites.
            replies.push({ ...message, payload: message.payload.slice() });
        }
      }
    }
  }

  /** Current size of the receive buffer (it only grows). */
  get bufferSize(): number {
    return this.#buffer.length;
  }

  /**
   * One datagram, into the preallocated buffer. MSG_PEEK|MSG_TRUNC first tells the real size
   * without consuming it, so a datagram larger than the buffer grows the buffer instead of
   * being cut (a netlink datagram that does not fit is otherwise truncated and lost).
   */
  #receive(what: string): Uint8Array {
    try {
      const size = recvRetrying(this.fd.raw, this.#buffer, sock.MSG_PEEK | sock.MSG_TRUNC);
      if (size > this.#buffer.length) this.#buffer = new Uint8Array(nlmsgAlign(size) * 2);
      return this.#buffer.subarray(0, recvRetrying(this.fd.raw, this.#buffer, 0));
    } catch (error) {
      if (error instanceof SyscallError && error.errno === Errno.EAGAIN) {
        throw new NetlinkError(`${what}: no reply from the kernel within ${RECEIVE_TIMEOUT_SECONDS} s`, {
          errno: Errno.EAGAIN, errnoName: "EAGAIN",
        }, { cause: error });
      }
      throw error;
    }
  }
}

/** The kernel's address: port id 0. */
const KERNEL_ADDRESS = sockaddrNl(0);

/** recv(2), restarted when a signal interrupts it (EINTR). */
function recvRetrying(fd: number, buffer: Uint8Array, flags: number): number {
  for (;;) {
    try {
      return sock.recv(fd, buffer, flags);
    } catch (error) {
      if (!(error instanceof SyscallError && error.errno === Errno.EINTR)) throw error;
    }
  }
}

/** struct sockaddr_nl for `portId` (0: the kernel, or "pick one" in bind). */
function sockaddrNl(portId: number): Uint8Array {
  const address = new Uint8Array(12);
  const view = new DataView(address.buffer);
  view.setUint16(0, sock.AF_NETLINK, HOST_LITTLE_ENDIAN);
  view.setUint32(4, portId, HOST_LITTLE_ENDIAN);
  return address;
}

/** What an NLMSG_ERROR or failed NLMSG_DONE says. */
export interface KernelError {
  errno: number;
  /** NLMSGERR_ATTR_MSG: the kernel's own explanation. */
  text?: string;
  /** NLMSGERR_ATTR_OFFS resolved against our request: the attribute the kernel objected to. */
  badAttribute?: { offset: number; type: number };
  /** NLMSGERR_ATTR_MISS_TYPE: a required attribute we did not send. */
  missingType?: number;
}

/** Decodes struct nlmsgerr; undefined for an ACK (error 0). */
export function readError(message: NetlinkMessage, request: Uint8Array): KernelError | undefined {
  const payload = message.payload;
  if (payload.length < 4 + NLMSG_HDRLEN) throw malformed("NLMSG_ERROR shorter than struct nlmsgerr");
  const { error, msg: echoed } = readRecord(NlMsgErr, payload, 0, HOST_LITTLE_ENDIAN);
  const errno = -error;
  if (errno === 0) return undefined;
  // The echoed request is only the header when capped; otherwise its whole (aligned) length.
  const echoedLength = message.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : nlmsgAlign(echoed.len);
  const tlvs = message.flags & NLM_F_ACK_TLVS ? payload.subarray(Math.min(payload.length, 4 + echoedLength)) : undefined;
  return withExtAck({ errno }, tlvs, request);
}

/** Decodes NLMSG_DONE: an int error, then (with NLM_F_ACK_TLVS) extended-ack attributes. */
export function readDone(message: NetlinkMessage): KernelError | undefined {
  const payload = message.payload;
  if (payload.length < 4) return undefined; // some families send an empty DONE
  const errno = -new DataView(payload.buffer, payload.byteOffset, 4).getInt32(0, HOST_LITTLE_ENDIAN);
  if (errno === 0) return undefined;
  return withExtAck({ errno }, message.flags & NLM_F_ACK_TLVS ? payload.subarray(4) : undefined, undefined);
}

function withExtAck(error: KernelError, tlvs: Uint8Array | undefined, request: Uint8Array | undefined): KernelError {
  if (tlvs === undefined) return error;
  const attributes = new NetlinkAttributes(tlvs, "extended ack");
  const text = attributes.string(NLMSGERR_ATTR_MSG);
  if (text !== undefined && text !== "") error.text = text;
  const offset = attributes.u32(NLMSGERR_ATTR_OFFS);
  if (offset !== undefined && request !== undefined && offset + 4 <= request.length) {
    const type = new DataView(request.buffer, request.byteOffset, request.byteLength).getUint16(offset + 2, HOST_LITTLE_ENDIAN);
    error.badAttribute = { offset, type: type & 0x3fff };
  }
  const missing = attributes.u32(NLMSGERR_ATTR_MISS_TYPE);
  if (missing !== undefined) error.missingType = missing;
  return error;
}

/** Stands in a NetlinkError's message where the kernel sent no extended-ack text. */
export const NO_REASON = "the kernel gave no reason";

function failure(what: string, error: KernelError): NetlinkError {
  const name = errnoName(error.errno);
  const details: string[] = [];
  if (error.badAttribute !== undefined) details.push(`attribute type ${error.badAttribute.type} at byte ${error.badAttribute.offset}`);
  if (error.missingType !== undefined) details.push(`missing attribute type ${error.missingType}`);
  const reason = error.text ?? NO_REASON;
  const suffix = details.length === 0 ? "" : ` [${details.join(", ")}]`;
  return new NetlinkError(`${what}: ${reason} (${name})${suffix}`, {
    errno: error.errno, errnoName: name, ...(error.text === undefined ? {} : { kernelMessage: error.text }),
  });
}

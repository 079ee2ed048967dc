// The protobuf encoding of what the client sends most: a BatchItem per
// coalesced call and the BatchRequest that carries them. Written by hand
// because the generated encoder builds an object per subject and per map
// entry and a buffer chunk per nested message, which under load was a
// tenth of the client's CPU; this one measures the message, allocates one
// buffer and writes it. Its output is byte for byte what the generated
// BatchItem.encode / BatchRequest.encode write (test/wire.test.ts): fields
// in number order, map entries in insertion order, empty strings and zero
// hits left out as proto3 does.

import type { Operation, Request } from "./types.js";

// Field 1..4 of BatchItem (check, peek, record, reset) and field 1 of
// BatchRequest, Subject, CheckRequest and a map entry: wire type 2.
const ITEM_TAG: Readonly<Record<Operation, number>> = { check: 0x0a, peek: 0x12, record: 0x1a, reset: 0x22 };
const TAG_FIELD_1 = 0x0a; // BatchRequest.items, CheckRequest.subjects, Subject.policy, entry key
const TAG_FIELD_2 = 0x12; // CheckRequest.context, Subject.key, entry value
const TAG_HITS = 0x18; // Subject.hits, varint

// Strings up to this many bytes, when ASCII, are copied by hand.
const SHORT_ASCII = 64;

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    ++size;
  }
  return size;
}

function writeVarint(buffer: Buffer, offset: number, value: number): number {
  while (value >= 0x80) {
    buffer[offset++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  buffer[offset++] = value;
  return offset;
}

// A length-delimited field's size: tag, length, body.
function fieldSize(bodyBytes: number): number {
  return 1 + varintSize(bodyBytes) + bodyBytes;
}

/**
 * Writes requests into one buffer. measure() every string and message
 * first, in the order write() visits them, then write.
 */
class Encoder {
  // UTF-8 lengths of the strings, then sizes of the messages, in visit order.
  readonly #sizes: number[] = [];
  #buffer: Buffer = Buffer.alloc(0);
  #offset = 0;
  #next = 0;

  measureString(value: string): number {
    const bytes = Buffer.byteLength(value, "utf8");
    this.#sizes.push(bytes);
    return bytes;
  }

  // Reserves the slot of a message's size before its fields are measured.
  reserve(): number {
    this.#sizes.push(0);
    return this.#sizes.length - 1;
  }

  set(slot: number, size: number): void {
    this.#sizes[slot] = size;
  }

  begin(size: number): void {
    this.#buffer = Buffer.allocUnsafe(size);
    this.#offset = 0;
    this.#next = 0;
  }

  // The next measured size, in visit order.
  take(): number {
    return this.#sizes[this.#next++] ?? 0;
  }

  header(tag: number, bytes: number): void {
    this.#buffer[this.#offset++] = tag;
    this.#offset = writeVarint(this.#buffer, this.#offset, bytes);
  }

  string(tag: number, value: string): void {
    const bytes = this.take();
    if (bytes === 0) return;
    this.header(tag, bytes);
    if (bytes === value.length && bytes <= SHORT_ASCII) {
      // All ASCII (any other character takes more than one byte), and short
      // enough that copying it here beats Buffer.write's own set-up.
      for (let i = 0; i < bytes; ++i) this.#buffer[this.#offset + i] = value.charCodeAt(i);
      this.#offset += bytes;
      return;
    }
    this.#offset += this.#buffer.write(value, this.#offset, bytes, "utf8");
  }

  varint(tag: number, value: number): void {
    this.#buffer[this.#offset++] = tag;
    this.#offset = writeVarint(this.#buffer, this.#offset, value);
  }

  bytes(value: Uint8Array): void {
    this.#buffer.set(value, this.#offset);
    this.#offset += value.length;
  }

  finish(): Buffer {
    return this.#buffer;
  }
}

// A string field's size, 0 when empty (left out).
function measureStringField(encoder: Encoder, value: string): number {
  const bytes = encoder.measureString(value);
  return bytes === 0 ? 0 : fieldSize(bytes);
}

function measureMap(encoder: Encoder, map: Readonly<Record<string, string>> | undefined): number {
  let size = 0;
  if (map === undefined) return 0;
  for (const name in map) {
    if (!Object.prototype.hasOwnProperty.call(map, name)) continue;
    const slot = encoder.reserve();
    const entry = measureStringField(encoder, name) + measureStringField(encoder, map[name] ?? "");
    encoder.set(slot, entry);
    size += fieldSize(entry);
  }
  return size;
}

function writeMap(encoder: Encoder, tag: number, map: Readonly<Record<string, string>> | undefined): void {
  if (map === undefined) return;
  for (const name in map) {
    if (!Object.prototype.hasOwnProperty.call(map, name)) continue;
    encoder.header(tag, encoder.take());
    encoder.string(TAG_FIELD_1, name);
    encoder.string(TAG_FIELD_2, map[name] ?? "");
  }
}

// The size of the request message (CheckRequest and its three twins).
function measureRequest(encoder: Encoder, request: Request): number {
  let size = 0;
  for (const subject of request.subjects) {
    const slot = encoder.reserve();
    let body = measureStringField(encoder, subject.policy) + measureMap(encoder, subject.key);
    const hits = subject.hits ?? 0;
    if (hits !== 0) body += 1 + varintSize(hits);
    encoder.set(slot, body);
    size += fieldSize(body);
  }
  return size + measureMap(encoder, request.context);
}

function writeRequest(encoder: Encoder, request: Request): void {
  for (const subject of request.subjects) {
    encoder.header(TAG_FIELD_1, encoder.take());
    encoder.string(TAG_FIELD_1, subject.policy);
    writeMap(encoder, TAG_FIELD_2, subject.key);
    const hits = subject.hits ?? 0;
    if (hits !== 0) encoder.varint(TAG_HITS, hits);
  }
  writeMap(encoder, TAG_FIELD_2, request.context);
}

/**
 * The encoded BatchItem of `op` on `request`. REQUIRES: a request that
 * validateRequest() accepted (strings, integer hits).
 */
export function encodeBatchItem(op: Operation, request: Request): Buffer {
  const encoder = new Encoder();
  const body = measureRequest(encoder, request);
  encoder.begin(fieldSize(body));
  encoder.header(ITEM_TAG[op], body);
  writeRequest(encoder, request);
  return encoder.finish();
}

/** The encoded BatchRequest of items encoded by encodeBatchItem(). */
export function encodeBatchRequest(items: readonly Uint8Array[]): Buffer {
  const encoder = new Encoder();
  let size = 0;
  for (const item of items) size += fieldSize(item.length);
  encoder.begin(size);
  for (const item of items) {
    encoder.header(TAG_FIELD_1, item.length);
    encoder.bytes(item);
  }
  return encoder.finish();
}

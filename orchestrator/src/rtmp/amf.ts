/**
 * AMF0 encode/decode (commands and `@setDataFrame`), plus the AMF3 subset clients put inside
 * AMF0 through the `avmplus` switch marker (0x11) in type-17/15 messages. Decoding is bounded:
 * nesting depth and element counts are capped so hostile bytes cannot recurse or allocate
 * without limit; any malformed input throws AmfError.
 */

export type AmfValue = number | boolean | string | null | undefined | Date | AmfValue[] | { [k: string]: AmfValue };

export class AmfError extends Error {
  override name = 'AmfError';
}

const MAX_DEPTH = 16;
/** Properties or elements per object/array: far above what any client sends in a command. */
const MAX_ITEMS = 4096;

/** A cursor over a buffer that throws instead of reading past the end. */
class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  need(n: number) {
    if (this.pos + n > this.buf.length) throw new AmfError(`truncated AMF data at byte ${this.pos}`);
  }
  u8() {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16() {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32() {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  f64() {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }
  bytes(n: number) {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  get done() {
    return this.pos >= this.buf.length;
  }
}

// AMF0 markers
const NUMBER = 0x00, BOOLEAN = 0x01, STRING = 0x02, OBJECT = 0x03, NULL = 0x05, UNDEFINED = 0x06,
  REFERENCE = 0x07, ECMA_ARRAY = 0x08, OBJECT_END = 0x09, STRICT_ARRAY = 0x0a, DATE = 0x0b,
  LONG_STRING = 0x0c, XML_DOC = 0x0f, TYPED_OBJECT = 0x10, AVMPLUS = 0x11;

function readAmf0(r: Reader, depth: number, refs: AmfValue[]): AmfValue {
  if (depth > MAX_DEPTH) throw new AmfError('AMF nesting too deep');
  const marker = r.u8();
  switch (marker) {
    case NUMBER:
      return r.f64();
    case BOOLEAN:
      return r.u8() !== 0;
    case STRING:
      return r.bytes(r.u16()).toString('utf8');
    case LONG_STRING:
    case XML_DOC:
      return r.bytes(r.u32()).toString('utf8');
    case NULL:
      return null;
    case UNDEFINED:
      return undefined;
    case OBJECT:
    case ECMA_ARRAY:
    case TYPED_OBJECT: {
      if (marker === ECMA_ARRAY) r.u32(); // count hint: not trusted, the end marker decides
      if (marker === TYPED_OBJECT) r.bytes(r.u16()); // class name, unused
      const obj: { [k: string]: AmfValue } = {};
      refs.push(obj);
      for (let i = 0; ; i++) {
        if (i > MAX_ITEMS) throw new AmfError('AMF object has too many properties');
        const key = r.bytes(r.u16()).toString('utf8');
        if (key === '') {
          if (r.u8() !== OBJECT_END) throw new AmfError('AMF object without end marker');
          return obj;
        }
        obj[key] = readAmf0(r, depth + 1, refs);
      }
    }
    case STRICT_ARRAY: {
      const n = r.u32();
      if (n > MAX_ITEMS) throw new AmfError('AMF array too long');
      const arr: AmfValue[] = [];
      refs.push(arr);
      for (let i = 0; i < n; i++) arr.push(readAmf0(r, depth + 1, refs));
      return arr;
    }
    case DATE: {
      const ms = r.f64();
      r.u16(); // time zone, reserved
      return new Date(ms);
    }
    case REFERENCE: {
      const i = r.u16();
      if (i >= refs.length) throw new AmfError('AMF reference out of range');
      return refs[i];
    }
    case AVMPLUS:
      return readAmf3(r, depth + 1, { strings: [], objects: [] });
    default:
      throw new AmfError(`unsupported AMF0 marker 0x${marker.toString(16)}`);
  }
}

type Amf3Tables = { strings: string[]; objects: AmfValue[] };

function u29(r: Reader): number {
  let v = 0;
  for (let i = 0; i < 3; i++) {
    const b = r.u8();
    v = (v << 7) | (b & 0x7f);
    if (!(b & 0x80)) return v;
  }
  return ((v << 8) | r.u8()) >>> 0;
}

function amf3String(r: Reader, t: Amf3Tables): string {
  const h = u29(r);
  if (!(h & 1)) {
    const s = t.strings[h >> 1];
    if (s === undefined) throw new AmfError('AMF3 string reference out of range');
    return s;
  }
  const s = r.bytes(h >> 1).toString('utf8');
  if (s !== '') t.strings.push(s);
  return s;
}

/** The AMF3 types a command or metadata can carry; externalizable objects, vectors, dictionaries are refused. */
function readAmf3(r: Reader, depth: number, t: Amf3Tables): AmfValue {
  if (depth > MAX_DEPTH) throw new AmfError('AMF nesting too deep');
  const marker = r.u8();
  switch (marker) {
    case 0x00:
      return undefined;
    case 0x01:
      return null;
    case 0x02:
      return false;
    case 0x03:
      return true;
    case 0x04: {
      const v = u29(r);
      return v & 0x10000000 ? v - 0x20000000 : v; // 29-bit signed
    }
    case 0x05:
      return r.f64();
    case 0x06:
      return amf3String(r, t);
    case 0x08: {
      const h = u29(r);
      if (!(h & 1)) return refObject(t, h >> 1);
      const d = new Date(r.f64());
      t.objects.push(d);
      return d;
    }
    case 0x09: {
      const h = u29(r);
      if (!(h & 1)) return refObject(t, h >> 1);
      const n = h >> 1;
      if (n > MAX_ITEMS) throw new AmfError('AMF3 array too long');
      const assoc: { [k: string]: AmfValue } = {};
      let hasAssoc = false;
      for (let i = 0; ; i++) {
        if (i > MAX_ITEMS) throw new AmfError('AMF3 array has too many keys');
        const k = amf3String(r, t);
        if (k === '') break;
        hasAssoc = true;
        assoc[k] = readAmf3(r, depth + 1, t);
      }
      const dense: AmfValue[] = [];
      t.objects.push(hasAssoc ? assoc : dense);
      for (let i = 0; i < n; i++) dense.push(readAmf3(r, depth + 1, t));
      if (!hasAssoc) return dense;
      dense.forEach((v, i) => (assoc[String(i)] = v));
      return assoc;
    }
    case 0x0a: {
      const h = u29(r);
      if (!(h & 1)) return refObject(t, h >> 1);
      // Only inline, non-externalizable traits (anonymous/dynamic objects, what clients send).
      if ((h & 0b11) !== 0b11 || h & 0b100) throw new AmfError('AMF3 trait references and externalizable objects are not supported');
      const dynamic = (h & 0b1000) !== 0;
      const sealed = h >> 4;
      if (sealed > MAX_ITEMS) throw new AmfError('AMF3 object has too many members');
      amf3String(r, t); // class name
      const names: string[] = [];
      for (let i = 0; i < sealed; i++) names.push(amf3String(r, t));
      const obj: { [k: string]: AmfValue } = {};
      t.objects.push(obj);
      for (const n of names) obj[n] = readAmf3(r, depth + 1, t);
      if (dynamic) {
        for (let i = 0; ; i++) {
          if (i > MAX_ITEMS) throw new AmfError('AMF3 object has too many properties');
          const k = amf3String(r, t);
          if (k === '') break;
          obj[k] = readAmf3(r, depth + 1, t);
        }
      }
      return obj;
    }
    case 0x07:
    case 0x0b:
    case 0x0c: {
      // XML, XMLString, ByteArray: kept as strings (never used for control)
      const h = u29(r);
      if (!(h & 1)) return refObject(t, h >> 1);
      const s = r.bytes(h >> 1).toString(marker === 0x0c ? 'base64' : 'utf8');
      t.objects.push(s);
      return s;
    }
    default:
      throw new AmfError(`unsupported AMF3 marker 0x${marker.toString(16)}`);
  }
}

function refObject(t: Amf3Tables, i: number): AmfValue {
  if (i >= t.objects.length) throw new AmfError('AMF3 object reference out of range');
  return t.objects[i];
}

/** Decodes every AMF0 value in `buf` (a command: name, transaction id, command object, args…). */
export function decodeAmf0(buf: Buffer): AmfValue[] {
  const r = new Reader(buf);
  const out: AmfValue[] = [];
  const refs: AmfValue[] = [];
  while (!r.done) {
    if (out.length > MAX_ITEMS) throw new AmfError('too many AMF values');
    out.push(readAmf0(r, 0, refs));
  }
  return out;
}

function writeAmf0(v: AmfValue, parts: Buffer[]): void {
  if (typeof v === 'number') {
    const b = Buffer.alloc(9);
    b[0] = NUMBER;
    b.writeDoubleBE(v, 1);
    parts.push(b);
  } else if (typeof v === 'boolean') {
    parts.push(Buffer.from([BOOLEAN, v ? 1 : 0]));
  } else if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8');
    if (s.length > 0xffff) {
      const h = Buffer.alloc(5);
      h[0] = LONG_STRING;
      h.writeUInt32BE(s.length, 1);
      parts.push(h, s);
    } else {
      const h = Buffer.alloc(3);
      h[0] = STRING;
      h.writeUInt16BE(s.length, 1);
      parts.push(h, s);
    }
  } else if (v === null) {
    parts.push(Buffer.from([NULL]));
  } else if (v === undefined) {
    parts.push(Buffer.from([UNDEFINED]));
  } else if (v instanceof Date) {
    const b = Buffer.alloc(11);
    b[0] = DATE;
    b.writeDoubleBE(v.getTime(), 1);
    parts.push(b);
  } else if (Array.isArray(v)) {
    const h = Buffer.alloc(5);
    h[0] = STRICT_ARRAY;
    h.writeUInt32BE(v.length, 1);
    parts.push(h);
    for (const e of v) writeAmf0(e, parts);
  } else {
    parts.push(Buffer.from([OBJECT]));
    for (const [k, e] of Object.entries(v)) {
      const key = Buffer.from(k, 'utf8');
      const h = Buffer.alloc(2);
      h.writeUInt16BE(key.length);
      parts.push(h, key);
      writeAmf0(e, parts);
    }
    parts.push(Buffer.from([0, 0, OBJECT_END]));
  }
}

/** Encodes values one after another as AMF0 (objects as anonymous AMF0 objects). */
export function encodeAmf0(...values: AmfValue[]): Buffer {
  const parts: Buffer[] = [];
  for (const v of values) writeAmf0(v, parts);
  return Buffer.concat(parts);
}

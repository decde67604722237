import { AmfError, decodeAmf0, encodeAmf0 } from './amf.js';

describe('AMF0', () => {
  it('round-trips a connect command', () => {
    const values = ['connect', 1, { app: 'live', type: 'nonprivate', flashVer: 'FMLE/3.0', tcUrl: 'rtmp://127.0.0.1:1935/live', audioCodecs: 3191, nested: { a: [1, 'x', null] } }];
    expect(decodeAmf0(encodeAmf0(...values))).toEqual(values);
  });

  it('decodes an ECMA array (onMetaData) and null/undefined/boolean', () => {
    // @setDataFrame, onMetaData, ECMA array { width: 1920, stereo: true }
    const ecma = Buffer.concat([
      Buffer.from([0x08, 0, 0, 0, 2]),
      Buffer.from([0, 5]), Buffer.from('width'), encodeAmf0(1920),
      Buffer.from([0, 6]), Buffer.from('stereo'), encodeAmf0(true),
      Buffer.from([0, 0, 9]),
    ]);
    const buf = Buffer.concat([encodeAmf0('@setDataFrame', 'onMetaData'), ecma, Buffer.from([0x05, 0x06])]);
    expect(decodeAmf0(buf)).toEqual(['@setDataFrame', 'onMetaData', { width: 1920, stereo: true }, null, undefined]);
  });

  it('decodes AMF3 values behind the avmplus marker', () => {
    // 0x11 then AMF3: string "live", integer 300, dynamic anonymous object { app: "live" }
    const str = Buffer.from([0x11, 0x06, (4 << 1) | 1, ...Buffer.from('live')]);
    const int = Buffer.from([0x11, 0x04, 0x82, 0x2c]); // 300 = 0b10_0101100
    const obj = Buffer.from([0x11, 0x0a, 0x0b, 0x01, (3 << 1) | 1, ...Buffer.from('app'), 0x06, 0x00, 0x01]);
    // in obj, the value 0x06 0x00 is a reference to string 0 of this value's table: "app"
    const obj2 = Buffer.from([0x11, 0x0a, 0x0b, 0x01, (3 << 1) | 1, ...Buffer.from('app'), 0x06, (2 << 1) | 1, ...Buffer.from('ok'), 0x01]);
    expect(decodeAmf0(Buffer.concat([str, int]))).toEqual(['live', 300]);
    expect(decodeAmf0(obj2)).toEqual([{ app: 'ok' }]);
    expect(decodeAmf0(obj)).toEqual([{ app: 'app' }]);
    expect(() => decodeAmf0(Buffer.from([0x11, 0x06, 0x02]))).toThrow(AmfError); // dangling string reference
  });

  it('throws AmfError on truncated, unknown and too deeply nested input', () => {
    expect(() => decodeAmf0(Buffer.from([0x02, 0x00, 0x10, 0x41]))).toThrow(AmfError);
    expect(() => decodeAmf0(Buffer.from([0x0d]))).toThrow(AmfError);
    expect(() => decodeAmf0(Buffer.from([0x00, 1, 2]))).toThrow(AmfError);
    const deep = Buffer.concat([...Array.from({ length: 100 }, () => Buffer.from([0x0a, 0, 0, 0, 1]))]);
    expect(() => decodeAmf0(deep)).toThrow(/too deep/);
    expect(() => decodeAmf0(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff]))).toThrow(/too long/);
    expect(() => decodeAmf0(Buffer.from([0x07, 0, 5]))).toThrow(/reference/);
  });

  it('never throws anything but AmfError on random bytes', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 20_000; i++) {
      const buf = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256)));
      try {
        decodeAmf0(buf);
      } catch (err) {
        expect(err).toBeInstanceOf(AmfError);
      }
    }
  });
});

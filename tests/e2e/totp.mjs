// RFC 6238 TOTP codes (HMAC-SHA1, 6 digits, 30-second steps) from a base32 secret, for the
// test to play the part of the authenticator app.
import {createHmac} from 'node:crypto';

export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.toUpperCase().replace(/[\s=]/g, '');
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const index = alphabet.indexOf(ch);
    if (index < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export function hotp(key, counter, digits = 6) {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(binary).padStart(digits, '0');
}

export function currentStep(nowMs = Date.now()) {
  return Math.floor(nowMs / 1000 / 30);
}

export function totp(secretBase32, step) {
  return hotp(base32Decode(secretBase32), step);
}

// RFC 6238 appendix B (SHA-1, T = 59 s and 1111111109 s, 8 digits): the helper itself is right.
export function selfTest() {
  const key = Buffer.from('12345678901234567890');
  const got = [hotp(key, Math.floor(59 / 30), 8), hotp(key, Math.floor(1111111109 / 30), 8)];
  if (got[0] !== '94287082' || got[1] !== '07081804') {
    throw new Error(`TOTP helper is wrong: ${got}`);
  }
}

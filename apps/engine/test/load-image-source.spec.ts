import { decodeBase64Image } from '../src/image/load-image-source.js';
import { BadImageError } from '../src/image/decode-image.js';

describe('decodeBase64Image', () => {
  const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 250]);
  it.each([
    ['plain', bytes.toString('base64')],
    ['data: URL', `data:image/png;base64,${bytes.toString('base64')}`],
    ['with line breaks', bytes.toString('base64').replace(/(.{4})/g, '$1\n')],
    ['base64url', bytes.toString('base64url')],
  ])('accepts %s', (_, value) => {
    expect(decodeBase64Image(value, 1000)).toEqual(bytes);
  });
  it('rejects non-base64, empty and oversized data', () => {
    expect(() => decodeBase64Image('not an image!', 1000)).toThrow(BadImageError);
    expect(() => decodeBase64Image('', 1000)).toThrow('empty');
    expect(() => decodeBase64Image('data:image/png;base64,', 1000)).toThrow('empty');
    expect(() => decodeBase64Image(Buffer.alloc(2000).toString('base64'), 1000)).toThrow('limit');
  });
});

import { ApiErrorCode, parseCreateJob } from './index.js';

const limits = { maxImageBytes: 1024 };
const codes = (body: unknown, upload?: Buffer) => {
  const r = parseCreateJob(body, limits, upload);
  return r.ok ? [] : r.issues.map((i) => [i.field, i.code]);
};

describe('parseCreateJob', () => {
  it('accepts a URL job with every provider option', () => {
    const r = parseCreateJob(
      {
        image_url: 'https://example.com/a.png',
        options: { only_mask: true, inverse_mask: false, post_process_mask: true, alpha_matting: true, alpha_matting_foreground_threshold: 240, alpha_matting_background_threshold: 0, alpha_matting_erode_size: 5, seed: 7 },
        track_id: 'sku-1',
        callback_url: 'http://hooks.example.com/x',
        metadata: { a: 1 },
      },
      limits,
    );
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.image).toEqual({ kind: 'url', url: 'https://example.com/a.png' });
      expect(r.value.options.alpha_matting_erode_size).toBe(5);
      expect(r.value.trackId).toBe('sku-1');
    }
  });

  it.each([
    ['missing image', {}, [['image_url', ApiErrorCode.ImageMissing]]],
    ['both image kinds', { image_url: 'https://x.test/a', image_base64: 'aGVsbG8=' }, [['image_url', ApiErrorCode.ImageAmbiguous]]],
    ['malformed URL', { image_url: 'not a url' }, [['image_url', ApiErrorCode.InvalidUrl]]],
    ['non-http scheme', { image_url: 'file:///etc/passwd' }, [['image_url', ApiErrorCode.UnsupportedUrlScheme]]],
    ['ftp callback', { image_url: 'https://x.test/a', callback_url: 'ftp://x.test/' }, [['callback_url', ApiErrorCode.UnsupportedUrlScheme]]],
    ['option above range', { image_url: 'https://x.test/a', options: { alpha_matting_erode_size: 6 } }, [['options.alpha_matting_erode_size', ApiErrorCode.OptionOutOfRange]]],
    ['option below range', { image_url: 'https://x.test/a', options: { alpha_matting_background_threshold: -1 } }, [['options.alpha_matting_background_threshold', ApiErrorCode.OptionOutOfRange]]],
    ['fg threshold above 240', { image_url: 'https://x.test/a', options: { alpha_matting_foreground_threshold: 241 } }, [['options.alpha_matting_foreground_threshold', ApiErrorCode.OptionOutOfRange]]],
    ['unknown option', { image_url: 'https://x.test/a', options: { sharpen: true } }, [['options.sharpen', ApiErrorCode.UnknownOption]]],
    ['unknown field', { image_url: 'https://x.test/a', colour: 'red' }, [['colour', ApiErrorCode.UnknownField]]],
    ['wrong option type', { image_url: 'https://x.test/a', options: { only_mask: 'yes' } }, [['options.only_mask', ApiErrorCode.InvalidType]]],
    ['bad base64', { image_base64: '***' }, [['image_base64', ApiErrorCode.InvalidBase64]]],
    ['base64 over the image limit', { image_base64: Buffer.alloc(2048).toString('base64') }, [['image_base64', ApiErrorCode.ImageTooLarge]]],
  ])('rejects %s with a code naming the field', (_name, body, expected) => {
    expect(codes(body)).toEqual(expected);
  });

  it('rejects a non-object body', () => {
    expect(codes([1, 2])).toEqual([['(body)', ApiErrorCode.InvalidType]]);
  });

  it('decodes base64 with a data: prefix', () => {
    const r = parseCreateJob({ image_base64: `data:image/png;base64,${Buffer.from('hello').toString('base64')}` }, limits);
    expect(r.ok && r.value.image.kind === 'bytes' && r.value.image.bytes.toString()).toBe('hello');
  });

  it('takes an uploaded file as the image, but not together with image_url', () => {
    expect(parseCreateJob({}, limits, Buffer.from('x')).ok).toBe(true);
    expect(codes({ image_url: 'https://x.test/a' }, Buffer.from('x'))).toEqual([['image_url', ApiErrorCode.ImageAmbiguous]]);
  });
});

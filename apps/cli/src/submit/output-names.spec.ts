import { NameAllocator, nameForFile, nameForUrlRow, outputFileName, safeBaseName } from './output-names.js';

describe('output names', () => {
  it('names a URL row by its external_id, else by the last segment of its URL without the extension', () => {
    expect(nameForUrlRow('sku-1', 'https://cdn.example.com/a/b.jpg')).toBe('sku-1');
    expect(nameForUrlRow(null, 'https://cdn.example.com/a/red%20shoe.jpg?w=1')).toBe('red shoe');
    expect(nameForUrlRow(null, 'https://cdn.example.com/')).toBe('image');
    expect(nameForUrlRow('../../etc/passwd', 'https://x.example/y.png')).toBe('_.._etc_passwd');
  });

  it('keeps a file its folders and makes every segment safe', () => {
    expect(nameForFile('sub/dir/photo.final.jpeg')).toBe('sub/dir/photo.final');
    expect(nameForFile('a:b/c?.png')).toBe('a_b/c_');
    expect(safeBaseName('...hidden')).toBe('hidden');
    expect(safeBaseName('x'.repeat(300))).toHaveLength(120);
  });

  it('de-duplicates in call order, case-insensitively', () => {
    const names = new NameAllocator();
    expect(['a', 'b', 'A', 'a', 'a-2'].map((n) => names.allocate(n))).toEqual(['a', 'b', 'A-2', 'a-3', 'a-2-2']);
  });

  it('numbers extra outputs of one job', () => {
    expect([0, 1].map((i) => outputFileName('cat', i, 'image/png'))).toEqual(['cat.png', 'cat.2.png']);
  });
});

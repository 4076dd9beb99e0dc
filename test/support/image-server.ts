/** A real HTTP server handing out test images (PNG made with sharp), standing in for a customer's CDN. */
import { createServer, type Server } from 'node:http';
import sharp from 'sharp';

export interface ImageServer {
  url: string;
  imageUrl(name: string): string;
  png(name: string): Buffer;
  hits: Map<string, number>;
  close(): Promise<void>;
}

export async function makePng(seed: number, width = 64, height = 48): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    raw[i * 3] = (i * 7 + seed * 31) & 255;
    raw[i * 3 + 1] = (i * 3 + seed * 17) & 255;
    raw[i * 3 + 2] = (seed * 101) & 255;
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

export async function startImageServer(count = 8): Promise<ImageServer> {
  const images = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) images.set(`img-${i}.png`, await makePng(i + 1));
  const hits = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const name = (req.url ?? '/').slice(1);
    hits.set(name, (hits.get(name) ?? 0) + 1);
    const body = images.get(name);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    hits,
    imageUrl: (name) => `${url}/${name}`,
    png: (name) => images.get(name)!,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

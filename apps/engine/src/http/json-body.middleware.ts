/**
 * JSON body parsing with the engine's own size limit (base64 images are large) whose failures (too large,
 * not JSON) are answered in the provider's error shape instead of express's HTML page.
 */
import type { NextFunction, Request, Response } from 'express';
import express from 'express';

export function jsonBodyMiddleware(limitBytes: number) {
  const parse = express.json({ limit: limitBytes, type: () => true });
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'POST') return next();
    parse(req, res, (err?: unknown) => {
      if (!err) return next();
      const e = err as { status?: number; type?: string };
      const tooLarge = e.type === 'entity.too.large';
      res.status(tooLarge ? 413 : 400).json({
        status: 'error',
        message: tooLarge ? `request body is larger than the limit of ${limitBytes} bytes` : 'request body must be JSON',
      });
    });
  };
}

/**
 * S3 access: streaming put with a sha256 computed on the way through, HEAD, presigned GET.
 * Custom endpoints (radosgw, MinIO...) need path-style addressing and checksums only when required,
 * otherwise streamed uploads can be corrupted by servers that do not understand the SDK's trailers.
 */
import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  S3Client,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { APP_CONFIG, type AppConfig } from '../../config/src/index.js';
import { PipelineMetrics } from '../../metrics/src/index.js';

export class ObjectTooLargeError extends Error {
  override readonly name = 'ObjectTooLargeError';
  constructor(readonly limit: number) {
    super(`the object is larger than ${limit} bytes`);
  }
}

export interface StoredObject {
  key: string;
  sha256: string;
  bytes: number;
  contentType: string;
}

export function createS3Client(s3: AppConfig['s3'], endpoint = s3.endpoint, maxAttempts = 3): S3Client {
  return new S3Client({
    endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts,
  });
}

@Injectable()
export class ObjectStorage implements OnApplicationShutdown {
  readonly client: S3Client;
  /** Signs URLs for clients, who may reach S3 by another address than we do (S3_PUBLIC_ENDPOINT). */
  private readonly presigner: S3Client;
  readonly bucket: string;
  private readonly presignTtl: number;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: PipelineMetrics,
  ) {
    this.client = createS3Client(config.s3);
    this.presigner = config.s3.publicEndpoint === config.s3.endpoint ? this.client : createS3Client(config.s3, config.s3.publicEndpoint);
    this.bucket = config.s3.bucket;
    this.presignTtl = config.s3.presignTtlSeconds;
  }

  /** Creates the bucket at start-up when allowed and missing. */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      if (!this.config.s3.createBucket) throw err;
      try {
        await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
      } catch (createErr) {
        const name = (createErr as Error).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw createErr;
      }
    }
  }

  /**
   * Streams `body` into S3 under `key`, hashing as it goes and aborting past `maxBytes`.
   * Resolves once the upload completed; the caller verifies with head().
   */
  async putStream(key: string, body: Readable, contentType: string, maxBytes: number): Promise<StoredObject> {
    const hash = createHash('sha256');
    let bytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        if (bytes > maxBytes) return done(new ObjectTooLargeError(maxBytes));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    const pass = new PassThrough();
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: pass, ContentType: contentType },
      queueSize: 2,
      partSize: 8 * 1024 * 1024,
      leavePartsOnError: false,
    });
    const uploading = upload.done();
    // If the source fails, abort the upload so no partial object is left behind.
    try {
      await pipeline(body, meter, pass);
    } catch (err) {
      await upload.abort().catch(() => undefined);
      await uploading.catch(() => undefined);
      throw err;
    }
    await uploading;
    this.metrics.s3BytesWritten.inc(bytes);
    return { key, sha256: hash.digest('hex'), bytes, contentType };
  }

  async putBuffer(key: string, data: Buffer, contentType: string): Promise<StoredObject> {
    return this.putStream(key, Readable.from([data]), contentType, data.length);
  }

  head(key: string): Promise<HeadObjectCommandOutput> {
    return this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async getBuffer(key: string, maxBytes: number): Promise<Buffer> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if ((out.ContentLength ?? 0) > maxBytes) throw new ObjectTooLargeError(maxBytes);
    const bytes = await out.Body!.transformToByteArray();
    return Buffer.from(bytes);
  }

  presignGet(key: string, ttlSeconds = this.presignTtl): Promise<string> {
    return getSignedUrl(this.presigner, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: ttlSeconds });
  }

  /** After the workers drained (Nest runs onModuleDestroy before beforeApplicationShutdown): in-flight store steps keep their client. */
  onApplicationShutdown(): void {
    this.client.destroy();
    if (this.presigner !== this.client) this.presigner.destroy();
  }
}

/**
 * The AWS SDK's S3 client package, loaded with `require`. It is CommonJS, and an `import` of it
 * from ESM has Node scan its source for the names it exports (cjs-module-lexer over some 700
 * re-exports) in every process that reads S3. The same module instance either way.
 */
import { createRequire } from 'node:module';

const sdk = createRequire(import.meta.url)('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');

export const {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  paginateListObjectsV2,
} = sdk;

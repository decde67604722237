import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Job-scoped bearer tokens: HMAC-SHA256(secret, jobId). Stateless, so any orchestrator sharing the
 * secret (`SEGMINT_SECRET`) can check a worker's upload for any job, and a token for one job is
 * worthless for another.
 */
export class JobTokens {
  constructor(private readonly secret: string) {}

  sign(jobId: string): string {
    return createHmac('sha256', this.secret).update(jobId).digest('base64url');
  }

  verify(jobId: string, token: string | undefined): boolean {
    if (!token) return false;
    const want = Buffer.from(this.sign(jobId));
    const got = Buffer.from(token);
    return want.length === got.length && timingSafeEqual(want, got);
  }
}

import type { Services } from '../../services/index.js';
import { handle, type HandlerContext } from '../handle.js';
import type { ParleySocket } from '../types.js';

/**
 * Chunked uploads. A client may send a chunk before the previous one is acked: the storage takes
 * one upload's appends in arrival order (and one at a time across processes), so chunks sent in
 * order land in order; one that does not meet the received count is refused with `conflict` and
 * `received`, from where the client goes on.
 */
export function registerUploadHandlers(
  socket: ParleySocket,
  ctx: HandlerContext,
  services: Services,
): void {
  const userId = socket.data.user.id;

  handle(socket, ctx, 'upload:start', (input) => services.uploads.start(userId, input));

  handle(socket, ctx, 'upload:chunk', async ({ uploadId, offset, data }) => ({
    received: await services.uploads.chunk(userId, uploadId, offset, data),
  }));

  handle(socket, ctx, 'upload:status', async ({ uploadId }) => ({
    received: await services.uploads.status(userId, uploadId),
  }));

  handle(socket, ctx, 'upload:finish', async ({ uploadId }) => ({
    attachment: await services.uploads.finish(userId, uploadId),
  }));
}

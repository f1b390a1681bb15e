import type { Services } from '../../services/index.js';
import type { Handlers } from '../handle.js';

type UploadEvents = 'upload:start' | 'upload:chunk' | 'upload:status' | 'upload:finish';

/**
 * Chunked uploads. A client may send a chunk before the previous one is acked: the storage takes
 * one upload's appends in arrival order (and one at a time across processes), so chunks sent in
 * order land in order; one that does not meet the received count is refused with `conflict` and
 * `received`, from where the client goes on.
 */
export function uploadHandlers(services: Services): Pick<Handlers, UploadEvents> {
  return {
    'upload:start': (input, socket) => services.uploads.start(socket.data.user.id, input),

    'upload:chunk': async ({ uploadId, offset, data }, socket) => ({
      received: await services.uploads.chunk(socket.data.user.id, uploadId, offset, data),
    }),

    'upload:status': async ({ uploadId }, socket) => ({
      received: await services.uploads.status(socket.data.user.id, uploadId),
    }),

    'upload:finish': async ({ uploadId }, socket) => ({
      attachment: await services.uploads.finish(socket.data.user.id, uploadId),
    }),
  };
}

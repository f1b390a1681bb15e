import { z } from 'zod';

/** One entry of `RTCConfiguration.iceServers`; TURN entries carry REST credentials. */
export const IceServer = z.object({
  urls: z.union([z.string(), z.array(z.string())]),
  username: z.string().optional(),
  credential: z.string().optional(),
});
export type IceServer = z.infer<typeof IceServer>;

/** `GET /api/calls/ice-servers`: for `new RTCPeerConnection({ iceServers })`. */
export const IceServersResponse = z.object({ iceServers: z.array(IceServer) });
export type IceServersResponse = z.infer<typeof IceServersResponse>;

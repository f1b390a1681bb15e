// The only place that spells a room name: user rooms reach every socket of one user,
// chat rooms every socket of a chat's participants.
export const userRoom = (userId: string): `user:${string}` => `user:${userId}`;
export const chatRoom = (chatId: string): `chat:${string}` => `chat:${chatId}`;
/** Every socket opened with one token (its `jti`): signing that token out ends them. */
export const sessionRoom = (tokenId: string): `session:${string}` => `session:${tokenId}`;
/** Whether a room name is a chat's room. */
export const isChatRoom = (room: string): room is `chat:${string}` => room.startsWith('chat:');

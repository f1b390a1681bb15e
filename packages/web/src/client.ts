// One signed-in session: the socket, the REST calls and the state they build. React subscribes
// to it with useSyncExternalStore. This is the façade the components use; the work is done by
// the modules in client/, each owning one concern.
export { ChatClient } from './client/chat-client.js';
export { ActionError, errorText } from './client/errors.js';

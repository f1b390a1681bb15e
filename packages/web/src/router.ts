import { useCallback, useEffect, useState } from 'react';

// Two screens need no router library: `/` (the list) and `/chats/<id>` (a chat). The server
// answers every path with index.html, so a reload lands on the same chat.
const CHAT_PATH = /^\/chats\/([0-9a-fA-F-]{36})\/?$/;

export const chatPath = (chatId: string): string => `/chats/${chatId}`;

export function useOpenChatId(): [string | null, (chatId: string | null) => void] {
  const [path, setPath] = useState(() => window.location.pathname);
  useEffect(() => {
    const onPop = () => setPath(window.location.pathname);
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((chatId: string | null) => {
    const next = chatId ? chatPath(chatId) : '/';
    if (next !== window.location.pathname) window.history.pushState(null, '', next);
    setPath(next);
  }, []);
  return [CHAT_PATH.exec(path)?.[1] ?? null, navigate];
}

/** Re-renders every `ms` so relative times ("5 min ago") stay true. */
export function useNow(ms = 30_000): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

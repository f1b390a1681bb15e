import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorResponse, Message, MessagePage, SearchPage } from '@parley/protocol';
import { api, createDirect, createGroup, registerUsers, type TestUser } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const NOBODY = '9d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a09';

const send = async (user: TestUser, chatId: string, content: string): Promise<Message> => {
  const res = await user.api.post<Message>(`/chats/${chatId}/messages`, { content });
  if (res.status !== 201) throw new Error(`send: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};

const search = (user: TestUser, params: Record<string, string>) =>
  user.api.get<SearchPage & ErrorResponse>(
    `/search/messages?${new URLSearchParams(params).toString()}`,
  );

/** The contents found for `q`, newest first. */
const found = async (user: TestUser, q: string, more: Record<string, string> = {}) => {
  const res = await search(user, { q, ...more });
  expect(res.status).toBe(200);
  return res.body.messages.map((m) => m.content);
};

/** A fresh user with a direct chat holding these messages, sent by them in this order. */
async function holding(...contents: string[]): Promise<{ user: TestUser; chatId: string }> {
  const [user, other] = await registerUsers(server.url, 2);
  const chat = await createDirect(user, other);
  for (const content of contents) await send(user, chat.id, content);
  return { user, chatId: chat.id };
}

describe('errors', () => {
  it('refuses a missing, empty, blank or over-long q, a bad limit and malformed ids with 400', async () => {
    const { user } = await holding('anything');
    const bad: Record<string, string>[] = [
      {},
      { q: '' },
      { q: '   ' },
      { q: ' \t\n ' },
      { q: 'a'.repeat(201) },
      { q: 'ok', limit: '0' },
      { q: 'ok', limit: '51' },
      { q: 'ok', limit: 'ten' },
      { q: 'ok', limit: '-1' },
      { q: 'ok', chatId: 'not-an-id' },
      { q: 'ok', before: 'not-an-id' },
    ];
    for (const params of bad) {
      const res = await search(user, params);
      expect({ params, status: res.status, code: res.body.error?.code }).toEqual({
        params,
        status: 400,
        code: 'validation_failed',
      });
    }
    // The bounds themselves are fine: 200 characters, counted as characters, and limits 1 and 50.
    expect((await search(user, { q: 'é'.repeat(200) })).status).toBe(200);
    expect((await search(user, { q: '🙂'.repeat(200) })).status).toBe(200);
    expect((await search(user, { q: 'ok', limit: '1' })).status).toBe(200);
    expect((await search(user, { q: 'ok', limit: '50' })).status).toBe(200);
  });

  it('needs a token', async () => {
    const res = await api(server.url).get<ErrorResponse>('/search/messages?q=hello');
    expect(res.status).toBe(401);
  });

  it('answers 404 for an unknown chatId or before, and 404 before 403', async () => {
    const { user } = await holding('anything');
    const [stranger, other] = await registerUsers(server.url, 2);
    const foreign = await createDirect(stranger, other);
    const cases: Record<string, string>[] = [
      { q: 'anything', chatId: NOBODY },
      { q: 'anything', before: NOBODY },
      // Validation of the query is done; the unknown cursor is reported before the foreign chat.
      { q: 'anything', chatId: foreign.id, before: NOBODY },
    ];
    for (const params of cases) {
      const res = await search(user, params);
      expect({ params, status: res.status, code: res.body.error?.code }).toEqual({
        params,
        status: 404,
        code: 'not_found',
      });
    }
  });

  it('answers 403 for a chat the caller is not in, or a cursor in one', async () => {
    const { user, chatId } = await holding('anything');
    const [stranger, other] = await registerUsers(server.url, 2);
    const foreign = await createDirect(stranger, other);
    const theirs = await send(stranger, foreign.id, 'anything at all');
    const cases: Record<string, string>[] = [
      { q: 'anything', chatId: foreign.id },
      { q: 'anything', before: theirs.id },
      { q: 'anything', chatId, before: theirs.id },
    ];
    for (const params of cases) {
      const res = await search(user, params);
      expect({ params, status: res.status, code: res.body.error?.code }).toEqual({
        params,
        status: 403,
        code: 'forbidden',
      });
    }
  });
});

describe('who finds what', () => {
  it('finds messages of the chats the caller is in now, and nothing of anyone else’s', async () => {
    const [owner, member, leaver, outsider, other] = await registerUsers(server.url, 5);
    const group = await createGroup(owner, [member, leaver]);
    await send(owner, group.id, 'quarterly zephyr report');
    await send(leaver, group.id, 'zephyr figures attached');
    // A direct chat between two others: private to them.
    const theirs = await createDirect(outsider, other);
    await send(outsider, theirs.id, 'my own zephyr secret');

    expect(await found(member, 'zephyr')).toEqual([
      'zephyr figures attached',
      'quarterly zephyr report',
    ]);
    expect(await found(leaver, 'zephyr')).toHaveLength(2);
    expect(await found(outsider, 'zephyr')).toEqual(['my own zephyr secret']);

    // Removed: the whole history of the group is out of reach, their own message included.
    const removed = await owner.api.delete(`/chats/${group.id}/participants/${leaver.user.id}`);
    expect(removed.status).toBe(204);
    expect(await found(leaver, 'zephyr')).toEqual([]);
    const scoped = await search(leaver, { q: 'zephyr', chatId: group.id });
    expect(scoped.status).toBe(403);
    expect(await found(member, 'zephyr')).toHaveLength(2);
  });

  it('never finds a deleted message, and finds an edited one by what it says now', async () => {
    const { user, chatId } = await holding('walrus one', 'walrus two', 'walrus three');
    const page = await user.api.get<MessagePage>(`/chats/${chatId}/messages`);
    const [one, two] = page.body.messages;
    expect((await user.api.delete(`/chats/${chatId}/messages/${two!.id}`)).status).toBe(204);
    const edited = await user.api.patch(`/chats/${chatId}/messages/${one!.id}`, {
      content: 'narwhal one',
    });
    expect(edited.status).toBe(200);
    expect(await found(user, 'walrus')).toEqual(['walrus three']);
    expect(await found(user, 'narwhal')).toEqual(['narwhal one']);
  });

  it('answers whole messages, as history shows them', async () => {
    const { user, chatId } = await holding('first pelican', 'second pelican');
    const history = await user.api.get<MessagePage>(`/chats/${chatId}/messages`);
    const res = await search(user, { q: 'pelican' });
    expect(res.body.messages).toEqual([...history.body.messages].reverse());
  });

  it('narrows to one chat with chatId', async () => {
    const [alice, bob, carol] = await registerUsers(server.url, 3);
    const withBob = await createDirect(alice, bob);
    const withCarol = await createDirect(alice, carol);
    await send(alice, withBob.id, 'ocelot for bob');
    await send(carol, withCarol.id, 'ocelot from carol');
    expect(await found(alice, 'ocelot')).toEqual(['ocelot from carol', 'ocelot for bob']);
    expect(await found(alice, 'ocelot', { chatId: withBob.id })).toEqual(['ocelot for bob']);
    expect(await found(alice, 'ocelot', { chatId: withCarol.id })).toEqual(['ocelot from carol']);
  });
});

describe('matching', () => {
  it('matches the start of words, in any case, every word of the text', async () => {
    const { user } = await holding(
      'Searching for the Lighthouse',
      'lighthouse keepers unite',
      'a HOUSE with a light',
    );
    expect(await found(user, 'light')).toEqual([
      'a HOUSE with a light',
      'lighthouse keepers unite',
      'Searching for the Lighthouse',
    ]);
    expect(await found(user, 'LIGHTH')).toEqual([
      'lighthouse keepers unite',
      'Searching for the Lighthouse',
    ]);
    // Not the middle of a word.
    expect(await found(user, 'house')).toEqual(['a HOUSE with a light']);
    expect(await found(user, 'ouse')).toEqual([]);
    // Every word, in any order.
    expect(await found(user, 'light sear')).toEqual(['Searching for the Lighthouse']);
    expect(await found(user, 'kee   LIGHT')).toEqual(['lighthouse keepers unite']);
    expect(await found(user, 'light nowhere')).toEqual([]);
  });

  it('ignores accents: Latin with accents, either way round', async () => {
    const { user } = await holding('Crème brûlée à la française', 'creme caramel', 'Ærøskøbing');
    expect(await found(user, 'creme brul')).toEqual(['Crème brûlée à la française']);
    expect(await found(user, 'CRÈME')).toEqual(['creme caramel', 'Crème brûlée à la française']);
    expect(await found(user, 'francaise')).toEqual(['Crème brûlée à la française']);
    expect(await found(user, 'Brûlée')).toEqual(['Crème brûlée à la française']);
    expect(await found(user, 'aero')).toEqual(['Ærøskøbing']);
    // Accents written as combining marks (NFD) fold the same.
    expect(await found(user, 'cre\u0300me bru\u0302le\u0301e')).toEqual([
      'Crème brûlée à la française',
    ]);
  });

  it('finds Cyrillic by word prefix in any case', async () => {
    const { user } = await holding('Привет мир', 'ПРИВЕТСТВУЮ всех', 'мирный день');
    expect(await found(user, 'прив')).toEqual(['ПРИВЕТСТВУЮ всех', 'Привет мир']);
    expect(await found(user, 'МИР')).toEqual(['мирный день', 'Привет мир']);
    expect(await found(user, 'привет мир')).toEqual(['Привет мир']);
    expect(await found(user, 'ривет')).toEqual([]);
  });

  it('finds Japanese and Thai, written without spaces, by any substring', async () => {
    const { user } = await holding(
      '東京タワーに行きました',
      '大阪城',
      'iPhone買った',
      'ภาษาไทยง่ายมาก',
    );
    expect(await found(user, 'タワー')).toEqual(['東京タワーに行きました']);
    expect(await found(user, '行き')).toEqual(['東京タワーに行きました']);
    expect(await found(user, '東京 行きました')).toEqual(['東京タワーに行きました']);
    expect(await found(user, '城')).toEqual(['大阪城']);
    expect(await found(user, '京都')).toEqual([]);
    // A word of a spaced script beside them still matches by prefix; the rest by substring.
    expect(await found(user, 'iphone 買')).toEqual(['iPhone買った']);
    expect(await found(user, 'IPHO買った')).toEqual(['iPhone買った']);
    expect(await found(user, 'ไทย')).toEqual(['ภาษาไทยง่ายมาก']);
  });

  it('treats punctuation as a word break', async () => {
    const { user } = await holding('mail me at someone@example.com', 'see docs/api.md, then run');
    expect(await found(user, 'example')).toEqual(['mail me at someone@example.com']);
    expect(await found(user, 'someone@example.com')).toEqual(['mail me at someone@example.com']);
    expect(await found(user, 'api.md run')).toEqual(['see docs/api.md, then run']);
  });

  it('lets % and _ match themselves, never as wildcards', async () => {
    const { user } = await holding(
      'we are 100% sure',
      'about 1000 people',
      'call snake_case here',
      'call snakeXcase there',
      'plain words only',
    );
    expect(await found(user, '100%')).toEqual(['we are 100% sure']);
    expect(await found(user, '%')).toEqual(['we are 100% sure']);
    expect(await found(user, 'snake_case')).toEqual(['call snake_case here']);
    expect(await found(user, '_')).toEqual(['call snake_case here']);
    expect(await found(user, 'snake%case')).toEqual([]);
    expect(await found(user, 'call _')).toEqual(['call snake_case here']);
  });

  it('finds symbols that are no word by substring', async () => {
    const { user } = await holding('great job 🎉', 'it costs $5', 'nothing here');
    expect(await found(user, '🎉')).toEqual(['great job 🎉']);
    expect(await found(user, '$')).toEqual(['it costs $5']);
    expect(await found(user, "'; DROP TABLE messages; --")).toEqual([]);
  });
});

describe('paging', () => {
  it('pages newest first with before and has_more, across chats', async () => {
    const [alice, bob, carol] = await registerUsers(server.url, 3);
    const withBob = await createDirect(alice, bob);
    const group = await createGroup(alice, [bob, carol]);
    const sent: Message[] = [];
    for (let i = 0; i < 7; i++) {
      const chat = i % 2 === 0 ? withBob : group;
      const from = i % 3 === 0 ? alice : bob;
      sent.push(await send(from, chat.id, `heron number ${i}`));
      await send(from, chat.id, `unrelated ${i}`);
    }
    const newestFirst = [...sent].reverse().map((m) => m.id);

    const pages: string[][] = [];
    const more: boolean[] = [];
    let before: string | undefined;
    for (;;) {
      const res = await search(alice, { q: 'heron', limit: '3', ...(before ? { before } : {}) });
      expect(res.status).toBe(200);
      pages.push(res.body.messages.map((m) => m.id));
      more.push(res.body.has_more);
      if (!res.body.has_more) break;
      before = res.body.messages.at(-1)!.id;
    }
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(more).toEqual([true, true, false]);
    expect(pages.flat()).toEqual(newestFirst);

    // The default limit (20) takes them all; an exact fit says there is no more.
    const all = await search(alice, { q: 'heron' });
    expect(all.body.messages.map((m) => m.id)).toEqual(newestFirst);
    expect(all.body.has_more).toBe(false);
    const seven = await search(alice, { q: 'heron', limit: '7' });
    expect(seven.body.has_more).toBe(false);

    // With chatId; a cursor from another of the caller's chats is still a place in time.
    const inGroup = sent.filter((m) => m.chat_id === group.id).map((m) => m.id);
    const g = await search(alice, { q: 'heron', chatId: group.id });
    expect(g.body.messages.map((m) => m.id)).toEqual([...inGroup].reverse());
    const after = await search(alice, { q: 'heron', chatId: group.id, before: sent[4]!.id });
    expect(after.body.messages.map((m) => m.id)).toEqual([sent[3]!.id, sent[1]!.id]);
  });

  it('keeps a deleted message usable as a cursor', async () => {
    const { user, chatId } = await holding('ibis 1', 'ibis 2', 'ibis 3');
    const [, second] = (await search(user, { q: 'ibis' })).body.messages;
    expect((await user.api.delete(`/chats/${chatId}/messages/${second!.id}`)).status).toBe(204);
    expect(await found(user, 'ibis', { before: second!.id })).toEqual(['ibis 1']);
  });
});

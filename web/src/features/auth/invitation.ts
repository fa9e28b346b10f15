/**
 * The invitation link's token: the admin page hands out `<origin>/#invite=<token>`
 * (the fragment never reaches a server or a proxy log). Pure, so vitest checks it.
 */
export function invitationToken(hash: string): string | null {
  const match = /^#invite=([^&]+)$/.exec(hash.trim());
  if (!match) return null;
  try {
    const token = decodeURIComponent(match[1] ?? "");
    return token.length > 0 && token.length <= 200 ? token : null;
  } catch {
    return null; // a malformed escape: not a link the admin page made
  }
}

/** What is wrong with the chosen password before the api is asked (it checks again). */
export function passwordMismatch(password: string, repeated: string): string | null {
  return password === repeated ? null : "The two passwords differ; type the same one twice.";
}

/** Text a peer sent, made safe for a terminal: control characters (escape sequences, newlines) become spaces. */
export const withoutControlCharacters = (text: string): string => text.replace(/\p{Cc}/gu, " ");

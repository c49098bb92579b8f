/**
 * Whether a key of the top-level object of the JSON text `text` appears twice (compared as
 * JSON.parse decodes them): the one case in which the fast path may answer REJECT (LINE_REJECT) for
 * a line ajv accepts, since JSON.parse keeps the last value. Written apart from json-scan.ts on
 * purpose: a test that used the scanner to judge the scanner would prove nothing. Text that is no
 * JSON object answers false.
 */
export function topKeysRepeat(text: string): boolean {
  if (text.trimStart()[0] !== '{') return false;
  let depth = 0;
  const keys = new Set<string>();
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      // To the closing quote, past escapes.
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const token = text.slice(i, j + 1);
      let k = j + 1;
      while (k < text.length && ' \t\n\r'.includes(text[k])) k++;
      if (depth === 1 && text[k] === ':') {
        let name: string;
        try {
          name = JSON.parse(token) as string;
        } catch {
          return false;
        }
        if (keys.has(name)) return true;
        keys.add(name);
      }
      i = j;
    }
  }
  return false;
}

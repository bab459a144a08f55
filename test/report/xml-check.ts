/**
 * Tiny well-formedness check for generated XML/SVG: tags balance, attribute values are quoted,
 * and text contains no raw "<" and only known entities after "&".
 */
export function checkWellFormed(xml: string): void {
  const stack: string[] = [];
  const tagRe = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"]*")*)\s*(\/?)>/y;
  let i = 0;
  const checkText = (text: string, at: number): void => {
    if (text.includes(">")) throw new Error(`stray ">" in text at ${at}`);
    const amp = /&(?!(?:amp|lt|gt|quot|#39|#\d+|#x[0-9a-fA-F]+);)/.exec(text);
    if (amp) throw new Error(`unescaped "&" at ${at + amp.index}`);
  };
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    if (lt < 0) {
      checkText(xml.slice(i), i);
      break;
    }
    checkText(xml.slice(i, lt), i);
    tagRe.lastIndex = lt;
    const m = tagRe.exec(xml);
    if (!m) throw new Error(`malformed tag at ${lt}: ${xml.slice(lt, lt + 60)}`);
    const [, close, name, , selfClose] = m;
    if (close) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> at ${lt} closes <${open ?? "nothing"}>`);
    } else if (!selfClose) {
      stack.push(name!);
    }
    i = tagRe.lastIndex;
  }
  if (stack.length) throw new Error(`unclosed tags: ${stack.join(", ")}`);
}

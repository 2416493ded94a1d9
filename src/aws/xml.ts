/**
 * Just enough XML for the AWS Query APIs' answers (STS): the text of the first `<name>` element,
 * entities decoded. Their documents are flat and machine-written (no CDATA, no attributes on the
 * elements we read), so a regular expression is sufficient and keeps the core free of an XML library.
 */
export function xmlText(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}(?:\\s[^>]*)?>([^<]*)</${name}>`).exec(xml)
  return match?.[1] === undefined ? undefined : decodeXmlEntities(match[1])
}

/** The inner XML of the first `<name>…</name>` element (for reading nested blocks). */
export function xmlBlock(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`).exec(xml)
  return match?.[1]
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

export const decodeXmlEntities = (text: string): string =>
  text.replace(/&(amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (entity, name: string) => {
    if (!name.startsWith('#')) return XML_ENTITIES[name] ?? entity
    const code = name.startsWith('#x')
      ? Number.parseInt(name.slice(2), 16)
      : Number.parseInt(name.slice(1), 10)
    return code <= 0x10ffff ? String.fromCodePoint(code) : entity
  })

import { describe, expect, it } from 'vitest'
import { pythonLiteralsToJson } from '../../src/openai/python-literals'

describe('pythonLiteralsToJson', () => {
  it('rewrites bare True/False/None', () => {
    const text = '{"stream": True, "a": False, "b": None, "c": [True,None]}'
    expect(JSON.parse(pythonLiteralsToJson(text))).toEqual({
      stream: true,
      a: false,
      b: null,
      c: [true, null],
    })
  })

  it('leaves strings and escaped quotes alone', () => {
    const text = '{"content": "True story, \\"None\\" of it False", "stream": True}'
    expect(JSON.parse(pythonLiteralsToJson(text))).toEqual({
      content: 'True story, "None" of it False',
      stream: true,
    })
  })

  it('does not touch words that merely start with a literal', () => {
    expect(pythonLiteralsToJson('[Trueish, NoneSuch, xFalse]')).toBe('[Trueish, NoneSuch, xFalse]')
  })

  it('parses the seed README streaming example body', () => {
    const seed = `{
        "model": "bedrock-claude-v3-haiku",
        "messages": [
            {
                "role": "user",
                "content": "Hello"
            }
        ],
        "stream": True
}`
    expect(JSON.parse(pythonLiteralsToJson(seed))).toMatchObject({
      model: 'bedrock-claude-v3-haiku',
      stream: true,
    })
  })
})

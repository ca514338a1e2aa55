"""Wire formats: pure functions between llmkit types and each host API's JSON.

Each chat codec is named for its wire format (`openai_chat`, `anthropic_messages`,
`cohere_chat`, `gemini_generate`, `ollama_chat`) and exports the same four names,
so a provider (and a test) drives any of them the same way:

`to_params(request, dialect=None, *, stream=False, provider=...) -> dict`
    The JSON body for a `Request`. `dialect` is the host variant of a format
    shared by many hosts (`openai_chat.Dialect`: Groq, Mistral, DeepSeek, ...);
    a format with one host takes `None` (the slot keeps the signature the same).
    `stream` asks for a streamed reply where the body says so (OpenAI,
    Anthropic, Cohere, Ollama); Gemini streams by URL and ignores it.

`parse_reply(body, *, provider=...) -> Response`
    A whole (not streamed) reply's JSON object as a `Response`; an error payload
    in a success body raises that error.

`StreamParser(*, provider=..., model=None)`
    A push parser of the streamed body: `feed(bytes) -> list[StreamEvent]`,
    `flush() -> list[StreamEvent]` at the end of the body, `.done` (the
    format's own end marker arrived) and `.error` (an error the stream reported
    in-band; `providers._pump.pump` raises it after the events before it).
    No I/O, so a test may cut the bytes anywhere.

`error_from_body(status, body, headers=None, *, provider, model=None) -> LLMError`
    The llmkit error for an error reply (`status` >= 400) or an in-stream error
    payload (`status` 2xx or None); `body` as received (bytes or text) or parsed,
    `headers` for `Retry-After` and the request id. Error sections large enough
    to stand alone live in `<codec>_errors.py` and are re-exported.

What every codec shares (`_errors_common`: JSON-object reading, excerpts of HTML
error pages, the HTTP status table, the context-overflow words; `sse`, `ndjson`:
the stream framings) is written once. Providers send with
`providers._pump.open_reply` / `read_json` and pump streams with `pump`.
"""

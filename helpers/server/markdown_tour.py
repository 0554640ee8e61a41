"""A 2,000-token Markdown reply (headings, lists, tables, fenced code, a quote, a link, emphasis): what a
model answers to a question about code, for showing and measuring a display that renders Markdown live."""

MARKDOWN_TOUR = r"""# Streaming chat replies: a field guide

A chat server can send its reply **all at once** or *piece by piece*. This guide walks through the
second way, the one that makes a notebook feel alive, with `openai` and a few lines of Python.

## 1. Ask for a stream

Pass `stream=True` and loop over what comes back:

```python
from openai import OpenAI

client = OpenAI(base_url="http://localhost:1337/v1", api_key="practice")
stream = client.chat.completions.create(
    model="practice",
    messages=[{"role": "user", "content": "write a haiku"}],
    stream=True,
)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        print(chunk.choices[0].delta.content, end="", flush=True)
```

Three things to notice:

- every `chunk` is a small object, not a string;
- some chunks carry **no text** at all (the first one often holds only the role);
- the last chunk may carry the `finish_reason` and nothing else.

## 2. What a chunk holds

| field | example | what it means |
|---|---|---|
| `id` | `chatcmpl-42` | the same for every chunk of one reply |
| `choices[0].delta.role` | `assistant` | sent once, at the start |
| `choices[0].delta.content` | `Hello` | the next piece of text, or `None` |
| `choices[0].finish_reason` | `stop` | why the reply ended: `stop`, `length`, `tool_calls` |
| `usage` | `{"completion_tokens": 17}` | only with `stream_options={"include_usage": True}` |

A server that follows OpenAI closely sends the usage in one last chunk whose `choices` list is empty,
so code that reads `chunk.choices[0]` without checking **fails on the very last chunk**.

## 3. Collect while you show

Keep the pieces in a list and join them once at the end. Adding strings in a loop works too, but a
list says what you mean:

```python
pieces = []
for chunk in stream:
    delta = chunk.choices[0].delta if chunk.choices else None
    if delta and delta.content:
        pieces.append(delta.content)
        show(delta.content)
reply = "".join(pieces)
```

> The reply you keep is the reply the user saw. If the stream breaks halfway, keep what arrived and
> say so; do not pretend the answer was complete.

## 4. When things go wrong

Streams fail in more ways than single calls do, because they last longer:

1. **The server is not there.** The first call raises `APIConnectionError` before any chunk arrives.
2. **The key is wrong.** A `401` comes back at once, as `AuthenticationError`.
3. **Too many requests.** A `429` arrives with a `Retry-After` header; the client retries for you.
4. **The connection drops.** The loop raises in the middle, and your list holds the partial text.
5. **The server sends an error event.** Some servers, such as gpt4free, put `{"error": ...}` inside the stream.

A small wrapper keeps the partial text whatever happens:

```python
def collect(stream):
    pieces = []
    try:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
    except Exception as error:
        print(f"\nstopped early: {error}")
    return "".join(pieces)
```

## 5. Streams from the command line

You do not need Python to look at a stream. `curl` shows the raw server-sent events:

```bash
curl -N http://localhost:1337/v1/chat/completions \
  -H "Content-Type: application/json" \
  -d '{"model": "practice", "stream": true, "messages": [{"role": "user", "content": "hi"}]}'
```

Each event is one line that starts with `data: `, followed by a blank line, and the stream ends with
`data: [DONE]`. A single event looks like this:

```json
{"id": "chatcmpl-42", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": null}]}
```

## 6. Async streams

In a notebook, an `async` loop leaves the kernel free while it waits, so a **Stop** button can work:

```python
from openai import AsyncOpenAI

async def stream_reply(prompt):
    client = AsyncOpenAI()
    stream = await client.chat.completions.create(
        model="practice", messages=[{"role": "user", "content": prompt}], stream=True)
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content
```

Cancelling the task that runs this loop closes the connection, and the server stops generating.
Two streams can run side by side with `asyncio.gather`, each in its own task.

## 7. Showing a stream in a notebook

Printing works everywhere, but a notebook can do better:

- **refresh at a steady rate**, not once per token: twenty times a second looks smooth, and a server
  that sends a thousand tokens a second does not flood the page;
- **send only what is new**, never the whole text again, or a long reply costs the square of its size;
- **render Markdown as it arrives**, so headings, lists and code look right before the reply ends;
- **always show the final state**, including how the stream ended and how fast it was.

| approach | messages per reply | bytes sent | looks like |
|---|---|---|---|
| `print` per token | one per token | the text once | plain text |
| re-render all text per token | one per token | the square of the text | Markdown |
| new text, throttled, rendered in the page | about 20 a second | the text once | Markdown |

## 8. Tool calls arrive in pieces

When a model calls a tool, the call streams too: the first chunk names the function, and the
arguments follow as **fragments of JSON** that only parse once the last one has arrived.

```python
calls = {}
for chunk in stream:
    for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
        entry = calls.setdefault(call.index, {"name": "", "arguments": ""})
        if call.function and call.function.name:
            entry["name"] = call.function.name
        if call.function and call.function.arguments:
            entry["arguments"] += call.function.arguments
```

| chunk | `function.name` | `function.arguments` |
|---|---|---|
| 1 | `get_weather` | `""` |
| 2 | | `{"city": "` |
| 3 | | `Paris", "unit": ` |
| 4 | | `"celsius"}` |

Parse the arguments with `json.loads` only after the stream ends, and be ready for a model that
writes *invalid* JSON: catch `json.JSONDecodeError` and ask again, or show the raw text.

## 9. Checklist

- [x] pass `stream=True`
- [x] check `chunk.choices` before reading it
- [x] keep the partial text when a stream fails
- [ ] ask for usage with `stream_options`, and handle servers that refuse it
- [ ] close the stream when the user stops it
- [ ] render the reply as Markdown while it streams, not only once it has ended
- [ ] measure: the time to the first token, the tokens per second, and what the display costs

That is really all there is to it. *Happy streaming!* For more, read the
[OpenAI streaming guide](https://platform.openai.com/docs/api-reference/streaming) or notebook 4 of this tutorial.
"""

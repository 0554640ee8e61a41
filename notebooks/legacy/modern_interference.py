# test_interference.py, translated for the openai 1.x client and later (see 07-from-legacy.ipynb).
# The server, key and model come from OPENAI_BASE_URL, OPENAI_API_KEY and OPENAI_MODEL when they are set;
# otherwise it talks to localhost:1337, as the original did (the practice server, or gpt4free).
import os

import openai
from openai import OpenAI

client = OpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL") or "http://localhost:1337/v1",
    api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",  # the client refuses an empty key
)
MODEL = os.environ.get("OPENAI_MODEL") or "gpt-3.5-turbo"


def main():
    chat_completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "write a poem about a tree"}],
        stream=True,
    )

    if isinstance(chat_completion, openai.Stream):
        # stream
        for chunk in chat_completion:
            if not chunk.choices:  # the last chunk may carry only usage
                continue
            content = chunk.choices[0].delta.content
            if content is not None:
                print(content, end="", flush=True)
        print()
    else:
        # not stream
        print(chat_completion.choices[0].message.content)


if __name__ == "__main__":
    main()

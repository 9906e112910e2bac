"""A scripted double of the OpenAI API on loopback, for tests of every app and for manual runs.

    with OpenAIDouble() as double:
        settings.OPENAI_BASE_URL = double.url
        double.reply("Hello!")
        double.reply_json({"title": "Honesty", ...})
        double.fail(status=500, times=2)
        ...
        assert double.chat_requests[-1]["messages"][0]["role"] == "system"

Chat completion requests take scripted replies from one FIFO queue. A failure (``fail`` or
``malformed(body=True)``) at the head of the queue answers whichever POST arrives next, embeddings
included; a scripted reply at the head waits for the next chat completion. With the queue empty
the double answers a deterministic default: ``DEFAULT_REPLY`` for plain chat, and for a
``json_schema`` response format or a forced tool call the simplest value that fits the schema
(strings read "scripted default", cut or padded to their length limits; numbers at their minimum;
arrays with their minimum number of items). That default is best effort: patterns and formats are
ignored, so a schema that relies on them gets an invalid default; script a reply when it matters.

Embeddings are hashed bags of words (64 dimensions, L2-normalised): texts that share words are
close, texts that share none are orthogonal or nearly so.

Run it by hand with ``python core/llm/double.py --port 8011``: the module needs only the standard
library (``python -m core.llm.double`` works too once DJANGO_SETTINGS_MODULE is set, because
importing the ``core.llm`` package reads the settings).
"""

import argparse
import hashlib
import json
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_REPLY = "OK (scripted default)"
DEFAULT_STRING = "scripted default"
EMBEDDING_DIMENSIONS = 64
WORD = re.compile(r"\w+")


class RecordedRequest(dict):
    """A request the double received: its JSON body as a dict, with ``method``, ``path`` and
    ``headers`` (lower-cased names) as attributes."""

    def __init__(self, body: dict, *, method: str, path: str, headers: dict[str, str]):
        super().__init__(body)
        self.method = method
        self.path = path
        self.headers = headers


@dataclass
class _Script:
    """One queued answer: a reply (``message``), a failure (``status``) or a broken body."""

    message: dict | None = None
    status: int = 200
    error: str = ""
    retry_after: float | None = None
    broken_body: bool = False
    delay: float | None = None
    usage: dict = field(default_factory=dict)

    @property
    def answers_any_post(self) -> bool:
        return self.message is None


def hashed_embedding(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """Return a deterministic bag-of-words vector for ``text``, L2-normalised."""
    vector = [0.0] * dimensions
    for word in WORD.findall(text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        index = int.from_bytes(digest[:4], "big") % dimensions
        vector[index] += 1.0 if digest[4] % 2 else -1.0
    norm = math.sqrt(sum(value * value for value in vector))
    if norm == 0:
        # An empty text still needs a unit vector, or cosine similarity divides by zero.
        return [1.0] + [0.0] * (dimensions - 1)
    return [value / norm for value in vector]


def count_words(text: str) -> int:
    """Return the double's token count for ``text``: its words and punctuation marks."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def schema_default(schema: dict, definitions: dict | None = None) -> Any:
    """Return the simplest value that fits a JSON schema (best effort; see the module doc)."""
    definitions = definitions if definitions is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return schema_default(definitions[schema["$ref"].rsplit("/", 1)[-1]], definitions)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if schema.get(combinator):
            return schema_default(schema[combinator][0], definitions)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties", {})
        required = schema.get("required", list(properties))
        return {name: schema_default(properties[name], definitions) for name in required}
    if kind == "array":
        count = max(schema.get("minItems", 0), 1 if "maxItems" not in schema else 0)
        count = min(count, schema.get("maxItems", count))
        return [schema_default(schema.get("items", {}), definitions) for _ in range(count)]
    if kind == "string":
        text = DEFAULT_STRING[: schema.get("maxLength", len(DEFAULT_STRING))]
        return text.ljust(schema.get("minLength", 0), "x")
    if kind in ("integer", "number"):
        value = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return False
    return None


class OpenAIDouble:
    """Serve a scripted OpenAI-compatible API on 127.0.0.1 from a daemon thread."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None):
        """Prepare the double; ``api_key``, when given, is the only key it accepts (401 else)."""
        self.host = host
        self.port = port
        self.api_key = api_key
        self.latency = 0.0
        self.requests: list[RecordedRequest] = []
        self._queue: deque[_Script] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ------------------------------------------------------------------------

    def start(self) -> "OpenAIDouble":
        """Start serving and return the double (so ``OpenAIDouble().start()`` reads well)."""
        handler = type("Handler", (_Handler,), {"double": self})
        self._server = ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"openai-double:{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; replies still waiting out a delay are cut short."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "OpenAIDouble":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Return the base URL to give an OpenAI client, ``/v1`` included."""
        return f"http://{self.host}:{self.port}/v1"

    # --- scripting -------------------------------------------------------------------------

    def reply(
        self,
        text: str,
        *,
        delay: float | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
    ) -> "OpenAIDouble":
        """Queue an assistant reply with ``text`` as its content."""
        usage = {}
        if prompt_tokens is not None:
            usage["prompt_tokens"] = prompt_tokens
        if completion_tokens is not None:
            usage["completion_tokens"] = completion_tokens
        message = {"role": "assistant", "content": text}
        return self._push(_Script(message=message, delay=delay, usage=usage))

    def reply_json(self, obj: Any, *, delay: float | None = None) -> "OpenAIDouble":
        """Queue a reply whose content is ``obj`` as JSON text (what response_format asks for)."""
        return self.reply(json.dumps(obj), delay=delay)

    def reply_tool_call(
        self, name: str, arguments: dict, *, delay: float | None = None
    ) -> "OpenAIDouble":
        """Queue a reply that calls the tool ``name`` with ``arguments``."""
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_{len(self.requests)}_{name}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(arguments)},
                }
            ],
        }
        return self._push(_Script(message=message, delay=delay))

    def fail(
        self,
        status: int = 500,
        times: int = 1,
        *,
        message: str = "The scripted double failed on purpose.",
        retry_after: float | None = None,
        delay: float | None = None,
    ) -> "OpenAIDouble":
        """Queue ``times`` error answers with HTTP ``status`` (and a Retry-After, if given)."""
        for _ in range(times):
            self._push(_Script(status=status, error=message, retry_after=retry_after, delay=delay))
        return self

    def malformed(self, *, body: bool = False, delay: float | None = None) -> "OpenAIDouble":
        """Queue a 200 whose content is not JSON, or with ``body=True`` a body that is not JSON."""
        if body:
            return self._push(_Script(broken_body=True, delay=delay))
        message = {"role": "assistant", "content": '{"this is": not JSON'}
        return self._push(_Script(message=message, delay=delay))

    def pending(self) -> int:
        """Return how many scripted answers have not been used yet."""
        with self._lock:
            return len(self._queue)

    def reset(self) -> None:
        """Forget the script, the received requests and the latency."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.latency = 0.0

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """Return the chat completion requests received so far."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def embedding_requests(self) -> list[RecordedRequest]:
        """Return the embedding requests received so far."""
        return [r for r in self.requests if r.path.endswith("/embeddings")]

    def _push(self, script: _Script) -> "OpenAIDouble":
        with self._lock:
            self._queue.append(script)
        return self

    def _take(self, *, chat: bool) -> _Script | None:
        with self._lock:
            if self._queue and (chat or self._queue[0].answers_any_post):
                return self._queue.popleft()
            return None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _wait(self, seconds: float) -> None:
        # An Event wait, not time.sleep, so stop() cuts delayed replies short.
        if seconds > 0:
            self._stopping.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    double: OpenAIDouble
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:
        """Stay quiet: test output is for the tests."""

    # --- routing ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._recorded({})
        if not self._authorised():
            return
        if self.path.rstrip("/").endswith("/models"):
            models = [
                {"id": name, "object": "model", "created": 0, "owned_by": "valuelab-double"}
                for name in ("double-chat", "double-embedding")
            ]
            self._send_json(200, {"object": "list", "data": models})
        else:
            self._send_error(404, f"No route for GET {self.path}.", "not_found")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._recorded({"raw": raw.decode(errors="replace")})
            self._send_error(400, "The request body is not JSON.", "invalid_request_error")
            return
        self._recorded(body)
        if not self._authorised():
            return
        path = self.path.rstrip("/")
        is_chat = path.endswith("/chat/completions")
        if not is_chat and not path.endswith("/embeddings"):
            self._send_error(404, f"No route for POST {self.path}.", "not_found")
            return
        script = self.double._take(chat=is_chat)
        delay = script.delay if script and script.delay is not None else self.double.latency
        self.double._wait(delay)
        if script is not None and script.status != 200:
            self._send_error(script.status, script.error, "server_error", script.retry_after)
        elif script is not None and script.broken_body:
            self._send_raw(200, b'{"id": "chatcmpl-broken", "choices": [', "application/json")
        elif is_chat:
            self._chat(body, script)
        else:
            self._embeddings(body)

    # --- endpoints -------------------------------------------------------------------------

    def _chat(self, body: dict, script: _Script | None) -> None:
        message = script.message if script else _default_message(body)
        model = body.get("model") or "double-chat"
        prompt_text = " ".join(
            m.get("content") or "" for m in body.get("messages", []) if isinstance(m, dict)
        )
        completion_text = message.get("content") or json.dumps(message.get("tool_calls", []))
        usage_overrides = script.usage if script else {}
        prompt_tokens = usage_overrides.get("prompt_tokens", count_words(prompt_text))
        completion_tokens = usage_overrides.get("completion_tokens", count_words(completion_text))
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        finish_reason = "tool_calls" if message.get("tool_calls") else "stop"
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(message, model, finish_reason, usage if include_usage else None)
            return
        self._send_json(
            200,
            {
                "id": f"chatcmpl-double-{len(self.double.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"refusal": None, **message},
                        "finish_reason": finish_reason,
                        "logprobs": None,
                    }
                ],
                "usage": usage,
            },
        )

    def _stream(self, message: dict, model: str, finish_reason: str, usage: dict | None) -> None:
        completion_id = f"chatcmpl-double-{len(self.double.requests)}"

        def chunk(delta: dict, finish: str | None = None) -> dict:
            choices = [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
            return {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": choices,
            }

        events = [chunk({"role": "assistant", "content": ""})]
        if message.get("tool_calls"):
            calls = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
            events.append(chunk({"tool_calls": calls}))
        else:
            # Words keep their trailing space, so the pieces join back into the exact text.
            pieces = re.findall(r"\S+\s*|\s+", message.get("content") or "")
            events += [chunk({"content": piece}) for piece in pieces]
        events.append(chunk({}, finish_reason))
        if usage is not None:
            events.append({**chunk({}), "choices": [], "usage": usage})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            for event in events:
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading; that is its right

    def _embeddings(self, body: dict) -> None:
        texts = body.get("input", [])
        if isinstance(texts, str):
            texts = [texts]
        dimensions = int(body.get("dimensions") or EMBEDDING_DIMENSIONS)
        data = [
            {"object": "embedding", "index": i, "embedding": hashed_embedding(str(t), dimensions)}
            for i, t in enumerate(texts)
        ]
        tokens = sum(count_words(str(t)) for t in texts)
        self._send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model") or "double-embedding",
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    # --- plumbing --------------------------------------------------------------------------

    def _recorded(self, body: dict) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.double._record(
            RecordedRequest(body, method=self.command, path=self.path, headers=headers)
        )

    def _authorised(self) -> bool:
        expected = self.double.api_key
        if expected is None or self.headers.get("Authorization") == f"Bearer {expected}":
            return True
        self._send_error(401, "Incorrect API key provided.", "invalid_api_key")
        return False

    def _send_error(
        self, status: int, message: str, kind: str, retry_after: float | None = None
    ) -> None:
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
            headers["Retry-After-Ms"] = str(int(retry_after * 1000))
        body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
        self._send_json(status, body, headers)

    def _send_json(self, status: int, payload: dict, headers: dict | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_raw(
        self, status: int, data: bytes, content_type: str, headers: dict | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test, say) before the answer came


def _default_message(body: dict) -> dict:
    """Return the unscripted answer to a chat request (see the module doc)."""
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        return {"role": "assistant", "content": json.dumps(schema_default(schema))}
    if response_format.get("type") == "json_object":
        return {"role": "assistant", "content": "{}"}
    forced = body.get("tool_choice")
    if isinstance(forced, dict) and body.get("tools"):
        name = (forced.get("function") or {}).get("name")
        for tool in body["tools"]:
            function = tool.get("function") or {}
            if function.get("name") == name:
                arguments = schema_default(function.get("parameters") or {})
                return {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_default",
                            "type": "function",
                            "function": {"name": name, "arguments": json.dumps(arguments)},
                        }
                    ],
                }
    return {"role": "assistant", "content": DEFAULT_REPLY}


def main() -> None:
    """Serve the double until interrupted (``python core/llm/double.py --port 8011``)."""
    parser = argparse.ArgumentParser(description="Serve a scripted OpenAI API double.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    options = parser.parse_args()
    double = OpenAIDouble(host=options.host, port=options.port)
    double.latency = options.latency
    double.start()
    print(f"OpenAI double on {double.url} (default reply: {DEFAULT_REPLY!r}); Ctrl-C stops it.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        double.stop()


if __name__ == "__main__":
    main()

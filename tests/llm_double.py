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
arrays with their minimum number of items, strings in them numbered from the second on). That
default is best effort: patterns and formats are ignored, so a schema that relies on them gets an
invalid default; script a reply when it matters.

Embeddings are hashed bags of words (64 dimensions, L2-normalised): texts that share words are
close, texts that share none are orthogonal or nearly so.

Profiles make it behave like a real server (``OpenAIDouble(profile="llama-cpp-python")``, or
``--profile`` by hand); see ``PROFILES``. The default, ``openai``, accepts everything. The others
copy what those servers do with the requests ValueLab sends, as of their 2025-26 releases:

- ``llama-cpp-python`` (``llama_cpp.server`` 0.3): ``response_format`` may only be ``text`` or
  ``json_object`` (with an optional ``schema``); ``json_schema`` answers HTTP 500 with pydantic's
  error and a traceback naming the server's files. Embeddings come back one vector per token
  (a matrix per input) unless the model was loaded with pooling. ``stream_options`` is ignored
  (no usage chunk). A prompt over the context answers 400 ``context_length_exceeded`` when not
  streamed and an empty 200 stream when streamed. ``tools`` with ``tool_choice: "auto"`` are
  ignored (the model just talks); a forced function works.
- ``llama-server`` (llama.cpp's C++ server): ``json_schema`` and ``json_object`` + ``schema``;
  a context overflow is a 400 ``exceed_context_size_error`` with ``n_ctx``.
- ``vllm``: ``json_schema`` and ``json_object``; the overflow is a 400 ``BadRequestError``
  naming the maximum context length; ``tool_choice: "auto"`` is refused (400) unless the server
  was started with ``--enable-auto-tool-choice``.
- ``ollama`` (its OpenAI compatibility layer): ``json_schema`` and ``json_object``; a prompt
  over ``num_ctx`` is silently cut from the start (the system prompt goes first), never refused.

Grammar-based servers (both llama.cpp ones) refuse a schema whose strings allow more than
``GRAMMAR_MAX_LENGTH`` characters: the grammar compiler gives up (``grammar_too_large`` in
``double.refusals``).

Scripted failures of a stream: ``drop_stream(text)`` sends part of a reply then cuts the
connection; ``empty_stream()`` answers 200 with no text at all.

Run it by hand from the project's root, ``python -m tests.llm_double --profile llama-cpp-python
--port 8011`` (or ``python tests/llm_double.py …``): it prints its URL and the settings that
point ValueLab at it, and serves until Ctrl-C. It needs only the standard library, no Django
settings. It is a test double: it lives under tests/, and no production module imports it.
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
# The gateway's plain-JSON instructions put the schema right after these words; the double's
# default answer reads it from there, as a model following the instructions would.
SCHEMA_OPENING = "matches this JSON schema:"
EMBEDDING_DIMENSIONS = 64
WORD = re.compile(r"\w+")
# A string schema allowing more than this many characters makes llama.cpp's grammar compiler
# expand one rule per character: thousands of rules, and the server gives up (or crashes).
GRAMMAR_MAX_LENGTH = 1000
LLAMA_CPP_PYTHON_TRACEBACK = (
    "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
    "'ctx': {'expected': \"'text' or 'json_object'\"}}]\n"
    "Traceback (most recent call last):\n"
    '  File "/opt/venv/lib/python3.11/site-packages/llama_cpp/server/errors.py", line 171, '
    "in custom_route_handler\n    response = await original_route_handler(request)\n"
)


@dataclass(frozen=True)
class Profile:
    """How one kind of server treats the requests ValueLab sends (see the module doc)."""

    name: str
    response_formats: frozenset = frozenset({"text", "json_object", "json_schema"})
    json_object_schema: bool = True  # whether json_object's "schema" constrains the answer
    embeddings: str = "flat"  # "flat" or "per_token"
    stream_usage: bool = True  # whether stream_options.include_usage is honoured
    context_tokens: int | None = None
    overflow: str = "openai"  # how a prompt over the context is answered
    auto_tools: str = "native"  # "native", "ignored" or "refused"
    grammar: bool = False


PROFILES = {
    profile.name: profile
    for profile in [
        Profile("openai"),
        Profile(
            "llama-cpp-python",
            response_formats=frozenset({"text", "json_object"}),
            embeddings="per_token",
            stream_usage=False,
            context_tokens=4096,
            overflow="llama-cpp-python",
            auto_tools="ignored",
            grammar=True,
        ),
        Profile("llama-server", context_tokens=4096, overflow="llama-server", grammar=True),
        Profile(
            "vllm",
            json_object_schema=False,
            context_tokens=4096,
            overflow="vllm",
            auto_tools="refused",
        ),
        Profile("ollama", json_object_schema=False, context_tokens=2048, overflow="truncate"),
    ]
}


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
    drop_after: int | None = None  # stream this many pieces, then cut the connection

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
        items = [schema_default(schema.get("items", {}), definitions) for _ in range(count)]
        limit = schema.get("items", {}).get("maxLength", len(DEFAULT_STRING) + 3)
        # Strings told apart ("scripted default", "… 2", "… 3"), as a model's list items are.
        return [
            f"{item} {n}" if isinstance(item, str) and n > 1 and len(item) + 3 <= limit else item
            for n, item in enumerate(items, start=1)
        ]
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

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        profile: str = "openai",
        context_tokens: int | None = None,
    ):
        """Prepare the double; ``api_key``, when given, is the only key it accepts (401 else).

        ``profile`` names an entry of ``PROFILES``; ``context_tokens`` overrides its context
        size (counted in the double's tokens, ``count_words``).
        """
        self.host = host
        self.port = port
        self.api_key = api_key
        self.profile = PROFILES[profile]
        self.context_tokens = context_tokens or self.profile.context_tokens
        self.latency = 0.0
        self.requests: list[RecordedRequest] = []
        # What the profile refused or changed, one short code per request ("json_schema", ...).
        self.refusals: list[str] = []
        self.truncations = 0
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

    def drop_stream(self, text: str, *, after: int = 2) -> "OpenAIDouble":
        """Queue a reply whose stream sends ``after`` pieces of ``text`` then drops the connection
        (a non-streamed request gets the same cut: headers, then nothing)."""
        message = {"role": "assistant", "content": text}
        return self._push(_Script(message=message, drop_after=after))

    def empty_stream(self) -> "OpenAIDouble":
        """Queue a 200 with no text at all (an empty stream, or an empty message)."""
        return self._push(_Script(message={"role": "assistant", "content": ""}))

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
        if is_chat and self._refused_by_profile(body):
            return
        script = self.double._take(chat=is_chat)
        delay = script.delay if script and script.delay is not None else self.double.latency
        self.double._wait(delay)
        if script is not None and script.status != 200:
            self._send_error(script.status, script.error, "server_error", script.retry_after)
        elif script is not None and script.broken_body:
            self._send_raw(200, b'{"id": "chatcmpl-broken", "choices": [', "application/json")
        elif script is not None and script.drop_after is not None and not body.get("stream"):
            self._send_cut()
        elif is_chat:
            self._chat(body, script)
        else:
            self._embeddings(body)

    # --- the profile's refusals ---------------------------------------------------------------

    def _refused_by_profile(self, body: dict) -> bool:
        """Answer (and return True) when the profile's server would refuse or break on ``body``.

        Ollama's silent cut of a long prompt changes ``body`` in place instead.
        """
        double, profile = self.double, self.double.profile
        response_format = body.get("response_format") or {}
        kind = response_format.get("type", "text") if isinstance(response_format, dict) else ""
        if kind not in profile.response_formats:
            double.refusals.append(kind or "response_format")
            self._send_json(
                500,
                {"error": {"message": LLAMA_CPP_PYTHON_TRACEBACK, "type": "internal_server_error"}},
            )
            return True
        if profile.grammar and _longest_string(_schemas_in(body)) > GRAMMAR_MAX_LENGTH:
            double.refusals.append("grammar_too_large")
            self._send_error(
                400 if profile.name == "llama-server" else 500,
                "Failed to parse grammar: the JSON schema produced too many rules.",
                "invalid_request_error",
            )
            return True
        if body.get("tools") and body.get("tool_choice", "auto") == "auto":
            if profile.auto_tools == "refused":
                double.refusals.append("auto_tools")
                self._send_error(
                    400,
                    '"auto" tool choice requires --enable-auto-tool-choice and '
                    "--tool-call-parser to be set",
                    "BadRequestError",
                )
                return True
            if profile.auto_tools == "ignored":
                body.pop("tools")
                body.pop("tool_choice", None)
        limit = double.context_tokens
        if not limit:
            return False
        prompt = sum(count_words(_content_text(m)) for m in body.get("messages", []))
        completion = int(body.get("max_tokens") or 0)
        if prompt + completion <= limit:
            return False
        double.refusals.append("context")
        if profile.overflow == "truncate":
            _cut_from_start(body, prompt + completion - limit)
            double.truncations += 1
            return False
        if profile.overflow == "llama-cpp-python" and body.get("stream"):
            self._send_empty_stream()
            return True
        error = _overflow_error(profile.overflow, limit=limit, prompt=prompt, completion=completion)
        self._send_json(400, {"error": error})
        return True

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
            if not self.double.profile.stream_usage:
                include_usage = False
            drop_after = script.drop_after if script else None
            self._stream(
                message, model, finish_reason, usage if include_usage else None, drop_after
            )
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

    def _stream(
        self,
        message: dict,
        model: str,
        finish_reason: str,
        usage: dict | None,
        drop_after: int | None = None,
    ) -> None:
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
        self._start_stream()
        try:
            for number, event in enumerate(events):
                if drop_after is not None and number > drop_after:
                    self._cut_connection()
                    return
                self._write_chunk(f"data: {json.dumps(event)}\n\n".encode())
            self._write_chunk(b"data: [DONE]\n\n")
            self._write_chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading; that is its right

    def _start_stream(self) -> None:
        # Chunked, as real servers stream: a connection cut before the last chunk is then an
        # error the client sees, not a normal end of the body.
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send_empty_stream(self) -> None:
        """Answer 200 and end the stream at once: what llama-cpp-python does on an overflow."""
        self._start_stream()
        try:
            self._write_chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send_cut(self) -> None:
        """Promise a body, send half of it and drop the connection."""
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "4096")
            self.end_headers()
            self.wfile.write(b'{"id": "chatcmpl-cut", "choices": [')
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
        self._cut_connection()

    def _cut_connection(self) -> None:
        import socket

        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _embeddings(self, body: dict) -> None:
        texts = body.get("input", [])
        if isinstance(texts, str):
            texts = [texts]
        dimensions = int(body.get("dimensions") or EMBEDDING_DIMENSIONS)
        if self.double.profile.embeddings == "per_token":
            # One row per token, as llama-cpp-python returns for a model loaded without pooling.
            vectors = [
                [hashed_embedding(word, dimensions) for word in WORD.findall(str(t))]
                or [hashed_embedding("", dimensions)]
                for t in texts
            ]
        else:
            vectors = [hashed_embedding(str(t), dimensions) for t in texts]
        data = [
            {"object": "embedding", "index": i, "embedding": vector}
            for i, vector in enumerate(vectors)
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


def _content_text(message: Any) -> str:
    if not isinstance(message, dict):
        return ""
    content = message.get("content") or ""
    if isinstance(content, list):  # content parts
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content)


def _schemas_in(body: dict) -> list[dict]:
    """Return the JSON schemas a request asks the server to compile into a grammar."""
    schemas = []
    response_format = body.get("response_format") or {}
    if isinstance(response_format, dict):
        schemas.append((response_format.get("json_schema") or {}).get("schema"))
        schemas.append(response_format.get("schema"))
    for tool in body.get("tools") or []:
        schemas.append(((tool or {}).get("function") or {}).get("parameters"))
    return [schema for schema in schemas if isinstance(schema, dict)]


def _longest_string(schemas: list[Any]) -> int:
    """Return the largest ``maxLength`` anywhere in ``schemas`` (0 when none is set)."""
    longest = 0
    stack = list(schemas)
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("maxLength"), int):
                longest = max(longest, node["maxLength"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return longest


def _cut_from_start(body: dict, excess: int) -> None:
    """Drop ``excess`` tokens from the start of the prompt, system prompt first (Ollama)."""
    for message in body.get("messages", []):
        if excess <= 0 or not isinstance(message, dict):
            break
        words = re.findall(r"\w+|[^\w\s]", _content_text(message))
        cut = min(excess, len(words))
        message["content"] = " ".join(words[cut:])
        excess -= cut


def _overflow_error(style: str, *, limit: int, prompt: int, completion: int) -> dict:
    """Return the error object each server sends for a prompt over its context."""
    if style == "llama-server":
        return {
            "code": 400,
            "message": f"request ({prompt} tokens) exceeds the available context size "
            f"({limit} tokens), try increasing it",
            "type": "exceed_context_size_error",
            "n_prompt_tokens": prompt,
            "n_ctx": limit,
        }
    if style == "vllm":
        return {
            "message": f"This model's maximum context length is {limit} tokens. However, your "
            f"request has {prompt} input tokens. Please reduce the length of the input messages.",
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        }
    if style == "llama-cpp-python":
        return {
            "message": f"This model's maximum context length is {limit} tokens. However, you "
            f"requested {prompt + completion} tokens ({prompt} in the messages, {completion} in "
            "the completion). Please reduce the length of the messages or completion.",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        }
    return {
        "message": f"This model's maximum context length is {limit} tokens. However, your "
        f"messages resulted in {prompt + completion} tokens. Please reduce the length of the "
        "messages.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }


def _default_message(body: dict) -> dict:
    """Return the unscripted answer to a chat request (see the module doc)."""
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        return {"role": "assistant", "content": json.dumps(schema_default(schema))}
    if response_format.get("type") == "json_object":
        schema = response_format.get("schema") or _schema_in_instructions(body)
        return {"role": "assistant", "content": json.dumps(schema_default(schema or {}))}
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
    schema = _schema_in_instructions(body)
    if schema is not None:
        return {"role": "assistant", "content": json.dumps(schema_default(schema))}
    return {"role": "assistant", "content": DEFAULT_REPLY}


def _schema_in_instructions(body: dict) -> dict | None:
    """Return the JSON schema a request's messages spell out (a model reading its instructions)."""
    for message in body.get("messages", []):
        text = _content_text(message)
        start = text.find(SCHEMA_OPENING)
        if start < 0:
            continue
        try:
            schema, _ = json.JSONDecoder().raw_decode(text[start + len(SCHEMA_OPENING) :].lstrip())
        except ValueError:
            continue
        if isinstance(schema, dict):
            return schema
    return None


def main(argv: list[str] | None = None) -> None:
    """Serve the double until interrupted (``python -m tests.llm_double --port 8011``)."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.llm_double", description="Serve a scripted OpenAI API double."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8011, help="0: any free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="openai")
    options = parser.parse_args(argv)
    double = OpenAIDouble(host=options.host, port=options.port, profile=options.profile)
    double.latency = options.latency
    double.start()
    print(
        f"OpenAI double ({options.profile}) on {double.url} (default reply: {DEFAULT_REPLY!r})\n"
        f"  point ValueLab at it: OPENAI_BASE_URL={double.url} OPENAI_API_KEY=any\n"
        "  Ctrl-C stops it.",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        double.stop()


if __name__ == "__main__":
    main()

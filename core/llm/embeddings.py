"""What an endpoint's embeddings must look like: one flat vector per text, all of one dimension.

Per-token rows (a llama-cpp-python server whose model has no pooling) are mean-pooled.
"""

import math

from core.llm.base import LLMInvalidOutput


def embeddings_checked(rows: list, texts: list[str], *, host: str) -> tuple[list[list[float]], str]:
    """Return flat vectors of one dimension and the shape they came in; raise if malformed."""
    where = f"The LLM endpoint at {host}"
    if len(rows) != len(texts):
        raise LLMInvalidOutput(f"{where} returned {len(rows)} embeddings for {len(texts)} texts.")
    vectors, shapes = [], set()
    for index, row in enumerate(rows):
        if _is_vector(row):
            vectors.append([float(value) for value in row])
            shapes.add("flat")
        elif isinstance(row, list) and row and all(_is_vector(token) for token in row):
            if len({len(token) for token in row}) != 1:
                raise LLMInvalidOutput(
                    f"{where} returned per-token rows of different lengths for text {index}."
                )
            # One row per token (no pooling on the server): their mean is the usual pooling.
            vectors.append([math.fsum(column) / len(row) for column in zip(*row, strict=True)])
            shapes.add("per_token")
        else:
            raise LLMInvalidOutput(
                f"{where} returned embedding {index} in a shape ValueLab cannot read "
                "(neither a list of numbers nor one list of numbers per token)."
            )
    dimensions = {len(vector) for vector in vectors}
    if len(dimensions) != 1 or 0 in dimensions:
        raise LLMInvalidOutput(
            f"{where} returned embeddings of different dimensions "
            f"({', '.join(str(d) for d in sorted(dimensions))}) in one answer."
        )
    if not all(math.isfinite(value) for vector in vectors for value in vector):
        raise LLMInvalidOutput(f"{where} returned embeddings with NaN or infinite values.")
    return vectors, "per_token" if "per_token" in shapes else "flat"


def _is_vector(row) -> bool:
    return (
        isinstance(row, list)
        and bool(row)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in row)
    )
